"""The audit log page: talk analysts read their talks' events, staff read everything;
filters, keyset pages, a streamed CSV export, and reads of the assessed layer on record."""

import datetime as dt
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit import views
from audit.context import Interface, audit_context
from audit.models import AuditEvent
from audit.services import audit_record
from talks.models import Talk
from tests.api_support import csv_rows
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOG = reverse("audit:log")
EXPORT = reverse("audit:export")


def shown(response) -> list[AuditEvent]:
    assert response.status_code == 200, response.content[:500]
    return [row.event for row in response.context["rows"]]


def event(**values) -> AuditEvent:
    values.setdefault("action", "update")
    values.setdefault("user", None)
    with audit_context(interface=values.pop("interface", Interface.WEB)):
        return audit_record(**values)


@pytest.fixture
def logged(filled_talk):
    """The small talk's events (positions on both layers, its creation), the other talk's,
    and a sign-in that belongs to no talk."""
    st = filled_talk
    other = st.outsider  # analyst of "other"
    event(action="login", object_type="auth.user", object_id=other.pk, user=other)
    event(
        object_type="issues.issue",
        label="=HYPERLINK(evil)",
        talk_id=Talk.objects.get(slug="other").pk,
        note="@cmd",
        user=other,
    )
    return st


def test_analysts_read_their_talks_and_staff_read_everything(client, logged):
    st = logged
    small = set(AuditEvent.objects.filter(talk_id=st.talk.pk).values_list("pk", flat=True))
    client.force_login(st.analyst)
    page = shown(client.get(LOG))
    assert {e.pk for e in page} == small
    assert [e.created_at for e in page] == sorted((e.created_at for e in page), reverse=True)

    client.force_login(st.outsider)  # analyst of the other talk only
    other = Talk.objects.get(slug="other")
    assert {e.talk_id for e in shown(client.get(LOG))} == {other.pk}

    for user in (st.viewer, st.mediator, UserFactory(username="plain-staff", is_staff=True)):
        client.force_login(user)
        refused = client.get(LOG)
        assert refused.status_code == 403
        assert escape(views.NOT_AN_AUDITOR) in refused.content.decode()
        assert client.get(EXPORT).status_code == 403

    auditor = UserFactory(username="auditor", is_staff=True)
    auditor.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(auditor)
    newest = list(AuditEvent.objects.order_by("-created_at", "-id")[: views.PAGE_SIZE])
    everything = shown(client.get(LOG))
    assert everything == newest
    assert "login" in {e.action for e in everything}  # events of no talk too


def test_another_talk_in_the_filter_is_refused_like_one_that_does_not_exist(client, logged):
    client.force_login(logged.outsider)
    real = client.get(LOG, {"talk": "small"})
    fake = client.get(LOG, {"talk": "no-such-talk"})
    assert real.status_code == fake.status_code == 200
    assert real.context["rows"] == fake.context["rows"] == []
    assert real.context["form"].errors == {
        "talk": ["Select a valid choice. small is not one of the available choices."]
    }
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
    assert strip.sub("", real.content.decode()).replace("small", "no-such-talk") == strip.sub(
        "", fake.content.decode()
    )
    assert client.get(EXPORT, {"talk": "small"}).status_code == 200  # the form, not a CSV
    assert "Small talk" not in client.get(LOG).content.decode()


def test_every_filter_narrows_the_log(client, logged, staff_auditor):
    st = logged
    client.force_login(staff_auditor)
    tagged = event(
        object_type="positions.source",
        object_id="77",
        label="Wire",
        talk_id=st.talk.pk,
        user=st.mediator,
        interface=Interface.API,
        action="delete",
    )
    cases = {
        "talk": ({"talk": "small"}, lambda e: e.talk_id == st.talk.pk),
        "user": ({"user": "SMALL-MEDIATOR"}, lambda e: e.username == "small-mediator"),
        "interface": ({"interface": "api"}, lambda e: e.interface == "api"),
        "action": ({"action": "delete"}, lambda e: e.action == "delete"),
        "object type": (
            {"object_type": "positions.source"},
            lambda e: e.object_type == "positions.source",
        ),
        "object": (
            {"object_type": "positions.source", "object_id": "77"},
            lambda e: e.pk == tagged.pk,
        ),
        "request": ({"request_id": tagged.request_id}, lambda e: e.request_id == tagged.request_id),
    }
    everything = list(AuditEvent.objects.all())
    for name, (query, keep) in cases.items():
        expected = {e.pk for e in everything if keep(e)}
        assert expected, name
        assert {e.pk for e in shown(client.get(LOG, query))} == expected, name
    assert shown(client.get(LOG, {"user": "small-mediator", "action": "delete"})) == [tagged]


