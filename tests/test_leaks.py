"""What a user must not learn, in any way: a viewer learns nothing of the assessed layer,
not even when it changes; a non-member nothing of a talk."""

import re

import pytest
from django.urls import reverse

from positions.models import Interface, Position
from positions.services import PositionInput, position_update
from tests.api_support import token_client

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def page(client, url: str, **headers):
    response = client.get(url, **headers)
    assert response.status_code in (200, 304), (url, response.status_code)
    return response.status_code, response.get("ETag"), CSRF.sub("", response.content.decode())


def test_a_viewer_cannot_tell_that_the_assessed_layer_changed(
    client, filled_talk, django_capture_on_commit_callbacks
):
    st = filled_talk
    client.force_login(st.viewer)
    api = token_client(st.viewer)
    urls = [
        reverse("talks:list"),
        reverse("talks:dashboard", args=["small"]),
        reverse("talks:issue", args=["small", "truce"]),
    ]
    live = [
        reverse("talks:dashboard_live", args=["small"]),
        reverse("talks:issue_live", args=["small", "truce"]),
    ]
    api_urls = ["/api/v1/talks/", "/api/v1/talks/small/", "/api/v1/talks/small/dashboard/"]
    before = [page(client, u) for u in urls + live]
    api_before = [(r.status_code, r.get("ETag"), r.content) for r in map(api.get, api_urls)]

    assessed = Position.objects.get(issue=st.numeric, party=st.north, layer="assessed")
    with django_capture_on_commit_callbacks(execute=True):  # the write and its recomputation
        position_update(
            position=assessed,
            based_on_version=assessed.version,
            data=PositionInput(demand=10, red_line=85),
            by=st.analyst,
            via=Interface.WEB,
            note="North would go further",
        )

    after = [page(client, u) for u in urls + live]
    changed = [u for u, a, b in zip(urls + live, after, before, strict=True) if a != b]
    assert not changed, _first_difference(after, before)
    for url, (_, etag, _) in zip(live, before[len(urls) :], strict=True):
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert [(r.status_code, r.get("ETag"), r.content) for r in map(api.get, api_urls)] == (
        api_before
    )
    # The mediator, who reads the assessed layer, is told.
    client.force_login(st.mediator)
    changed = client.get(live[0], {"layer": "assessed"})
    assert "North would go further" in changed.content.decode()
    (talk,) = client.get(urls[0]).context["talks"]
    assessed.refresh_from_db()
    assert talk.last_change == assessed.updated_at


def test_the_roles_that_read_the_assessed_layer_are_the_same_everywhere():
    from talks.models import Membership
    from talks.selectors import ASSESSED_READERS

    readers = {r for r in Membership.Role.values if Membership(role=r).can_see_assessed}
    assert set(ASSESSED_READERS) == readers


def _first_difference(after, before) -> str:
    import difflib

    for a, b in zip(after, before, strict=True):
        if a != b:
            if a[:2] != b[:2]:
                return f"{b[:2]} became {a[:2]}"
            lines = difflib.unified_diff(b[2].splitlines(), a[2].splitlines(), lineterm="", n=0)
            return "\n".join(list(lines)[:20])
    return ""


def test_printing_assessed_gap_figures_on_the_command_line_is_a_recorded_read(filled_talk):
    import io

    from django.core.management import call_command

    from audit.models import AuditEvent

    reads = AuditEvent.objects.filter(action="read", talk=filled_talk.talk)
    call_command("gap_report", "small", "--layer", "declared", stdout=io.StringIO())
    assert not reads.exists()
    call_command("gap_report", "small", stdout=io.StringIO())
    assert list(reads.values_list("interface", "username", "note")) == [
        ("command", "", "gap report")
    ]


def test_view_on_site_needs_the_permission_to_view_the_object_in_the_admin(client, small_talk):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from talks.models import Talk
    from tests.factories import UserFactory

    talk_type = ContentType.objects.get_for_model(Talk)
    url = f"/admin/r/{talk_type.pk}/{small_talk.talk.pk}/"
    missing = f"/admin/r/{talk_type.pk}/999999999/"
    staff = UserFactory(username="desk", is_staff=True)
    client.force_login(staff)
    refused, nothing = client.get(url), client.get(missing)
    assert refused.status_code == nothing.status_code == 404
    assert CSRF.sub("", refused.content.decode()) == CSRF.sub("", nothing.content.decode())
    staff.user_permissions.add(Permission.objects.get(codename="view_talk"))
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].endswith("/talks/small/")
