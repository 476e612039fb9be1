"""The recomputation pipeline on the embedded default: tasks run in-process at commit.

The same guarantees as with real workers (tests/issues/test_pipeline_worker.py): a committed
edit leaves a fresh summary equal to a from-scratch computation, duplicate and reordered
deliveries change nothing, and history records every change of a figure.

Each `committed()` block stands for one transaction: its on-commit callbacks (the sends of
the recomputation task) run when it ends, as they would at a real commit.
"""

import datetime as dt

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from issues import gaps, selectors
from issues.models import GapSummary, GapSummaryHistory
from issues.services import (
    Refresh,
    coalesce_interval,
    gap_summary_recompute,
    gap_summary_refresh,
    gap_summary_store,
)
from issues.tasks import recompute_issue_gap, sweep_stale_gap_summaries
from positions.models import Interface, PositionRevision
from positions.services import PositionInput, position_create, position_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def from_scratch(summary: GapSummary) -> dict:
    issue_input = selectors.issue_gap_input(issue_id=summary.issue_id, layer=summary.layer)
    return gaps.compute_issue(issue_input).to_dict()


def summary_of(issue, layer="declared") -> GapSummary:
    return GapSummary.objects.get(issue=issue, layer=layer)


def assert_fresh_and_exact(summary: GapSummary) -> None:
    assert summary.computed_rev == summary.requested_rev
    assert not summary.pending
    assert summary.figures == from_scratch(summary)
    assert summary.narrative == summary.figures["narrative"]


def create(st, issue, party, demand, red_line=None, layer="declared", acceptable=()):
    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=PositionInput(demand=demand, red_line=red_line, acceptable=frozenset(acceptable)),
        by=st.analyst,
        via=Interface.WEB,
        note="opening estimate",
    )


def update(st, position, note="moved", **changes):
    current = PositionInput(
        demand=changes.pop("demand", position.demand_value),
        red_line=changes.pop("red_line", position.red_line_value),
        rationale=changes.pop("rationale", position.rationale),
    )
    return position_update(
        position=position,
        based_on_version=position.version,
        data=current,
        by=st.analyst,
        via=Interface.WEB,
        note=note,
    )


@pytest.fixture
def numeric_pair(small_talk, committed):
    st = small_talk
    with committed():
        north = create(st, st.numeric, st.north, 10, 40)
    with committed():
        south = create(st, st.numeric, st.south, 90, 60)
    return st, north, south


def test_every_committed_edit_leaves_both_layers_fresh_and_exact(small_talk, committed):
    st = small_talk
    for layer, (north_red, south_red) in {"declared": (40, 60), "assessed": (70, 50)}.items():
        with committed():
            create(st, st.numeric, st.north, 10, north_red, layer=layer)
        with committed():
            create(st, st.numeric, st.south, 90, south_red, layer=layer)
    with committed():
        create(st, st.ordinal, st.north, "none", "most")
        create(st, st.ordinal, st.south, "all", "all")
    with committed():
        create(st, st.categorical, st.north, "a", acceptable={"a", "b"})
        create(st, st.categorical, st.south, "c", acceptable={"c", "b"})

    for summary in GapSummary.objects.filter(issue__talk=st.talk).exclude(requested_rev=0):
        assert_fresh_and_exact(summary)
    assert summary_of(st.numeric).status == "gap"
    assert summary_of(st.numeric, "assessed").status == "zone"
    assert summary_of(st.ordinal).figures["blocking"]["amount"] == 1.0
    assert summary_of(st.categorical).figures["zone"]["options"] == ["b"]


def test_an_edit_that_moves_no_figure_is_computed_but_adds_no_history(numeric_pair, committed):
    st, north, _south = numeric_pair
    before = summary_of(st.numeric)
    history = GapSummaryHistory.objects.filter(issue=st.numeric, layer="declared").count()

    with committed():
        update(st, north, rationale="Same numbers, better argued.")

    after = summary_of(st.numeric)
    assert after.computed_rev == before.computed_rev + 1
    assert after.position_versions == {"North": 2, "South": 1}
    assert after.figures_changed_at == before.figures_changed_at
    assert GapSummaryHistory.objects.filter(issue=st.numeric, layer="declared").count() == history


def test_a_moved_red_line_records_history_and_a_trend_with_its_amount(numeric_pair, committed):
    st, north, _south = numeric_pair

    with committed():
        update(st, north, red_line=50)

    summary = summary_of(st.numeric)
    assert_fresh_and_exact(summary)
    assert summary.trend["direction"] == "narrowed"
    assert summary.trend["delta"] == pytest.approx(-10 / 100)
    assert summary.trend["since"] == summary.figures_changed_at.isoformat()
    revs = list(
        GapSummaryHistory.objects.filter(issue=st.numeric, layer="declared")
        .order_by("computed_at")
        .values_list("rev", "gap")
    )
    assert revs == [(1, 0.0), (2, pytest.approx(0.2)), (3, pytest.approx(0.1))]


