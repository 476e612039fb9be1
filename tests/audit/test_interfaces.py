"""Each kind of write, through each interface that makes it, lands in the audit log with the
user, the interface and the request id of the request that made it; and every read of the
assessed layer, through the pages, the API and the exports, with who and when."""

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from audit.models import AuditEvent
from issues.models import Issue
from positions.models import Position, Source
from talks.models import Membership, Party, Talk
from tests.api_support import token_client

pytestmark = pytest.mark.django_db


def recorded(response) -> list[tuple[str, str, str, str]]:
    """(object type, action, interface, username) of every event of this response's request."""
    return list(
        AuditEvent.objects.filter(request_id=response["X-Request-ID"])
        .exclude(action="read")
        .order_by("id")
        .values_list("object_type", "action", "interface", "username")
    )


def expect(response, status: int, *kinds: tuple[str, str], interface: str, user: str) -> None:
    assert response.status_code == status, response.content[:400]
    events = recorded(response)
    for object_type, action in kinds:
        assert (object_type, action, interface, user) in events, (object_type, action, events)
    assert {(i, u) for _, _, i, u in events} == {(interface, user)}


def test_every_write_through_the_pages_is_recorded_with_its_user(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    page = lambda name, *args: reverse(f"talks:{name}", args=["small", *args])  # noqa: E731
    web = {"interface": "web", "user": "small-analyst"}

    issue = {"title": "Aid trucks", "key": "aid", "priority": "3", "order": "5"}
    issue |= {"scale_kind": "numeric", "scale_min": "0", "scale_max": "600", "unit": "trucks"}
    expect(client.post(page("issue_new"), issue), 302, ("issues.issue", "create"), **web)
    edit = {"title": "Aid", "priority": "4", "order": "5", "scale_min": "0", "scale_max": "600"}
    edit |= {"unit": "trucks", "based_on_version": "1"}
    expect(client.post(page("issue_edit", "aid"), edit), 302, ("issues.issue", "update"), **web)

    options = ["pullback"]
    added = {"add-key": "half", "add-label": "half", "add-before": "most"}
    response = client.post(page("option_add", *options), {**added, "add-based_on_version": "1"})
    expect(response, 302, ("issues.issueoption", "create"), **web)
    response = client.post(
        page("option_edit", *options, "half"),
        {"label": "about half", "description": "", "based_on_version": "2"},
    )
    expect(response, 302, ("issues.issueoption", "update"), **web)
    response = client.post(
        page("option_move", *options, "half"), {"direction": "up", "based_on_version": "3"}
    )
    expect(response, 302, ("issues.issue", "update"), **web)
    response = client.post(page("option_delete", *options, "half"), {"based_on_version": "4"})
    expect(response, 302, ("issues.issueoption", "delete"), **web)

    position = {"party": str(st.north.pk), "layer": "assessed", "demand": "10"}
    position |= {"red_line": "40", "priority": "3", "confidence": "medium", "status": "stated"}
    position |= {"note": "first reading", "new_source_title": "Wire report"}
    position |= {"new_source_reliability": "unknown"}
    response = client.post(page("position_new", "truce"), position)
    expect(response, 302, ("positions.position", "create"), ("positions.source", "create"), **web)
    saved = Position.objects.get(issue=st.numeric, party=st.north, layer="assessed")
    changed = {k: v for k, v in position.items() if not k.startswith("new_source_title")}
    changed |= {"red_line": "55", "note": "moved", "based_on_version": "1"}
    del changed["party"], changed["layer"]
    response = client.post(page("position_edit", saved.pk), changed)
    expect(response, 302, ("positions.position", "update"), **web)
    response = client.post(
        page("position_withdraw", saved.pk), {"note": "no longer held", "based_on_version": "2"}
    )
    expect(response, 302, ("positions.position", "delete"), **web)

    response = client.post(page("members"), {"username": "outsider", "role": "viewer"})
    expect(response, 302, ("talks.membership", "create"), **web)
    member = Membership.objects.get(talk=st.talk, user=st.outsider)
    response = client.post(page("member_role", member.pk), {"role": "mediator"})
    expect(response, 302, ("talks.membership", "update"), **web)
    expect(
        client.post(page("member_remove", member.pk)), 302, ("talks.membership", "delete"), **web
    )

    response = client.post(reverse("tokens"), {"name": "nightly", "days": "30"})
    expect(response, 200, ("knox.authtoken", "create"), **web)
    token = AuthToken.objects.get(user=st.analyst)
    response = client.post(reverse("tokens"), {"action": "revoke", "key": token.token_key})
    expect(response, 302, ("knox.authtoken", "delete"), **web)


def test_every_write_through_the_api_is_recorded_with_the_tokens_user(small_talk):
    st = small_talk
    api = token_client(st.analyst)
    as_api = {"interface": "api", "user": "small-analyst"}

    def send(method: str, url: str, body: dict, version: int | None = None):
        headers = {} if version is None else {"HTTP_IF_MATCH": f'"{version}"'}
        return api.generic(
            method, f"/api/v1/{url}", json.dumps(body), content_type="application/json", **headers
        )

    issue = {"talk": "small", "key": "aid", "title": "Aid", "scale_kind": "numeric"}
    response = send("POST", "issues/", issue | {"scale_min": 0, "scale_max": 600})
    expect(response, 201, ("issues.issue", "create"), **as_api)
    aid = Issue.objects.get(talk=st.talk, key="aid")
    response = send("PATCH", f"issues/{aid.pk}/", {"priority": 5}, aid.version)
    expect(response, 200, ("issues.issue", "update"), **as_api)

    rule = Issue.objects.get(pk=st.categorical.pk)
    options = f"issues/{rule.pk}/options/"
    response = send("POST", options, {"key": "d", "label": "Option d"}, rule.version)
    expect(response, 201, ("issues.issueoption", "create"), **as_api)
    rule.refresh_from_db()
    response = send("PATCH", f"{options}d/", {"label": "Option D"}, rule.version)
    expect(response, 200, ("issues.issueoption", "update"), **as_api)
    rule.refresh_from_db()
    response = send("PUT", f"issues/{rule.pk}/option-order/", {"keys": list("dcba")}, rule.version)
    expect(response, 200, ("issues.issue", "update"), **as_api)
    rule.refresh_from_db()
    response = send("DELETE", f"{options}d/", {}, rule.version)
    expect(response, 200, ("issues.issueoption", "delete"), **as_api)

    position = {"issue": st.numeric.pk, "party": st.south.pk, "layer": "assessed"}
    position |= {"demand": 90, "red_line": 60, "note": "South's real floor"}
    expect(send("POST", "positions/", position), 201, ("positions.position", "create"), **as_api)
    saved = Position.objects.get(issue=st.numeric, party=st.south, layer="assessed")
    response = send("PATCH", f"positions/{saved.pk}/", {"red_line": 55, "note": "moved"}, 1)
    expect(response, 200, ("positions.position", "update"), **as_api)
    response = send("DELETE", f"positions/{saved.pk}/", {"note": "withdrawn"}, 2)
    expect(response, 204, ("positions.position", "delete"), **as_api)

    source = {"talk": "small", "title": "Press briefing"}
    expect(send("POST", "sources/", source), 201, ("positions.source", "create"), **as_api)
    made = Source.objects.get(talk=st.talk, title="Press briefing")
    response = send("PATCH", f"sources/{made.pk}/", {"reliability": "high"}, made.version)
    expect(response, 200, ("positions.source", "update"), **as_api)
    made.refresh_from_db()
    response = send("DELETE", f"sources/{made.pk}/", {}, made.version)
    expect(response, 204, ("positions.source", "delete"), **as_api)


def test_admin_writes_of_every_other_kind_are_recorded_with_the_staff_member(client, small_talk):
    staff = get_user_model().objects.create_user("boss", is_staff=True, is_superuser=True)
    client.force_login(staff)
    admin = {"interface": "admin", "user": "boss"}
    response = client.post(reverse("admin:talks_party_add"), {"name": "Monitors"})
    expect(response, 302, ("talks.party", "create"), **admin)
    party = Party.objects.get(name="Monitors")
    response = client.post(
        reverse("admin:talks_party_change", args=[party.pk]),
        {"name": "Monitors", "short_name": "MON"},
    )
    expect(response, 302, ("talks.party", "update"), **admin)
    response = client.post(
        reverse("admin:talks_round_add"),
        {"talk": small_talk.talk.pk, "number": "1", "starts_on": "2026-09-01", "place": "Doha"},
    )
    expect(response, 302, ("talks.round", "create"), **admin)
    token, _ = AuthToken.objects.create(user=small_talk.analyst)
    response = client.post(reverse("admin:knox_authtoken_delete", args=[token.pk]), {"post": "yes"})
    expect(response, 302, ("knox.authtoken", "delete"), **admin)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[small_talk.viewer.pk]),
        {"password1": "violet-harbour-42", "password2": "violet-harbour-42"},
    )
    expect(response, 302, ("auth.user", "update"), **admin)
    (changed,) = AuditEvent.objects.filter(request_id=response["X-Request-ID"])
    assert changed.changes == {"password": {"before": "[hidden]", "after": "[hidden]"}}