def test_the_date_range_takes_whole_days_and_must_be_in_order(client, logged, staff_auditor):
    client.force_login(staff_auditor)
    today = timezone.localdate()
    old = AuditEvent.objects.create(
        created_at=timezone.now() - dt.timedelta(days=10),
        interface="command",
        action="update",
        object_type="talks.talk",
        object_label="long ago",
    )
    day = (today - dt.timedelta(days=10)).isoformat()
    assert shown(client.get(LOG, {"since": day, "until": day})) == [old]
    recent = shown(client.get(LOG, {"since": today.isoformat()}))
    assert old.pk not in {e.pk for e in recent}
    assert recent
    backwards = client.get(LOG, {"since": today.isoformat(), "until": day})
    assert backwards.context["form"].errors == {"until": ["The end date is before the start date."]}
    assert backwards.context["rows"] == []


def test_pages_follow_the_log_newest_first_without_gaps_or_repeats(
    client, logged, staff_auditor, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 4)
    client.force_login(staff_auditor)
    # Creations only: the reads each page records are not among them.
    expected = list(AuditEvent.objects.filter(action="create").order_by("-created_at", "-id"))
    assert len(expected) > 9
    seen: list[AuditEvent] = []
    response = client.get(LOG, {"action": "create"})
    assert not response.context["newer_query"]
    pages = 0
    while True:
        pages += 1
        seen.extend(shown(response))
        older = response.context["older_query"]
        if not older:
            break
        response = client.get(f"{LOG}?{older}")
        assert response.context["newer_query"]
    assert seen == expected
    assert pages == -(-len(expected) // 4)
    # And back again from the oldest page to the newest.
    back = shown(response)
    while response.context["newer_query"]:
        response = client.get(f"{LOG}?{response.context['newer_query']}")
        back = shown(response) + back
    assert back == expected
    assert client.get(LOG, {"before": "yesterday~1"}).context["form"].errors == {
        "__all__": ["This page link is not valid: start again from the newest events."]
    }


def test_the_page_costs_the_same_queries_however_many_rows(
    client, logged, staff_auditor, django_assert_num_queries
):
    client.force_login(staff_auditor)
    event(object_type="talks.talk", talk_id=logged.talk.pk, interface=Interface.API)
    with django_assert_num_queries(QUERIES) as few:
        assert len(shown(client.get(LOG, {"interface": "api"}))) == 1
    for _ in range(30):
        event(object_type="talks.talk", talk_id=logged.talk.pk, interface=Interface.API)
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(shown(client.get(LOG, {"interface": "api"}))) == 31


def test_the_csv_export_streams_every_matching_event_with_formulas_neutralized(client, logged):
    client.force_login(logged.outsider)
    response = client.get(EXPORT)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = csv_rows(response)
    assert {r["talk"] for r in rows} == {"other"}
    (issue,) = [r for r in rows if r["object_type"] == "issues.issue"]
    assert issue["object"] == "'=HYPERLINK(evil)"
    assert issue["note"] == "'@cmd"
    assert issue["user"] == "outsider"

    client.force_login(logged.analyst)
    rows = csv_rows(client.get(EXPORT, {"action": "create"}))
    expected = AuditEvent.objects.filter(talk_id=logged.talk.pk, action="create")
    assert [r["object_id"] for r in rows] == [
        e.object_id for e in expected.order_by("-created_at", "-id")
    ]


def test_showing_assessed_position_changes_is_a_recorded_read(client, logged):
    st = logged
    reads = AuditEvent.objects.filter(action="read", talk_id=st.talk.pk)
    client.force_login(st.analyst)
    client.get(LOG, {"object_type": "issues.issue"})
    assert not reads.exists()  # nothing of the assessed layer on that page
    client.get(LOG)
    b"".join(client.get(EXPORT, {"interface": "web"}).streaming_content)
    assert list(reads.order_by("pk").values_list("username", "interface", "note")) == [
        ("small-analyst", "web", "audit log"),
        ("small-analyst", "web", "audit log CSV"),
    ]


@pytest.fixture
def staff_auditor(db):
    user = UserFactory(username="auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    return user


# The request's savepoint and its release, the session, the user, two for permissions, the
# talks to filter by, the page, and the assessed talks on it.
QUERIES = 9


def test_staff_opening_an_assessed_positions_event_in_the_admin_is_a_recorded_read(client, logged):
    staff = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(staff)
    st = logged
    position = st.talk.issues.get(key="truce").positions.get(party=st.north, layer="assessed")
    shown = AuditEvent.objects.filter(object_type="positions.position", object_id=position.pk)
    declared = AuditEvent.objects.filter(object_type="issues.issue").first()
    for event_shown in (declared, shown.first()):
        url = reverse("admin:audit_auditevent_change", args=[event_shown.pk])
        assert client.get(url).status_code == 200
    reads = AuditEvent.objects.filter(action="read", username="boss")
    assert list(reads.values_list("note", "interface", "talk_id")) == [
        (f"admin: audit event {shown.first().pk}", "admin", st.talk.pk)
    ]