def test_edits_in_one_transaction_cost_one_computation(numeric_pair, committed):
    """A bulk change (an import, a script) commits once and is computed once."""
    st, north, _south = numeric_pair
    count = summary_of(st.numeric).compute_count

    with committed():
        for step in range(200):
            north = update(st, north, red_line=40 + step % 7, note=f"step {step}")

    summary = summary_of(st.numeric)
    assert summary.compute_count == count + 1
    # Every step but the first (which repeats the red line of 40) makes a new version.
    assert summary.requested_rev == summary.computed_rev == 2 + 199
    assert_fresh_and_exact(summary)


def test_separate_commits_in_process_are_each_computed_at_once(numeric_pair, committed):
    """With no worker, the writer computes at its commit: the summary is never stale."""
    st, north, _south = numeric_pair
    count = summary_of(st.numeric).compute_count

    for step in range(1, 51):
        with committed():
            north = update(st, north, red_line=40 + step % 20, note=f"step {step}")
        summary = summary_of(st.numeric)
        assert summary.computed_rev == summary.requested_rev
        assert not summary.pending

    summary = summary_of(st.numeric)
    assert summary.compute_count == count + 50
    assert_fresh_and_exact(summary)


def test_duplicate_deliveries_compute_nothing_and_change_nothing(numeric_pair):
    st, _north, _south = numeric_pair
    before = summary_of(st.numeric)

    outcomes = [recompute_issue_gap.delay(st.numeric.pk, "declared").get() for _ in range(3)]
    outcomes.append(recompute_issue_gap.delay(st.numeric.pk, "declared", after_rev=1).get())

    assert outcomes == ["current", "current", "current", "superseded"]
    after = summary_of(st.numeric)
    assert (after.compute_count, after.computed_at, after.figures) == (
        before.compute_count,
        before.computed_at,
        before.figures,
    )


def test_a_late_result_of_an_older_revision_is_refused(numeric_pair, committed):
    """Out of order: the computation of revision 3 lands after that of revision 4."""
    st, north, _south = numeric_pair
    with committed():
        north = update(st, north, red_line=45)
    rev = summary_of(st.numeric).requested_rev
    older = gaps.compute_issue(selectors.issue_gap_input(issue_id=st.numeric.pk, layer="declared"))
    with committed():
        update(st, north, red_line=55)
    newest = summary_of(st.numeric)
    assert newest.computed_rev == rev + 1

    late = gap_summary_store(issue_id=st.numeric.pk, layer="declared", rev=rev, result=older)

    assert not late.stored
    summary = summary_of(st.numeric)
    assert summary.computed_rev == rev + 1
    assert summary.compute_count == newest.compute_count + 1
    assert_fresh_and_exact(summary)
    assert not GapSummaryHistory.objects.filter(
        issue=st.numeric, computed_at__gt=newest.computed_at
    ).exists()


def test_a_recomputation_moments_after_the_last_one_waits_its_turn(numeric_pair):
    """With a broker, a delivery right after a computation is sent again for later; in
    process the re-sent task runs at once, so the summary is still current at the end."""
    st, _north, _south = numeric_pair
    GapSummary.objects.filter(issue=st.numeric, layer="declared").update(
        requested_rev=summary_of(st.numeric).requested_rev + 1,
        pending=True,
        computed_at=timezone.now(),
    )

    outcome = gap_summary_refresh(issue_id=st.numeric.pk, layer="declared", may_defer=True)

    assert outcome == Refresh.DEFERRED
    assert_fresh_and_exact(summary_of(st.numeric))


def test_a_recomputation_long_after_the_last_one_computes_at_once(numeric_pair):
    st, _north, _south = numeric_pair
    long_ago = timezone.now() - dt.timedelta(seconds=60)
    GapSummary.objects.filter(issue=st.numeric, layer="declared").update(
        requested_rev=summary_of(st.numeric).requested_rev + 1, pending=True, computed_at=long_ago
    )

    outcome = gap_summary_refresh(issue_id=st.numeric.pk, layer="declared", may_defer=True)

    assert outcome == Refresh.STORED
    summary = summary_of(st.numeric)
    assert_fresh_and_exact(summary)
    assert summary.coalesce_level == 0


