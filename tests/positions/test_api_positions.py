"""Positions and sources through the API: writes through the services, optimistic
concurrency with ETags, time travel, CSV and revision history."""

import datetime as dt

import pytest
from django.utils import timezone

from issues import gaps
from positions import services
from positions.models import Position, PositionRevision, Source
from positions.services import PositionInput
from tests.api_support import all_pages, body, csv_rows, from_cell, write_position
from tests.factories import MembershipFactory, PartyFactory, TalkFactory, TalkPartyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/positions/"


def detail(position) -> str:
    return f"{URL}{position.pk}/"


def nothing_saved(before_positions: int, before_revisions: int) -> bool:
    return (
        Position.objects.count() == before_positions
        and PositionRevision.objects.count() == before_revisions
    )


# --- Creating ---------------------------------------------------------------------------------


def test_an_analyst_creates_a_position_with_an_etag_and_a_revision(
    api_talk, django_capture_on_commit_callbacks
):
    f = api_talk
    payload = {
        "issue": f.st.categorical.pk,
        "party": f.st.south.pk,
        "layer": "declared",
        "demand": "b",
        "acceptable": ["b", "c"],
        "priority": 4,
        "note": "South's terms, stated in the communique.",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = f.client("analyst").post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    data = body(response)
    assert response["ETag"] == '"1"'
    assert response["Location"].endswith(f"{URL}{data['id']}/")
    assert (data["demand"], data["acceptable"], data["red_line"]) == ("b", ["b", "c"], None)
    assert (data["talk"], data["issue_key"], data["party_name"]) == ("small", "rule", "South")
    assert (data["updated_by"], data["updated_via"], data["version"]) == ("small-analyst", "api", 1)
    revision = PositionRevision.objects.get(position_id=data["id"])
    assert (revision.via, revision.note) == ("api", "South's terms, stated in the communique.")
    gap = body(f.client("analyst").get(f"/api/v1/gaps/{f.st.categorical.pk}/declared/"))
    assert gap["status"] == "zone"
    assert not gap["pending"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"demand": 500}, "demand", gaps.OUTSIDE_SCALE),
        ({"demand": "some"}, "demand", gaps.NUMBER_REQUIRED),
        ({"red_line": -1}, "red_line", gaps.OUTSIDE_SCALE),
        ({"red_line": None}, "red_line", gaps.RED_LINE_REQUIRED),
        ({"priority": 9}, "priority", gaps.PRIORITY_OUT_OF_RANGE),
        ({"note": "   "}, "note", services.NOTE_REQUIRED),
        ({"demand": True}, "demand", "Enter a number, or the key of one of the issue's options."),
        ({"party": 999_999_999}, "party", "Unknown party: 999999999."),
        ({"issue": 999_999_999}, "issue", "Unknown issue: 999999999."),
        ({"layer": "secret"}, "layer", '"secret" is not a valid choice.'),
        ({"sources": [999_999]}, "sources", services.SOURCE_NOT_IN_TALK.format(id=999_999)),
        ({"acceptable": ["a"]}, "acceptable", gaps.ACCEPTABLE_NOT_USED),
    ],
)
def test_bad_input_is_a_400_with_the_fields_message_and_nothing_is_saved(
    api_talk, change, field, message
):
    f = api_talk
    payload = {
        "issue": f.st.numeric.pk,
        "party": f.st.broker.pk,
        "layer": "declared",
        "demand": 50,
        "red_line": 60,
        "note": "Broker's view.",
        **change,
    }
    counts = Position.objects.count(), PositionRevision.objects.count()
    response = f.client("analyst").post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    data = body(response)
    assert data["code"] == "invalid"
    assert data["errors"][field] == [message]
    assert data["detail"].startswith(f"{field}: {message}")
    assert nothing_saved(*counts)