def test_management_commands_record_their_writes_as_the_command_line(small_talk, monkeypatch):
    out = io.StringIO()
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    call_command("api_token", "create", "small-analyst", "--name", "cron", stdout=out, stderr=out)
    key = AuthToken.objects.get(user=small_talk.analyst).token_key
    call_command("api_token", "revoke", key, stdout=out)
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "violet-harbour-lantern-42")
    call_command(
        "createsuperuser",
        "--noinput",
        "--username",
        "root-admin",
        "--email",
        "root@example.com",
        stdout=out,
    )
    events = AuditEvent.objects.filter(id__gt=before).order_by("id")
    assert {e.interface for e in events} == {"command"}
    kinds = [(e.object_type, e.action, e.username) for e in events]
    assert kinds == [
        ("knox.authtoken", "create", ""),
        ("knox.authtoken", "delete", ""),
        ("auth.user", "create", ""),
    ]
    assert events[0].object_label.startswith("API token of small-analyst")
    assert len({e.request_id for e in events}) == 1  # one process, one id
    assert events[2].changes["password"] == {"before": None, "after": "[hidden]"}


def test_every_read_of_the_assessed_layer_is_recorded_with_who_and_when(client, filled_talk):
    st = filled_talk
    started = timezone.now()
    client.force_login(st.mediator)
    client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
    client.get(reverse("talks:issue", args=["small", "truce"]), {"layer": "assessed"})
    client.force_login(st.analyst)
    assessed = Position.objects.filter(issue__talk=st.talk, layer="assessed").first()
    client.get(reverse("talks:position_edit", args=["small", assessed.pk]))
    b"".join(client.get(reverse("audit:export")).streaming_content)
    api = token_client(st.mediator, read_only=True)
    api.get(f"/api/v1/positions/{assessed.pk}/")
    b"".join(api.get("/api/v1/gaps/", {"format": "csv", "layer": "assessed"}).streaming_content)
    b"".join(api.get("/api/v1/revisions/", {"format": "csv"}).streaming_content)
    reads = AuditEvent.objects.filter(action="read", talk=st.talk).order_by("id")
    assert [(e.username, e.interface, e.note) for e in reads] == [
        ("small-mediator", "web", "dashboard"),
        ("small-mediator", "web", "issue truce"),
        ("small-analyst", "web", f"position editor: {assessed.party.name} on truce"),
        ("small-analyst", "web", "audit log CSV"),
        ("small-mediator", "api", f"position {assessed.pk}"),
        ("small-mediator", "api", "gap summaries CSV"),
        ("small-mediator", "api", "revisions CSV"),
    ]
    assert all(started <= e.created_at <= timezone.now() for e in reads)
    assert {e.user for e in reads} == {st.mediator, st.analyst}
    assert all(e.talk == Talk.objects.get(slug="small") for e in reads)