@pytest.mark.parametrize(
    ("computed_ago", "last_write_ago", "outcome"),
    [
        (1.0, 0.0, Refresh.DEFERRED),  # edits still coming, the 4 s interval not over
        (1.0, 0.6, Refresh.STORED),  # edits quiet for over 0.5 s: the burst is over
        (0.3, 0.3, Refresh.DEFERRED),  # ... but not right on the heels of a computation
        (5.0, 0.0, Refresh.STORED),  # edits still coming, the interval is over
    ],
)
@override_settings(GAP_RECOMPUTE_COALESCE_SECONDS=0.25, GAP_RECOMPUTE_COALESCE_MAX_SECONDS=4)
def test_during_a_burst_computations_wait_for_the_interval_or_the_end_of_the_burst(
    numeric_pair, computed_ago, last_write_ago, outcome
):
    st, _north, _south = numeric_pair
    now = timezone.now()
    GapSummary.objects.filter(issue=st.numeric, layer="declared").update(
        requested_rev=summary_of(st.numeric).requested_rev + 1,
        pending=True,
        coalesce_level=4,
        computed_at=now - dt.timedelta(seconds=computed_ago),
        last_requested_at=now - dt.timedelta(seconds=last_write_ago),
    )

    assert gap_summary_refresh(issue_id=st.numeric.pk, layer="declared") == outcome
    # In process, a deferred delivery is sent again and runs at once: current either way.
    assert_fresh_and_exact(summary_of(st.numeric))


@override_settings(GAP_RECOMPUTE_COALESCE_SECONDS=0.25, GAP_RECOMPUTE_COALESCE_MAX_SECONDS=4)
def test_the_pause_between_recomputations_doubles_up_to_its_maximum():
    assert [coalesce_interval(level) for level in range(7)] == [0.25, 0.5, 1, 2, 4, 4, 4]


@override_settings(GAP_RECOMPUTE_COALESCE_SECONDS=0.25, GAP_RECOMPUTE_COALESCE_MAX_SECONDS=4)
def test_computations_that_follow_closely_raise_the_level_and_a_pause_resets_it(numeric_pair):
    st, _north, _south = numeric_pair
    GapSummary.objects.filter(issue=st.numeric).update(coalesce_level=0)
    levels = []
    for seconds_since_previous in (0.2, 0.4, 0.9, 1.5, 30):
        summary = summary_of(st.numeric)
        GapSummary.objects.filter(pk=summary.pk).update(
            requested_rev=summary.requested_rev + 1,
            pending=True,
            computed_at=timezone.now() - dt.timedelta(seconds=seconds_since_previous),
        )
        result = gap_summary_recompute(issue_id=st.numeric.pk, layer="declared")
        levels.append(result.coalesce_level)

    assert levels == [1, 2, 3, 4, 0]


@override_settings(GAP_RECOMPUTE_COALESCE_SECONDS=0.25, GAP_RECOMPUTE_COALESCE_MAX_SECONDS=8)
def test_follow_ups_of_a_steady_stream_of_writes_climb_to_the_longest_pause(numeric_pair):
    """While writes keep coming, each computation sends its follow-up the quiet time (0.5 s)
    later, which waits for the interval: every computation of the chain comes just after
    the longer of the two and counts as close, so the pause climbs instead of staying at
    its shortest (a computation every 0.55 s is a burst, not a series of isolated edits)."""
    st, _north, _south = numeric_pair
    GapSummary.objects.filter(issue=st.numeric).update(coalesce_level=0)
    levels = []
    for level in range(7):
        since_previous = max(coalesce_interval(level), 0.5) + 0.05
        summary = summary_of(st.numeric)
        GapSummary.objects.filter(pk=summary.pk).update(
            requested_rev=summary.requested_rev + 1,
            pending=True,
            computed_at=timezone.now() - dt.timedelta(seconds=since_previous),
        )
        levels.append(
            gap_summary_recompute(issue_id=st.numeric.pk, layer="declared").coalesce_level
        )

    assert levels == [1, 2, 3, 4, 5, 5, 5]
    assert coalesce_interval(levels[-1]) == 8


def test_the_sweep_brings_stale_summaries_current(numeric_pair):
    """A summary left pending (its task lost) is found and recomputed by the sweep."""
    st, _north, _south = numeric_pair
    summary = summary_of(st.numeric)
    GapSummary.objects.filter(pk=summary.pk).update(
        requested_rev=summary.requested_rev + 1, pending=True
    )

    assert sweep_stale_gap_summaries.delay().get() == 1

    assert_fresh_and_exact(summary_of(st.numeric))
    assert sweep_stale_gap_summaries.delay().get() == 0


def test_a_failed_write_leaves_no_stale_mark_and_sends_nothing(numeric_pair, committed):
    """The stale mark is part of the write's transaction; a rollback leaves no trace."""
    st, north, _south = numeric_pair
    before = summary_of(st.numeric)
    revisions = PositionRevision.objects.count()

    def failing_request():
        with transaction.atomic():
            update(st, north, red_line=33)
            raise RuntimeError("the request failed after the write")

    with committed() as callbacks, pytest.raises(RuntimeError):
        failing_request()

    assert callbacks == []

    after = summary_of(st.numeric)
    assert (after.requested_rev, after.pending) == (before.requested_rev, False)
    assert PositionRevision.objects.count() == revisions
