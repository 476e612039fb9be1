"""Every page for every role: who may open what, and what each page shows."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from issues.models import GapSummary
from positions.models import Interface
from positions.services import PositionInput, position_update
from talks.access import ANALYSTS_ONLY, ASSESSED_HIDDEN
from talks.models import Round
from tests.factories import IssueFactory, PartyFactory, TalkPartyFactory, add_options
from tests.fixtures import record

pytestmark = pytest.mark.django_db


def read_pages(st):
    return [
        reverse("talks:dashboard", args=["small"]),
        reverse("talks:dashboard_live", args=["small"]),
        reverse("talks:issue", args=["small", "truce"]),
        reverse("talks:issue", args=["small", "pullback"]),
        reverse("talks:issue", args=["small", "rule"]),
        reverse("talks:issue_live", args=["small", "truce"]),
    ]


def analyst_pages(st):
    position = st.numeric.positions.get(party=st.north, layer="declared")
    return [
        reverse("talks:members", args=["small"]),
        reverse("talks:issue_manage", args=["small"]),
        reverse("talks:issue_new", args=["small"]),
        reverse("talks:issue_edit", args=["small", "pullback"]),
        reverse("talks:position_new", args=["small", "truce"]),
        reverse("talks:position_edit", args=["small", position.pk]),
        reverse("talks:position_withdraw", args=["small", position.pk]),
    ]


def post_endpoints(st):
    membership = st.talk.memberships.get(user=st.viewer)
    return [
        reverse("talks:member_role", args=["small", membership.pk]),
        reverse("talks:member_remove", args=["small", membership.pk]),
        reverse("talks:option_add", args=["small", "pullback"]),
        reverse("talks:option_edit", args=["small", "pullback", "some"]),
        reverse("talks:option_move", args=["small", "pullback", "some"]),
        reverse("talks:option_delete", args=["small", "pullback", "some"]),
    ]


def test_every_page_sends_an_anonymous_visitor_to_sign_in(client, filled_talk):
    for url in read_pages(filled_talk) + analyst_pages(filled_talk):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    for url in post_endpoints(filled_talk):
        response = client.post(url, {})
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_non_member_gets_404_on_every_page_of_the_talk(client, filled_talk):
    client.force_login(filled_talk.outsider)  # an analyst, but of another talk
    for url in read_pages(filled_talk) + analyst_pages(filled_talk):
        assert client.get(url).status_code == 404, url
    for url in post_endpoints(filled_talk):
        assert client.post(url, {"based_on_version": 1}).status_code == 404, url
    assert filled_talk.talk.memberships.filter(user=filled_talk.viewer).exists()


@pytest.mark.parametrize("role", ["viewer", "mediator"])
def test_viewers_and_mediators_read_but_get_403_on_analysts_pages(client, filled_talk, role):
    st = filled_talk
    client.force_login(getattr(st, role))
    for url in read_pages(st):
        assert client.get(url).status_code == 200, url
    for url in analyst_pages(st):
        response = client.get(url)
        assert response.status_code == 403, url
        assert escape(ANALYSTS_ONLY) in response.content.decode()
    options_before = list(st.ordinal.options.values_list("key", "label", "order"))
    for url in post_endpoints(st):
        assert client.post(url, {"based_on_version": 1, "role": "analyst"}).status_code == 403
    assert st.talk.memberships.get(user=st.viewer).role == "viewer"
    assert list(st.ordinal.options.values_list("key", "label", "order")) == options_before


def test_an_analyst_opens_every_page(client, filled_talk):
    client.force_login(filled_talk.analyst)
    for url in read_pages(filled_talk) + analyst_pages(filled_talk):
        assert client.get(url).status_code == 200, url


def test_analysts_see_the_editing_links_and_others_do_not(client, filled_talk):
    st = filled_talk
    declared = st.numeric.positions.get(party=st.north, layer="declared")
    edit = reverse("talks:position_edit", args=["small", declared.pk])
    client.force_login(st.analyst)
    page = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert edit in page
    assert "Manage issues" in page
    assert "Members" in page
    client.force_login(st.mediator)
    page = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert edit not in page
    assert "Manage issues" not in page


# --- The assessed layer -------------------------------------------------------------------------


def test_a_viewer_asking_for_the_assessed_layer_sees_the_declared_one_and_is_told(
    client, filled_talk
):
    st = filled_talk
    client.force_login(st.viewer)
    for name, args in [
        ("talks:dashboard", ["small"]),
        ("talks:dashboard_live", ["small"]),
        ("talks:issue", ["small", "truce"]),
        ("talks:issue_live", ["small", "truce"]),
    ]:
        response = client.get(reverse(name, args=args), {"layer": "assessed"})
        assert response.status_code == 200
        content = response.content.decode()
        assert "70 days" not in content, name  # North's assessed red line
        assert "40 days" in content, name  # North's declared red line
        assert response.context["state"].layer.layer == "declared"
        if not name.endswith("_live"):
            assert ASSESSED_HIDDEN in content
    page = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert "layer=assessed" not in page  # no toggle offered


def test_mediators_and_analysts_switch_to_the_assessed_layer(client, filled_talk):
    st = filled_talk
    for user in (st.mediator, st.analyst):
        client.force_login(user)
        response = client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
        content = response.content.decode()
        assert "70 days" in content
        assert "40 days" not in content
        assert ASSESSED_HIDDEN not in content
        assert 'href="?layer=declared"' in content


def test_a_viewer_sees_only_declared_revisions_in_the_changes_panel(client, filled_talk):
    st = filled_talk
    client.force_login(st.viewer)
    response = client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
    layers = {entry.revision.layer for entry in response.context["changes"]}
    assert layers == {"declared"}


# --- The dashboard -----------------------------------------------------------------------------


def test_the_dashboard_shows_values_in_units_and_labels_status_and_rollup(client, filled_talk):
    st = filled_talk
    client.force_login(st.mediator)
    response = client.get(reverse("talks:dashboard", args=["small"]))
    content = response.content.decode()
    for text in ("10 days", "40 days", "90 days", "60 days", "none", "most", "a; b", "b; c"):
        assert text in content
    truce = re.search(r'<tr class="row-gap">.*?</tr>', content, re.S).group(0)
    assert "Truce" in truce
    assert "20%" in truce  # the gap, as a share of the scale
    assert 'class="fill gap" width="20.0"' in truce  # the gap bar
    assert "Blocking: South, North" in truce  # the side wanting more, then the one capping
    assert "first reading" in truce
    assert "computed " in truce
    assert "No whole deal yet:" in content
    assert "1 of 3 issues has a gap" in content
    board = response.context["board"]
    assert [b.key for b in board.rollup.blocking] == ["truce"]


def test_a_pending_summary_is_marked_recomputing_with_its_age(client, filled_talk):
    st = filled_talk
    GapSummary.objects.filter(issue=st.numeric, layer="declared").update(
        pending=True, requested_rev=99
    )
    client.force_login(st.mediator)
    content = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert "recomputing…" in content
    assert "Recomputing: some summaries below are being brought up to date." in content
    truce = re.search(r'<tr class="row-gap">.*?</tr>', content, re.S).group(0)
    assert "recomputing…" in truce
    assert "20%" in truce


def test_the_trend_arrow_shows_a_narrowed_gap(
    client, filled_talk, django_capture_on_commit_callbacks
):
    st = filled_talk
    position = st.numeric.positions.get(party=st.north, layer="declared")
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=position,
            based_on_version=position.version,
            data=PositionInput(demand=10, red_line=50),
            by=st.analyst,
            via=Interface.WEB,
            note="North moves",
        )
    client.force_login(st.mediator)
    content = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert "narrowed by 10%" in content
    assert "Red line:</span>" in content
    assert "40 days</del>" in content
    assert "50 days</ins>" in content
    assert "North moves" in content


def test_the_changes_panel_lists_changes_since_the_chosen_date(client, filled_talk):
    st = filled_talk
    client.force_login(st.analyst)
    url = reverse("talks:dashboard", args=["small"])
    assert len(client.get(url).context["changes"]) == 6  # declared layer
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.get(url, {"since": tomorrow})
    assert response.context["changes"] == []
    assert "Nothing changed in this period." in response.content.decode()
    bad = client.get(url, {"since": "not-a-date"})
    assert bad.status_code == 200
    assert "Enter a valid date." in bad.content.decode()


def test_a_round_filter_shows_positions_as_they_stood_when_it_ended(
    client, small_talk, django_capture_on_commit_callbacks
):
    st = small_talk
    ten_days_ago = timezone.now() - dt.timedelta(days=10)
    with (
        mock.patch("django.utils.timezone.now", return_value=ten_days_ago),
        django_capture_on_commit_callbacks(execute=True),
    ):
        record(st, st.numeric, st.north, demand=10, red_line=40)
        record(st, st.numeric, st.south, demand=90, red_line=60)
    position = st.numeric.positions.get(party=st.north, layer="declared")
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=10, red_line=75),
            by=st.analyst,
            via=Interface.WEB,
            note="after the round",
        )
    today = timezone.localdate()
    Round.objects.create(
        talk=st.talk,
        number=1,
        place="Cairo",
        starts_on=today - dt.timedelta(days=12),
        ends_on=today - dt.timedelta(days=5),
    )
    Round.objects.create(talk=st.talk, number=2, place="Doha", starts_on=today)
    client.force_login(st.mediator)
    url = reverse("talks:dashboard", args=["small"])

    now = client.get(url).content.decode()
    assert "75 days" in now
    assert "zone" in now.lower()

    then = client.get(url, {"round": 1})
    content = then.content.decode()
    assert then.context["state"].frame.as_of is not None
    assert "40 days" in content
    assert "75 days" not in content
    assert "as they stood at the end of round 1 (Cairo)" in content
    assert "hx-get" not in content  # a past moment is not polled
    assert [e.revision.note for e in then.context["changes"]] == ["first estimate"] * 2

    under_way = client.get(url, {"round": 2})
    assert under_way.context["state"].frame.as_of is None
    assert "Round 2 has not ended" in under_way.content.decode()


# --- The issue page ----------------------------------------------------------------------------


def test_the_numeric_issue_page_draws_the_scale_chart(client, filled_talk):
    client.force_login(filled_talk.mediator)
    response = client.get(reverse("talks:issue", args=["small", "truce"]))
    content = response.content.decode()
    svg = re.search(r'<svg class="scale-chart".*?</svg>', content, re.S).group(0)
    assert '<title id="chart-title">Truce: each principal' in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.S).group(1)
    assert "North wants 10 days; red line 40 days" in desc
    assert "South wants 90 days; red line 60 days" in desc
    assert "Bridging point at" in desc
    assert svg.count('class="range"') == 2
    assert svg.count('class="demand-mark"') == 2
    assert 'class="gap-band"' in svg
    assert 'class="zone-band"' not in svg
    assert 'class="bridging-line"' in svg
    assert "style=" not in content
    chart = response.context["chart"]
    assert chart.gap.x == pytest.approx(chart.bars[0].x2)  # North's red line at 40 ...
    assert chart.gap.x + chart.gap.width == pytest.approx(chart.bars[1].x1)  # ... South's at 60
    assert "North will go no higher than 40 days" in content  # the narrative


def test_the_ordinal_issue_page_shades_the_zone_and_labels_the_options(client, filled_talk):
    client.force_login(filled_talk.mediator)
    response = client.get(reverse("talks:issue", args=["small", "pullback"]))
    content = response.content.decode()
    assert 'class="zone-band"' in content
    assert 'class="gap-band"' not in content
    assert [t.full for t in response.context["chart"].ticks] == ["none", "some", "most", "all"]
    assert "A zone of agreement exists between some and most." in content


def test_the_categorical_issue_page_shows_the_options_by_parties_matrix(client, filled_talk):
    client.force_login(filled_talk.mediator)
    response = client.get(reverse("talks:issue", args=["small", "rule"]))
    assert response.context["chart"] is None
    matrix = {row.key: row for row in response.context["matrix"]}
    assert matrix["b"].in_zone
    assert matrix["b"].accepted_by == 2
    assert [c.demand for c in matrix["a"].cells] == [True, False]
    assert [c.acceptable for c in matrix["c"].cells] == [False, True]
    content = response.content.decode()
    assert '<table class="option-matrix">' in content
    assert "in the zone" in content


def test_the_issue_page_has_the_gap_sparkline_and_the_revision_timeline(
    client, filled_talk, django_capture_on_commit_callbacks
):
    from tests.factories import SourceFactory

    st = filled_talk
    source = SourceFactory(talk=st.talk, title="Wire report", url="https://example.org/r")
    position = st.numeric.positions.get(party=st.south, layer="declared")
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=90, red_line=45, source_ids=(source.pk,)),
            by=st.analyst,
            via=Interface.API,
            note="South softens after the wire report",
        )
    client.force_login(st.mediator)
    response = client.get(reverse("talks:issue", args=["small", "truce"]))
    content = response.content.decode()
    spark = response.context["spark"]
    assert len(spark.points) == 2
    assert spark.points[0].y < spark.points[1].y  # the gap narrowed: the line comes down
    assert '<title id="spark-title">Gap over time</title>' in content
    first = response.context["timeline"][0]
    assert first.revision.note == "South softens after the wire report"
    assert {line.field: (line.before, line.after) for line in first.lines}["red_line"] == (
        "60 days",
        "45 days",
    )
    assert "Wire report" in content
    assert "by small-analyst via api" in content


def test_an_unknown_issue_is_404(client, filled_talk):
    client.force_login(filled_talk.analyst)
    assert client.get(reverse("talks:issue", args=["small", "nope"])).status_code == 404
    assert client.get(reverse("talks:issue_live", args=["small", "nope"])).status_code == 404


# --- Live updates ------------------------------------------------------------------------------


def test_the_live_dashboard_answers_304_from_the_cache_until_the_talk_changes(
    client, filled_talk, django_capture_on_commit_callbacks
):
    st = filled_talk
    client.force_login(st.mediator)
    url = reverse("talks:dashboard_live", args=["small"])
    first = client.get(url, headers={"HX-Request": "true"})
    assert first.status_code == 200
    etag = first["ETag"]
    assert f'data-etag="{escape(etag)}"' in first.content.decode()
    page = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert f'data-etag="{escape(etag)}"' in page  # the first poll is already a 304

    with CaptureQueriesContext(connection) as queries:
        again = client.get(url, headers={"HX-Request": "true", "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    # The session, its user and the membership: nothing else reaches the database.
    assert len(queries) == 3, [q["sql"] for q in queries]

    position = st.numeric.positions.get(party=st.north, layer="declared")
    with django_capture_on_commit_callbacks(execute=True):
        position_update(
            position=position,
            based_on_version=1,
            data=PositionInput(demand=10, red_line=55),
            by=st.analyst,
            via=Interface.WEB,
            note="moved",
        )
    changed = client.get(url, headers={"HX-Request": "true", "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "55 days" in changed.content.decode()


def test_the_live_etag_differs_by_layer_and_role(client, filled_talk):
    st = filled_talk
    url = reverse("talks:dashboard_live", args=["small"])
    client.force_login(st.mediator)
    declared = client.get(url)["ETag"]
    assessed = client.get(url, {"layer": "assessed"})["ETag"]
    client.force_login(st.analyst)
    as_analyst = client.get(url)["ETag"]
    assert len({declared, assessed, as_analyst}) == 3
    client.force_login(st.mediator)
    assert (
        client.get(url, {"layer": "assessed"}, headers={"If-None-Match": declared}).status_code
        == 200
    )


def test_a_poll_after_the_session_ended_asks_htmx_to_reload_the_page(client, filled_talk):
    url = reverse("talks:dashboard_live", args=["small"])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert client.get(url).status_code == 302
    client.force_login(filled_talk.outsider)
    gone = client.get(url, headers={"HX-Request": "true"})
    assert gone["HX-Refresh"] == "true"


def test_the_live_region_is_polled_and_the_page_loads_only_its_own_scripts(client, filled_talk):
    client.force_login(filled_talk.mediator)
    content = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    live = re.search(r'<div id="live"[^>]*>', content).group(0)
    assert 'hx-get="/talks/small/live/"' in live
    filtered = client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
    assert 'hx-get="/talks/small/live/?layer=assessed"' in filtered.content.decode()
    assert 'hx-trigger="every 3s"' in live
    assert 'hx-swap="outerHTML"' in live
    scripts = re.findall(r"<script[^>]*>", content)
    assert all(re.search(r'src="/static/', s) for s in scripts), scripts
    assert "<style" not in content
    assert "style=" not in content
    assert '"includeIndicatorStyles": false' in content
    assert "http://" not in content.replace("http://testserver", "")
    assert "https://" not in content


# --- Query counts ------------------------------------------------------------------------------


def grow(st, issues: int) -> None:
    """Add issues with positions for every principal on both layers, and a third principal."""
    third = PartyFactory(name="East")
    TalkPartyFactory(talk=st.talk, party=third)
    for n in range(issues):
        numeric = IssueFactory(talk=st.talk, key=f"n{n}", title=f"Numeric {n}", scale_max=50)
        ordinal = IssueFactory(
            talk=st.talk,
            key=f"o{n}",
            title=f"Ordinal {n}",
            scale_kind="ordinal",
            scale_min=None,
            scale_max=None,
        )
        add_options(ordinal, "x", "y", "z")
        for layer in ("declared", "assessed"):
            for party, (low, high) in zip(
                (st.north, st.south, third), ((1, 10), (40, 20), (30, 5)), strict=True
            ):
                record(st, numeric, party, layer, demand=low, red_line=high)
            record(st, ordinal, st.north, layer, demand="x", red_line="y")
            record(st, ordinal, third, layer, demand="z", red_line="y")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("talks:dashboard", ["small"]),
        ("talks:dashboard_live", ["small"]),
        ("talks:issue", ["small", "truce"]),
        ("talks:issue_live", ["small", "truce"]),
    ],
)
def test_page_query_counts_do_not_grow_with_the_talk(
    client, filled_talk, django_capture_on_commit_callbacks, django_assert_num_queries, name, args
):
    st = filled_talk
    client.force_login(st.analyst)
    url = reverse(name, args=args) + "?layer=assessed"
    small = count_queries(client, url)
    with django_capture_on_commit_callbacks(execute=True):
        grow(st, issues=4)
        for _ in range(3):  # more history: revisions and summaries
            position = st.numeric.positions.get(party=st.north, layer="assessed")
            position_update(
                position=position,
                based_on_version=position.version,
                data=PositionInput(demand=10, red_line=70 - position.version),
                by=st.analyst,
                via=Interface.WEB,
                note="again",
            )
    with django_assert_num_queries(small):
        assert client.get(url).status_code == 200
    # Two of them are the request's savepoint and its release, one the audit of the assessed
    # read, one the proposals with a term on the issue (or the latest ones, on the dashboard).
    assert small <= 20


def test_every_response_showing_the_assessed_layer_is_in_the_audit_log(client, filled_talk):
    from audit.models import AuditEvent

    st = filled_talk
    reads = AuditEvent.objects.filter(action="read", talk=st.talk)
    client.force_login(st.mediator)
    client.get(reverse("talks:dashboard", args=["small"]))
    client.get(reverse("talks:issue", args=["small", "truce"]))
    assert not reads.exists()  # the declared layer is no secret among members

    client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
    client.get(reverse("talks:issue", args=["small", "truce"]), {"layer": "assessed"})
    live = reverse("talks:dashboard_live", args=["small"])
    etag = client.get(live, {"layer": "assessed"})["ETag"]
    assert (
        client.get(live, {"layer": "assessed"}, headers={"If-None-Match": etag}).status_code == 304
    )
    assert list(reads.order_by("pk").values_list("note", "user__username")) == [
        ("dashboard", "small-mediator"),
        ("issue truce", "small-mediator"),
        ("dashboard (live update)", "small-mediator"),  # the 304 showed nothing new
    ]

    client.force_login(st.viewer)  # asks, but is shown the declared layer: nothing to record
    client.get(reverse("talks:dashboard", args=["small"]), {"layer": "assessed"})
    assert reads.count() == 3

    client.force_login(st.analyst)
    position = st.numeric.positions.get(party=st.north, layer="assessed")
    client.get(reverse("talks:position_edit", args=["small", position.pk]))
    assert reads.order_by("pk").last().note == "position editor: North on truce"


def test_a_talk_without_issues_says_so(client, small_talk):
    from issues.models import Issue

    Issue.objects.filter(talk=small_talk.talk).delete()
    client.force_login(small_talk.analyst)
    content = client.get(reverse("talks:dashboard", args=["small"])).content.decode()
    assert "This talk has no issues yet." in content
    assert reverse("talks:issue_new", args=["small"]) in content
    assert "No whole deal yet" not in content
