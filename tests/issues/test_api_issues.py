"""Issues, options and gap summaries through the API."""

import pytest
from django.utils import timezone

from issues import gaps
from issues import services as issue_services
from issues.api import ISSUE_KEY_FIXED
from issues.models import GapSummary, Issue, IssueOption
from positions.services import PositionInput
from tests.api_support import all_pages, body, csv_rows, from_cell, write_position

pytestmark = pytest.mark.django_db

ISSUES = "/api/v1/issues/"


def numeric_issue(**change):
    return {
        "talk": "small",
        "key": "aid",
        "title": "Aid trucks a day",
        "scale_kind": "numeric",
        "scale_min": 0,
        "scale_max": 600,
        "unit": "trucks",
        **change,
    }


def test_an_analyst_creates_an_issue_with_its_summaries(api_talk):
    f = api_talk
    response = f.client("analyst").post(ISSUES, numeric_issue(priority=4), format="json")
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"1"'
    data = body(response)
    assert (data["key"], data["scale_max"], data["priority"], data["options"]) == (
        "aid",
        600.0,
        4,
        [],
    )
    gaps_now = all_pages(f.client("analyst"), "/api/v1/gaps/", {"issue": data["id"]})
    assert sorted((g["layer"], g["status"]) for g in gaps_now) == [
        ("assessed", "insufficient"),
        ("declared", "insufficient"),
    ]
    ordinal = f.client("analyst").post(
        ISSUES,
        {
            "talk": "small",
            "key": "monitors",
            "title": "Monitors",
            "scale_kind": "ordinal",
            "options": [{"key": "none", "label": "None"}, {"key": "un", "label": "UN"}],
        },
        format="json",
    )
    assert [o["key"] for o in body(ordinal)["options"]] == ["none", "un"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (numeric_issue(scale_min=600, scale_max=10), "scale_max", gaps.SCALE_BOUNDS_ORDER),
        (numeric_issue(scale_min=None), "scale_min", gaps.SCALE_BOUNDS_REQUIRED),
        (numeric_issue(priority=9), "priority", gaps.PRIORITY_OUT_OF_RANGE),
        (numeric_issue(key="truce"), "key", issue_services.ISSUE_KEY_TAKEN.format(key="truce")),
        (
            numeric_issue(key="no spaces!"),
            "key",
            "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens.",
        ),
        (
            numeric_issue(options=[{"key": "a", "label": "A"}]),
            "options",
            issue_services.ISSUE_NO_OPTIONS,
        ),
        (
            numeric_issue(scale_kind="ordinal", options=[{"key": "a", "label": "A"}]),
            "options",
            issue_services.ISSUE_OPTIONS_NEEDED,
        ),
        (
            numeric_issue(scale_kind="ordinal", options=[{"key": "a"}, {"key": "b", "label": "B"}]),
            "options[0].label",
            "This field is required.",
        ),
        (numeric_issue(talk="other"), "talk", "Unknown talk: other."),
    ],
)
def test_a_bad_issue_is_refused_with_the_fields_message_and_nothing_is_saved(
    api_talk, payload, field, message
):
    count = Issue.objects.count()
    response = api_talk.client("analyst").post(ISSUES, payload, format="json")
    assert response.status_code == 400
    assert body(response)["errors"][field] == [message]
    assert Issue.objects.count() == count


