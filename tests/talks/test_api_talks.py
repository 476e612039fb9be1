"""Talks, rounds, parties and the dashboard through the API."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from positions.services import PositionInput
from talks.models import Round
from tests.api_support import all_pages, body, write_position
from tests.factories import MembershipFactory, PartyFactory, TalkFactory, TalkPartyFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/api/v1/talks/small/dashboard/"
# What a request may read before the dashboard answers from the cache: who is asking.
AUTH_TABLES = ("knox_authtoken", "auth_user", "talks_membership", "django_session", "api_token")


def tables_read(queries) -> set[str]:
    found = set()
    for q in queries:
        sql = q["sql"].lower()
        if not sql.startswith("select"):
            continue
        found.add(sql.split(" from ", 1)[1].split()[0].strip('"'))
    return found


def tables_written(queries) -> list[str]:
    return [
        q["sql"].lower().split()[2].strip('"')
        for q in queries
        if q["sql"].lower().startswith("insert into")
    ]


def test_talks_list_only_the_users_talks_with_their_parties_and_role(api_talk):
    f = api_talk
    talks = all_pages(f.client("mediator"), "/api/v1/talks/")
    assert [t["slug"] for t in talks] == ["small"]
    talk = talks[0]
    assert talk["role"] == "mediator"
    assert {(p["name"], p["role"]) for p in talk["parties"]} == {
        ("North", "principal"),
        ("South", "principal"),
        ("Broker", "mediator"),
    }
    assert (talk["issue_count"], talk["zone_count"], talk["gap_count"]) == (3, 1, 1)
    outsider = all_pages(f.client("outsider"), "/api/v1/talks/")
    assert [t["slug"] for t in outsider] == ["other"]


def test_the_last_change_a_viewer_sees_ignores_the_assessed_layer(api_talk):
    f = api_talk
    later = timezone.now()
    f.client("analyst").patch(
        f"/api/v1/positions/{f.north_truce_assessed.pk}/",
        {"demand": 25, "note": "reassessed"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    viewer = body(f.client("viewer").get("/api/v1/talks/small/"))
    mediator = body(f.client("mediator").get("/api/v1/talks/small/"))
    assert viewer["last_change"] < later.isoformat().replace("+00:00", "Z")
    assert mediator["last_change"] > viewer["last_change"]


def test_a_talk_answers_304_to_its_etag(api_talk):
    client = api_talk.client("viewer")
    first = client.get("/api/v1/talks/small/")
    assert client.get("/api/v1/talks/small/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_rounds_and_parties_of_the_users_talks(api_talk):
    f = api_talk
    Round.objects.create(talk=f.st.talk, number=2, starts_on=dt.date(2026, 10, 1), place="Doha")
    Round.objects.create(talk=f.st.talk, number=1, starts_on=dt.date(2026, 9, 1), place="Cairo")
    rounds = all_pages(f.client("viewer"), "/api/v1/rounds/", {"talk": "small"})
    assert [(r["number"], r["place"]) for r in rounds] == [(1, "Cairo"), (2, "Doha")]
    assert all_pages(f.client("outsider"), "/api/v1/rounds/") == []
    # North also sits in a talk the viewer is not part of: that role stays hidden.
    hidden = TalkFactory(slug="hidden-talk")
    TalkPartyFactory(talk=hidden, party=f.st.north, role="observer")
    north = body(f.client("viewer").get(f"/api/v1/parties/{f.st.north.pk}/"))
    assert north["talks"] == [{"talk": "small", "role": "principal"}]
    mediators = all_pages(
        f.client("viewer"), "/api/v1/parties/", {"talk": "small", "role": "mediator"}
    )
    assert [p["name"] for p in mediators] == ["Broker"]
    observers = all_pages(f.client("viewer"), "/api/v1/parties/", {"role": "observer"})
    assert observers == []


def test_a_party_counts_as_a_role_only_where_the_role_is(api_talk):
    f = api_talk
    second = TalkFactory(slug="second")
    MembershipFactory(user=f.st.viewer, talk=second, role="viewer")
    TalkPartyFactory(talk=second, party=PartyFactory(name="Arbiter"), role="mediator")
    TalkPartyFactory(talk=second, party=f.st.north, role="observer")
    # North is a principal in "small" and an observer in "second": never a mediator.
    found = all_pages(f.client("viewer"), "/api/v1/parties/", {"talk": "small", "role": "observer"})
    assert found == []


# --- Dashboard ----------------------------------------------------------------------------


def test_the_dashboard_has_every_issue_principal_and_layer_with_summaries(api_talk):
    f = api_talk
    board = body(f.client("analyst").get(DASHBOARD))
    assert [p["name"] for p in board["principals"]] == ["North", "South"]
    assert set(board["layers"]) == {"declared", "assessed"}
    declared = {i["key"]: i for i in board["layers"]["declared"]["issues"]}
    assert list(declared) == ["pullback", "rule", "truce"]  # by order, then key
    north, south = declared["truce"]["positions"]
    assert (north["demand"], north["demand_label"], south["red_line"]) == (10.0, "10 days", 60.0)
    assert declared["rule"]["positions"][1] is None
    summary = declared["truce"]["summary"]
    assert (summary["status"], summary["pending"]) == ("gap", False)
    assert summary["computed_at"] is not None
    assert summary["blocking_parties"]
    rollup = board["layers"]["declared"]["rollup"]
    assert rollup["deal_feasible"] is False
    assert [b["key"] for b in rollup["blocking"]] == ["truce"]
    assessed = {i["key"]: i for i in board["layers"]["assessed"]["issues"]}
    assert assessed["truce"]["positions"][0]["demand"] == 20.0


def test_viewers_get_the_declared_layer_only(api_talk):
    client = api_talk.client("viewer")
    board = body(client.get(DASHBOARD))
    assert list(board["layers"]) == ["declared"]
    assert client.get(DASHBOARD, {"layer": "assessed"}).status_code == 404
    bad = client.get(DASHBOARD, {"layer": "secret"})
    assert (bad.status_code, list(body(bad)["errors"])) == (400, ["layer"])


def test_a_current_dashboard_is_answered_from_the_cache_without_reading_the_talk(
    api_talk, django_capture_on_commit_callbacks
):
    f = api_talk
    client = f.client("mediator")
    first = client.get(DASHBOARD)
    etag = first["ETag"]
    assert "private" in first["Cache-Control"]
    assert "Authorization" in first["Vary"]
    with CaptureQueriesContext(connection) as not_modified:
        response = client.get(DASHBOARD, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert tables_read(not_modified.captured_queries) <= set(AUTH_TABLES)
    assert tables_written(not_modified.captured_queries) == []
    with CaptureQueriesContext(connection) as cached:
        again = client.get(DASHBOARD)
    assert again.content == first.content
    assert tables_read(cached.captured_queries) <= set(AUTH_TABLES)
    # The one write: the audit log's record that a mediator was shown the assessed layer.
    assert tables_written(cached.captured_queries) == ["audit_auditevent"]

    with django_capture_on_commit_callbacks(execute=True):
        f.client("analyst").patch(
            f"/api/v1/positions/{f.south_truce.pk}/",
            {"red_line": 30, "note": "softer"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    changed = client.get(DASHBOARD, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    truce = body(changed)["layers"]["declared"]["issues"][2]
    assert (truce["positions"][1]["red_line"], truce["summary"]["status"]) == (30.0, "zone")


def test_session_sign_ins_get_the_dashboard_too(api_talk):
    client = APIClient()
    client.force_login(api_talk.st.viewer)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert client.get(DASHBOARD, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_the_dashboard_as_of_a_past_moment(api_talk):
    f = api_talk
    client = f.client("analyst")
    before = timezone.now()
    client.delete(f"/api/v1/positions/{f.north_rule.pk}/?note=gone", HTTP_IF_MATCH='"1"')
    write_position(f.st, f.st.categorical, f.st.south, PositionInput(demand="c", acceptable={"c"}))
    past = client.get(DASHBOARD, {"as_of": before.isoformat(), "layer": "declared"})
    rule = {i["key"]: i for i in body(past)["layers"]["declared"]["issues"]}["rule"]
    assert rule["positions"][0]["demand"] == "a"
    assert rule["positions"][1] is None
    assert body(past)["as_of"] is not None
    assert (
        client.get(
            DASHBOARD,
            {"as_of": before.isoformat(), "layer": "declared"},
            HTTP_IF_NONE_MATCH=past["ETag"],
        ).status_code
        == 304
    )
    assert client.get(DASHBOARD, {"as_of": "soon"}).status_code == 400


def test_me_says_who_is_asking_with_which_token(api_talk):
    data = body(api_talk.client("analyst-read-only").get("/api/v1/me/"))
    assert data["username"] == "small-analyst"
    assert (data["token"]["name"], data["token"]["read_only"]) == ("test script", True)
    assert data["talks"] == [{"talk": "small", "title": "Small talk", "role": "analyst"}]