def test_options_of_another_issue_and_demands_outside_the_acceptable_set_are_refused(api_talk):
    f = api_talk
    client = f.client("analyst")
    base = {"issue": f.st.ordinal.pk, "party": f.st.broker.pk, "layer": "declared", "note": "n"}
    foreign = client.post(URL, {**base, "demand": "a", "red_line": "some"}, format="json")
    assert body(foreign)["errors"] == {"demand": [gaps.UNKNOWN_OPTION]}
    categorical = {**base, "issue": f.st.categorical.pk, "demand": "c", "acceptable": ["a", "b"]}
    outside = client.post(URL, categorical, format="json")
    assert body(outside)["errors"] == {"demand": [gaps.DEMAND_NOT_ACCEPTABLE]}
    assert not Position.objects.filter(party=f.st.broker).exists()


def test_a_party_of_another_of_your_talks_is_not_a_party_to_this_one(api_talk):
    f = api_talk
    elsewhere = TalkFactory(slug="elsewhere")
    MembershipFactory(user=f.st.analyst, talk=elsewhere, role="analyst")
    stranger = PartyFactory(name="Faraway")
    TalkPartyFactory(talk=elsewhere, party=stranger)
    payload = {
        "issue": f.st.numeric.pk,
        "party": stranger.pk,
        "layer": "declared",
        "demand": 5,
        "red_line": 9,
        "note": "n",
    }
    response = f.client("analyst").post(URL, payload, format="json")
    assert body(response)["errors"] == {
        "party": [services.PARTY_NOT_IN_TALK.format(party=stranger)]
    }


def test_a_second_position_for_the_same_party_issue_and_layer_is_refused(api_talk):
    f = api_talk
    payload = {
        "issue": f.st.numeric.pk,
        "party": f.st.north.pk,
        "layer": "declared",
        "demand": 5,
        "red_line": 9,
        "note": "n",
    }
    response = f.client("analyst").post(URL, payload, format="json")
    assert response.status_code == 400
    assert body(response)["errors"]["party"] == [
        services.POSITION_EXISTS.format(party=f.st.north, layer="declared")
    ]


# --- Changing: If-Match, 428 and 412 ----------------------------------------------------------


def test_a_change_without_if_match_is_refused_with_428_and_nothing_changes(api_talk):
    f = api_talk
    client = f.client("analyst")
    for method in ("patch", "put", "delete"):
        response = getattr(client, method)(
            detail(f.north_truce), {"demand": 12, "note": "n"}, format="json"
        )
        assert response.status_code == 428, method
        assert body(response)["code"] == "precondition_required"
    star = client.patch(
        detail(f.north_truce), {"demand": 12, "note": "n"}, format="json", HTTP_IF_MATCH="*"
    )
    assert star.status_code == 428
    f.north_truce.refresh_from_db()
    assert (f.north_truce.version, f.north_truce.demand_value) == (1, 10.0)