def test_issue_changes_need_the_current_version_and_keep_key_and_kind(api_talk):
    f = api_talk
    client = f.client("analyst")
    url = f"{ISSUES}{f.st.numeric.pk}/"
    assert client.patch(url, {"priority": 5}, format="json").status_code == 428
    changed = client.patch(url, {"priority": 5}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200
    assert (body(changed)["priority"], changed["ETag"]) == (5, '"2"')
    stale = client.patch(url, {"priority": 1}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert body(stale)["current"]["priority"] == 5
    fixed = client.patch(
        url, {"key": "other", "scale_kind": "ordinal"}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert body(fixed)["errors"] == {
        "key": [ISSUE_KEY_FIXED],
        "scale_kind": [issue_services.ISSUE_KIND_FIXED],
    }
    narrowed = client.patch(url, {"scale_max": 50}, format="json", HTTP_IF_MATCH='"2"')
    assert narrowed.status_code == 400
    assert body(narrowed)["errors"]["scale_max"][0].startswith("4 current position(s) lie outside")
    assert Issue.objects.get(pk=f.st.numeric.pk).scale_max == 100


def test_options_are_added_relabelled_reordered_and_removed_under_the_issues_version(api_talk):
    f = api_talk
    client = f.client("analyst")
    issue = f.st.categorical
    options = f"{ISSUES}{issue.pk}/options/"
    added = client.post(
        options,
        {"key": "d", "label": "Option d", "before": "c"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert added.status_code == 201
    assert [o["key"] for o in body(added)["options"]] == ["a", "b", "d", "c"]
    assert added["ETag"] == '"2"'
    taken = client.post(options, {"key": "a", "label": "Again"}, format="json", HTTP_IF_MATCH='"2"')
    assert body(taken)["errors"] == {"key": [issue_services.OPTION_KEY_TAKEN.format(key="a")]}
    relabelled = client.patch(
        f"{options}d/", {"label": "Fourth way"}, format="json", HTTP_IF_MATCH='"2"'
    )
    assert body(relabelled)["options"][2]["label"] == "Fourth way"
    order = f"{ISSUES}{issue.pk}/option-order/"
    mismatch = client.put(order, {"keys": ["a", "b"]}, format="json", HTTP_IF_MATCH='"3"')
    assert body(mismatch)["errors"] == {"options": [issue_services.OPTION_KEYS_MISMATCH]}
    reordered = client.put(
        order, {"keys": ["c", "d", "b", "a"]}, format="json", HTTP_IF_MATCH='"3"'
    )
    assert [o["key"] for o in body(reordered)["options"]] == ["c", "d", "b", "a"]
    in_use = client.delete(f"{options}a/", HTTP_IF_MATCH='"4"')
    assert body(in_use)["errors"] == {"options": [issue_services.OPTION_IN_USE.format(count=2)]}
    removed = client.delete(f"{options}d/", HTTP_IF_MATCH='"4"')
    assert [o["key"] for o in body(removed)["options"]] == ["c", "b", "a"]
    unknown = client.patch(f"{options}zz/", {"label": "?"}, format="json", HTTP_IF_MATCH='"5"')
    assert unknown.status_code == 404
    assert body(unknown)["detail"] == "This issue has no option 'zz'."
    stale = client.delete(f"{options}c/", HTTP_IF_MATCH='"4"')
    assert stale.status_code == 412
    assert IssueOption.objects.filter(issue=issue).count() == 3


# --- Gap summaries ----------------------------------------------------------------------------


def test_a_summary_being_recomputed_shows_as_pending_with_its_age(api_talk):
    f = api_talk
    client = f.client("mediator")
    url = f"/api/v1/gaps/{f.st.numeric.pk}/declared/"
    fresh = body(client.get(url))
    assert fresh["pending"] is False
    assert fresh["computed_rev"] == fresh["requested_rev"]
    # Written without running the after-commit recomputation: the summary is now stale.
    write_position(f.st, f.st.numeric, f.st.broker, PositionInput(demand=50, red_line=50))
    f.north_truce.refresh_from_db()
    from positions.services import position_update

    position_update(
        position=f.north_truce,
        based_on_version=1,
        data=PositionInput(demand=10, red_line=70),
        by=f.st.analyst,
        via="web",
        note="n",
    )
    stale = body(client.get(url))
    assert stale["pending"] is True
    assert stale["requested_rev"] > stale["computed_rev"] == fresh["computed_rev"]
    assert stale["computed_at"] == fresh["computed_at"]
    assert (stale["status"], stale["gap"]) == (fresh["status"], fresh["gap"])
    listed = {
        (g["issue_key"], g["layer"]): g
        for g in all_pages(client, "/api/v1/gaps/", {"talk": "small", "pending": "true"})
    }
    assert set(listed) == {("truce", "declared")}
    board = body(client.get("/api/v1/talks/small/dashboard/", {"layer": "declared"}))
    assert board["layers"]["declared"]["pending"] is True


def test_a_gap_summary_answers_304_to_its_etag_until_it_changes(
    api_talk, django_capture_on_commit_callbacks
):
    f = api_talk
    client = f.client("viewer")
    url = f"/api/v1/gaps/{f.st.numeric.pk}/declared/"
    first = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):
        f.client("analyst").patch(
            f"/api/v1/positions/{f.south_truce.pk}/",
            {"red_line": 30, "note": "softer"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert body(changed)["status"] == "zone"
    assert changed["ETag"] != first["ETag"]


def test_gap_history_and_as_of_tell_how_the_gap_moved(api_talk, django_capture_on_commit_callbacks):
    f = api_talk
    client = f.client("analyst")
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(
            f"/api/v1/positions/{f.south_truce.pk}/",
            {"red_line": 30, "note": "softer"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
    history_url = f"/api/v1/gaps/{f.st.numeric.pk}/declared/history/"
    history = all_pages(client, history_url)
    assert [h["status"] for h in history] == ["gap", "zone"]
    assert history[0]["computed_at"] < history[1]["computed_at"]
    rows = csv_rows(client.get(history_url, {"format": "csv"}))
    assert [{k: from_cell(r[k], h[k]) for k in h} for r, h in zip(rows, history, strict=True)] == (
        history
    )
    then = body(
        client.get(f"/api/v1/gaps/{f.st.numeric.pk}/declared/", {"as_of": before.isoformat()})
    )
    assert (then["status"], then["pending"]) == ("gap", False)
    assert then["gap"] == history[0]["gap"]
    past = all_pages(client, "/api/v1/gaps/", {"talk": "small", "as_of": before.isoformat()})
    assert {(g["issue_key"], g["layer"]): g["status"] for g in past}[("truce", "declared")] == "gap"
    newest = all_pages(client, "/api/v1/gaps/", {"talk": "small", "layer": "declared"})
    assert {g["issue_key"]: g["status"] for g in newest}["truce"] == "zone"
    assert body(client.get(history_url, {"ordering": "-computed_at"}))["results"][0]["status"] == (
        "zone"
    )


def test_gap_summaries_come_as_csv_that_parses_back_to_the_json(api_talk):
    client = api_talk.client("mediator")
    json_rows = all_pages(client, "/api/v1/gaps/", {"talk": "small"})
    rows = csv_rows(client.get("/api/v1/gaps/", {"talk": "small"}, HTTP_ACCEPT="text/csv"))
    parsed = [{k: from_cell(r[k], j[k]) for k in j} for r, j in zip(rows, json_rows, strict=True)]
    assert parsed == json_rows
    assert len(rows) == GapSummary.objects.filter(issue__talk=api_talk.st.talk).count()