def test_a_stale_if_match_gets_412_with_the_current_representation(api_talk):
    f = api_talk
    client = f.client("analyst")
    first = client.patch(
        detail(f.north_truce), {"red_line": 45, "note": "moved"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert first.status_code == 200
    assert first["ETag"] == '"2"'
    revisions = PositionRevision.objects.count()
    for stale in ('"1"', "1", 'W/"2"', '"2x"', '"999"'):
        response = client.patch(
            detail(f.north_truce), {"red_line": 20, "note": "x"}, format="json", HTTP_IF_MATCH=stale
        )
        assert response.status_code == 412, stale
        data = body(response)
        assert data["code"] == "stale_version"
        assert data["current_version"] == 2
        assert data["current"] == body(client.get(detail(f.north_truce)))
        assert response["ETag"] == '"2"'
    assert PositionRevision.objects.count() == revisions
    f.north_truce.refresh_from_db()
    assert f.north_truce.red_line_value == 45


def test_patch_keeps_what_it_does_not_name_and_put_resets_it(api_talk):
    f = api_talk
    client = f.client("analyst")
    url = detail(f.north_truce)
    patched = body(
        client.patch(
            url,
            {"rationale": "=cmd|' /C calc'!A0", "priority": 2, "note": "why"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    )
    assert (patched["demand"], patched["red_line"], patched["sources"]) == (
        10.0,
        40.0,
        [f.source.pk],
    )
    assert (patched["priority"], patched["version"]) == (2, 2)
    revision = PositionRevision.objects.filter(position=f.north_truce).order_by("-version").first()
    assert revision.changes == {
        "priority": [3, 2],
        "rationale": ["", "=cmd|' /C calc'!A0"],
    }
    put = body(
        client.put(
            url,
            {"demand": 11, "red_line": 41, "note": "all over"},
            format="json",
            HTTP_IF_MATCH='"2"',
        )
    )
    assert (put["priority"], put["rationale"], put["sources"], put["version"]) == (3, "", [], 3)


def test_an_unchanged_write_keeps_the_version_and_records_nothing(api_talk):
    f = api_talk
    revisions = PositionRevision.objects.count()
    response = f.client("analyst").patch(
        detail(f.north_truce), {"demand": 10, "note": "same"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200
    assert response["ETag"] == '"1"'
    assert PositionRevision.objects.count() == revisions


def test_a_positions_issue_party_and_layer_cannot_change(api_talk):
    f = api_talk
    response = f.client("analyst").patch(
        detail(f.north_truce),
        {"layer": "assessed", "party": f.st.south.pk, "note": "n"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 400
    assert set(body(response)["errors"]) == {"layer", "party"}


def test_if_none_match_answers_304_until_the_position_changes(api_talk):
    f = api_talk
    client = f.client("viewer")
    url = detail(f.north_truce)
    assert client.get(url, HTTP_IF_NONE_MATCH='"1"').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"0", W/"1"').status_code == 304
    f.client("analyst").patch(url, {"demand": 12, "note": "n"}, format="json", HTTP_IF_MATCH='"1"')
    response = client.get(url, HTTP_IF_NONE_MATCH='"1"')
    assert response.status_code == 200
    assert response["ETag"] == '"2"'


# --- Withdrawing ------------------------------------------------------------------------------


def test_withdrawing_needs_a_note_keeps_history_and_can_be_undone(api_talk):
    f = api_talk
    client = f.client("analyst")
    url = detail(f.north_truce)
    no_note = client.delete(url, HTTP_IF_MATCH='"1"')
    assert body(no_note)["errors"] == {"note": [services.NOTE_REQUIRED]}
    assert client.delete(f"{url}?note=Withdrawn%20publicly", HTTP_IF_MATCH='"1"').status_code == 204
    assert client.get(url).status_code == 404
    listed = {p["id"] for p in all_pages(client, URL, {"talk": "small"})}
    assert f.north_truce.pk not in listed
    history = body(client.get(f"{url}revisions/"))["results"]
    assert [(r["version"], r["action"]) for r in history] == [(2, "delete"), (1, "create")]
    assert history[0]["note"] == "Withdrawn publicly"
    revived = client.post(
        URL,
        {
            "issue": f.st.numeric.pk,
            "party": f.st.north.pk,
            "layer": "declared",
            "demand": 15,
            "red_line": 35,
            "note": "Back",
        },
        format="json",
    )
    assert revived.status_code == 201
    assert (body(revived)["id"], body(revived)["version"]) == (f.north_truce.pk, 3)


# --- Lists: filters, ordering, pagination, time travel ----------------------------------------


def test_filters_narrow_the_list_and_unknown_values_or_parameters_are_400(api_talk):
    f = api_talk
    client = f.client("analyst")
    rows = all_pages(client, URL, {"talk": "small", "issue": f.st.numeric.pk, "layer": "assessed"})
    assert {(r["party_name"], r["layer"]) for r in rows} == {
        ("North", "assessed"),
        ("South", "assessed"),
    }
    north = all_pages(client, URL, {"party": f.st.north.pk})
    assert {r["issue_key"] for r in north} == {"truce", "pullback", "rule"}
    later = timezone.now() + dt.timedelta(seconds=1)
    assert all_pages(client, URL, {"updated_since": later.isoformat()}) == []
    for params, field in (
        ({"layer": "hidden"}, "layer"),
        ({"issue": "x"}, "issue"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"ordering": "rationale"}, "ordering"),
        ({"colour": "red"}, "colour"),
        ({"page_size": "0"}, "page_size"),
        ({"cursor": "garbage"}, "cursor"),
        ({"format": "xml"}, "format"),
        ({"as_of": "last tuesday"}, "as_of"),
    ):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        assert body(response)["code"] == "invalid_query"
        assert list(body(response)["errors"]) == [field], params


def test_ordering_and_cursor_pages_walk_every_row_once(api_talk):
    f = api_talk
    client = f.client("analyst")
    rows = all_pages(client, URL, {"ordering": "-updated_at", "page_size": 2})
    assert (
        len(rows)
        == len({r["id"] for r in rows})
        == Position.objects.filter(issue__talk=f.st.talk).count()
    )
    stamps = [r["updated_at"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    assert len(body(client.get(URL, {"page_size": 500}))["results"]) == len(rows)
    assert client.get(URL, {"page_size": 501}).status_code == 400


def test_as_of_answers_from_the_revisions_as_they_stood(api_talk):
    f = api_talk
    client = f.client("analyst")
    before = timezone.now()
    client.patch(
        detail(f.south_truce),
        {"red_line": 30, "note": "softer"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    client.delete(f"{detail(f.north_rule)}?note=gone", HTTP_IF_MATCH='"1"')
    then = {
        r["id"]: r for r in all_pages(client, URL, {"talk": "small", "as_of": before.isoformat()})
    }
    assert then[f.south_truce.pk]["red_line"] == 60.0
    assert then[f.south_truce.pk]["version"] == 1
    assert f.north_rule.pk in then
    now = {r["id"]: r for r in all_pages(client, URL, {"talk": "small"})}
    assert now[f.south_truce.pk]["red_line"] == 30.0
    assert f.north_rule.pk not in now
    one = body(client.get(detail(f.south_truce), {"as_of": before.isoformat()}))
    assert one == then[f.south_truce.pk]
    ancient = (before - dt.timedelta(days=30)).isoformat()
    assert all_pages(client, URL, {"talk": "small", "as_of": ancient}) == []
    assert client.get(detail(f.south_truce), {"as_of": ancient}).status_code == 404


# --- CSV --------------------------------------------------------------------------------------


TRICKY = '=HYPERLINK("http://evil","x"), commas; "quotes"\nnew line, ünïcødé'


@pytest.mark.parametrize("ask", ["accept", "format"])
def test_csv_is_streamed_neutralized_and_parses_back_to_the_json(api_talk, ask):
    f = api_talk
    client = f.client("mediator")
    f.client("analyst").patch(
        detail(f.north_truce),
        {"rationale": TRICKY, "conditions": "-1+2", "note": "@SUM(A1)"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    f.client("analyst").patch(
        detail(f.south_truce),
        {"rationale": "'quoted already", "conditions": "\tindented", "note": "n"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    json_rows = all_pages(client, URL, {"talk": "small"})
    if ask == "accept":
        response = client.get(URL, {"talk": "small"}, HTTP_ACCEPT="text/csv")
    else:
        response = client.get(URL, {"talk": "small", "format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert list(rows[0]) == list(json_rows[0])
    by_id = {r["id"]: r for r in rows}
    assert by_id[str(f.north_truce.pk)]["rationale"].startswith("'=HYPERLINK")
    assert by_id[str(f.north_truce.pk)]["conditions"] == "'-1+2"
    assert by_id[str(f.south_truce.pk)]["rationale"] == "''quoted already"
    assert by_id[str(f.south_truce.pk)]["conditions"] == "'\tindented"
    parsed = [
        {k: from_cell(row[k], j[k]) for k in j} for row, j in zip(rows, json_rows, strict=True)
    ]
    assert parsed == json_rows


def test_revision_history_comes_as_csv_that_parses_back_to_the_json(api_talk):
    f = api_talk
    client = f.client("analyst")
    client.patch(
        detail(f.north_truce), {"demand": 12, "note": "+ more"}, format="json", HTTP_IF_MATCH='"1"'
    )
    url = f"{detail(f.north_truce)}revisions/"
    json_rows = all_pages(client, url)
    rows = csv_rows(client.get(url, {"format": "csv"}))
    parsed = [
        {k: from_cell(row[k], j[k]) for k in j} for row, j in zip(rows, json_rows, strict=True)
    ]
    assert parsed == json_rows
    assert rows[0]["note"] == "'+ more"
    talk_wide = all_pages(client, "/api/v1/revisions/", {"talk": "small", "party": f.st.north.pk})
    assert talk_wide[0]["changes"] == {"demand": [10.0, 12.0]}


def test_a_revision_is_written_out_as_its_declared_fields_would_write_it(api_talk):
    """The revision rows are built directly for speed: to exactly what DRF's field-by-field
    rendering of the declared fields gives, for a revision by a user and one by nobody."""
    from rest_framework import serializers

    from positions.api import RevisionSerializer
    from positions.selectors import position_revision_rows, revision_list_visible

    f = api_talk
    f.client("analyst").patch(
        detail(f.north_truce), {"demand": 12, "note": "moved"}, format="json", HTTP_IF_MATCH='"1"'
    )
    visible = {f.st.talk.pk: ("declared", "assessed")}
    rows = [
        *position_revision_rows(position=f.north_truce).select_related("issue__talk", "party"),
        *revision_list_visible(layers_by_talk=visible),
    ]
    assert {r.by_username for r in rows} == {f.st.analyst.username}
    rows[0].by_username = None  # as for a change made by no one (an import, a migration)
    serializer = RevisionSerializer()
    for revision in rows:
        fast = serializer.to_representation(revision)
        declared = serializers.Serializer.to_representation(serializer, revision)
        assert fast == dict(declared)
        assert list(fast) == list(declared)


# --- Sources ----------------------------------------------------------------------------------


def test_sources_are_created_corrected_and_removed_with_their_versions(api_talk):
    f = api_talk
    client = f.client("analyst")
    created = client.post(
        "/api/v1/sources/",
        {
            "talk": "small",
            "title": "Briefing",
            "url": "https://example.org/b",
            "reliability": "high",
        },
        format="json",
    )
    assert created.status_code == 201
    assert created["ETag"] == '"1"'
    url = f"/api/v1/sources/{body(created)['id']}/"
    bad = client.patch(url, {"url": "not a url"}, format="json", HTTP_IF_MATCH='"1"')
    assert bad.status_code == 400
    assert list(body(bad)["errors"]) == ["url"]
    fixed = client.patch(url, {"publisher": "Example"}, format="json", HTTP_IF_MATCH='"1"')
    assert body(fixed)["version"] == 2
    assert body(fixed)["title"] == "Briefing"
    assert client.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
    assert client.delete(url, HTTP_IF_MATCH='"2"').status_code == 204
    assert not Source.objects.filter(pk=body(created)["id"]).exists()


def test_a_cited_source_cannot_be_removed(api_talk):
    f = api_talk
    response = f.client("analyst").delete(f"/api/v1/sources/{f.source.pk}/", HTTP_IF_MATCH='"1"')
    assert response.status_code == 400
    assert body(response)["errors"] == {"source": [services.SOURCE_IN_USE.format(count=1)]}


def test_a_position_cites_only_sources_of_its_talk(api_talk):
    f = api_talk
    other_source = Source.objects.create(talk=f.other_position.issue.talk, title="Theirs")
    response = f.client("analyst").patch(
        detail(f.north_truce),
        {"sources": [f.source.pk, other_source.pk], "note": "n"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert body(response)["errors"] == {
        "sources": [services.SOURCE_NOT_IN_TALK.format(id=other_source.pk)]
    }


def test_positions_written_by_services_show_up_for_scripts(api_talk):
    """The API reads what the pages write: one set of services and selectors."""
    f = api_talk
    position = write_position(
        f.st, f.st.ordinal, f.st.broker, PositionInput(demand="some", red_line="most")
    )
    data = body(f.client("viewer").get(detail(position)))
    assert (data["demand"], data["red_line"], data["updated_via"]) == ("some", "most", "web")


def test_scripts_can_find_positions_by_issue_key_and_party_name(api_talk):
    f = api_talk
    client = f.client("viewer")
    rows = all_pages(client, URL, {"talk": "small", "issue_key": "truce", "party_name": "North"})
    assert [(r["id"], r["layer"]) for r in rows] == [(f.north_truce.pk, "declared")]
    theirs = f.other_position.party.name  # a party of a talk the viewer is not in
    for params in ({"issue_key": "nope"}, {"party_name": "Nobody"}, {"party_name": theirs}):
        response = client.get(URL, params)
        assert response.status_code == 400, params
        assert list(body(response)["errors"]) == list(params)


# --- Linked conditions ------------------------------------------------------------------------


def test_linked_conditions_are_read_and_written_through_the_api(api_talk):
    f = api_talk
    client = f.client("analyst")
    url = detail(f.north_truce)
    links = [
        {"issue": "rule", "options": ["b", "a"]},
        {"issue": "pullback", "options": ["most"]},
    ]
    response = client.patch(
        url, {"links": links, "note": "Tied to the rule."}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert body(response)["links"] == [
        {"issue": "pullback", "options": ["most"]},
        {"issue": "rule", "options": ["a", "b"]},
    ]
    # A change that leaves them out keeps them; an empty list drops them.
    kept = client.patch(url, {"priority": 2, "note": "n"}, format="json", HTTP_IF_MATCH='"2"')
    assert len(body(kept)["links"]) == 2
    dropped = client.patch(url, {"links": [], "note": "n"}, format="json", HTTP_IF_MATCH='"3"')
    assert body(dropped)["links"] == []
    assert PositionRevision.objects.get(position=f.north_truce, version=4).changes["links"][1] == []


def test_a_numeric_link_takes_a_range(api_talk):
    f = api_talk
    response = f.client("analyst").patch(
        detail(f.north_rule),
        {"links": [{"issue": "truce", "low": 60, "high": 30}], "note": "n"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert body(response)["links"] == [{"issue": "truce", "low": 30.0, "high": 60.0}]


@pytest.mark.parametrize(
    ("links", "field", "message"),
    [
        ([{"issue": "rule"}], "links[0].non_field_errors", "Give either `options`"),
        (
            [{"issue": "rule", "options": ["a"], "low": 1}],
            "links[0].non_field_errors",
            "Give either `options`",
        ),
        ([{"issue": "pullback", "low": 1}], "links[0].high", "Give both ends of the range."),
        ([{"issue": "nowhere", "options": ["a"]}], "links", "'nowhere' is not an issue"),
        ([{"issue": "rule", "options": ["zz"]}], "links", "non-empty set of the issue's options"),
        ([{"issue": "truce", "low": 0, "high": 9}], "links", "cannot be conditional on its own"),
        ("rule", "links.non_field_errors", 'Expected a list of items but got type "str".'),
    ],
)
def test_a_bad_link_is_a_400_at_its_field_and_nothing_is_saved(api_talk, links, field, message):
    f = api_talk
    response = f.client("analyst").patch(
        detail(f.north_truce), {"links": links, "note": "n"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400, response.content
    assert message in body(response)["errors"][field][0]
    f.north_truce.refresh_from_db()
    assert (f.north_truce.version, f.north_truce.links) == (1, [])
