"""The recomputation pipeline on the real services: Redis, PostgreSQL and a `celery worker`.

Writes go through the position services exactly as the pages and the API make them; the
worker process (tests/worker.py) computes. Run with `-s` to see the measured figures.
"""

import io
import os
import signal
import statistics
import threading
import time

import pytest
from django.db import connection, transaction

from issues import gaps, selectors
from issues.models import GapSummary, GapSummaryHistory
from issues.services import gap_summary_recompute
from issues.tasks import recompute_issue_gap, sweep_stale_gap_summaries
from positions.models import Interface, Position, PositionRevision
from positions.services import PositionInput, position_create, position_update
from talks.dashboard import talk_dashboard
from tests.factories import (
    IssueFactory,
    PartyFactory,
    TalkFactory,
    TalkPartyFactory,
    UserFactory,
)

pytestmark = pytest.mark.worker


def from_scratch(summary: GapSummary) -> dict:
    """What the engine says now, from the current positions: the figures to compare with."""
    issue_input = selectors.issue_gap_input(issue_id=summary.issue_id, layer=summary.layer)
    return gaps.compute_issue(issue_input).to_dict()


def assert_exact(summary: GapSummary) -> None:
    expected = from_scratch(summary)
    assert summary.figures == expected
    assert summary.status == expected["status"]
    assert summary.gap == expected["gap"]
    assert summary.narrative == expected["narrative"]


def numeric_talk(issues: int = 1):
    talk = TalkFactory()
    north, south = PartyFactory(name="North"), PartyFactory(name="South")
    TalkPartyFactory(talk=talk, party=north)
    TalkPartyFactory(talk=talk, party=south)
    analyst = UserFactory(username="pipeline-analyst")
    made = [
        IssueFactory(talk=talk, key=f"truce-{i}", title=f"Truce {i}", unit="days")
        for i in range(issues)
    ]
    return talk, north, south, analyst, made


def create(issue, party, analyst, demand, red_line, layer="declared"):
    return position_create(
        issue=issue,
        party=party,
        layer=layer,
        data=PositionInput(demand=demand, red_line=red_line),
        by=analyst,
        via=Interface.API,
        note="opening estimate",
    )


def move(position, red_line):
    """An analyst moves a party's red line (a new version, through the service)."""
    return position_update(
        position=position,
        based_on_version=position.version,
        data=PositionInput(demand=position.demand_value, red_line=red_line),
        by=position.updated_by,
        via=Interface.API,
        note="moved",
    )


def declared(issue) -> GapSummary:
    return GapSummary.objects.get(issue=issue, layer="declared")


def recompute_messages(messages, issue) -> list:
    """The recompute_issue_gap messages among raw broker messages, for one issue."""
    return [
        m
        for m in messages
        if m["headers"]["task"] == recompute_issue_gap.name
        and m["headers"]["argsrepr"].startswith(f"({issue.pk}, ")
    ]


def test_an_edit_committed_through_the_service_is_computed_by_the_worker(real_worker):
    """Both principals' positions commit; the worker makes the summary fresh and exact."""
    _talk, north, south, analyst, (issue,) = numeric_talk()
    create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)

    declared, assessed = (
        s for s in sorted(real_worker.wait_until_fresh(issue), key=lambda s: s.layer != "declared")
    )
    assert declared.requested_rev == declared.computed_rev >= 1
    assert declared.status == "gap"
    assert declared.gap == pytest.approx(0.2)
    assert_exact(declared)
    # Nothing was written on the assessed layer: it was not recomputed.
    assert assessed.requested_rev == assessed.computed_rev == 0


def test_isolated_edits_are_fresh_promptly_and_exact(real_worker):
    """Commit to fresh summary, measured over 24 edits of 24 different summaries."""
    talk, north, south, analyst, issues = numeric_talk(issues=12)
    souths = []
    for issue in issues:
        with transaction.atomic():
            for layer in ("declared", "assessed"):
                create(issue, north, analyst, 10, 40, layer=layer)
                souths.append(create(issue, south, analyst, 90, 60, layer=layer))
    real_worker.wait_until_fresh(talk)
    time.sleep(0.5)  # the edits below come long after these computations: no coalescing

    latencies = []
    committed_at: list[float] = []
    for position in souths:
        with transaction.atomic():
            # Runs at the commit itself, before the write's own callback sends the task.
            transaction.on_commit(lambda: committed_at.append(time.perf_counter()))
            move(position, 55)
        summary = GapSummary.objects.get(issue_id=position.issue_id, layer=position.layer)
        (summary,) = real_worker.wait_until_fresh(summary, interval=0.002)
        latencies.append(time.perf_counter() - committed_at[-1])
        assert summary.status == "gap"
        assert summary.gap == pytest.approx(0.15)
        assert_exact(summary)

    median = statistics.median(latencies) * 1000
    p95 = statistics.quantiles(latencies, n=20)[18] * 1000
    print(
        f"\ncommit to fresh summary over {len(latencies)} isolated edits: "
        f"median {median:.1f} ms, p95 {p95:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )


def test_a_burst_of_1000_edits_costs_at_most_20_recomputations(real_worker):
    _talk, north, south, analyst, (issue,) = numeric_talk()
    mover = create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(issue)
    before = declared(issue)

    started = time.perf_counter()
    for step in range(1000):
        mover = move(mover, 30 + step % 40)  # every step changes the red line
    burst = time.perf_counter() - started
    last_commit = time.perf_counter()
    real_worker.wait_until_fresh(issue)
    settled = time.perf_counter() - last_commit

    summary = declared(issue)
    computations = summary.compute_count - before.compute_count
    print(
        f"\n1,000 edits in {burst:.1f} s cost {computations} recomputations; "
        f"fresh {settled * 1000:.0f} ms after the last commit"
    )
    assert summary.requested_rev == summary.computed_rev == before.requested_rev + 1000
    assert_exact(summary)
    assert 1 <= computations <= 20
    revs = list(
        GapSummaryHistory.objects.filter(issue=issue, layer="declared")
        .order_by("computed_at")
        .values_list("rev", flat=True)
    )
    assert revs == sorted(set(revs))
    assert revs[-1] == summary.computed_rev


def test_with_the_broker_unreachable_edits_commit_and_the_sweep_catches_up(real_worker):
    talk, north, south, analyst, (issue,) = numeric_talk()
    mover = create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(issue)
    before = declared(issue)
    revisions = PositionRevision.objects.count()

    with real_worker.broker_unreachable():
        mover = move(mover, 45)
        mover = move(mover, 50)
        create(issue, north, analyst, 20, 70, layer="assessed")
        create(issue, south, analyst, 80, 50, layer="assessed")

    # Every write committed, with its revision.
    assert Position.objects.get(pk=mover.pk).red_line_value == 50
    assert Position.objects.get(pk=mover.pk).version == 3
    assert PositionRevision.objects.count() == revisions + 4
    # Nothing reached the worker: the summaries are stale and say so.
    assert real_worker.wait_idle()
    stale = declared(issue)
    assert stale.pending
    assert (stale.requested_rev, stale.computed_rev) == (
        before.requested_rev + 2,
        before.computed_rev,
    )
    assert stale.compute_count == before.compute_count
    assert GapSummary.objects.get(issue=issue, layer="assessed").pending
    row = talk_dashboard(talk=talk, layer="declared").rows[0]
    assert row.summary.pending
    assert row.summary.gap == pytest.approx(0.2)  # the last computed figures, not new ones

    # The broker is back: beat's sweep re-sends both summaries and the worker catches up.
    sweep_stale_gap_summaries.delay()
    for summary in real_worker.wait_until_fresh(issue):
        assert_exact(summary)
    assert declared(issue).gap == pytest.approx(0.1)


def test_a_worker_killed_mid_recomputation_is_replaced_and_every_summary_converges(real_worker):
    talk, north, south, analyst, issues = numeric_talk(issues=3)
    movers = {}
    for issue in issues:
        movers[issue.pk] = create(issue, north, analyst, 10, 40)
        create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(talk)
    blocked, other, idle = issues

    with real_worker.side_connection() as side:
        # The recomputation will wait for this lock when it comes to store its result.
        side.execute(
            "SELECT id FROM issues_gapsummary WHERE id = %s FOR KEY SHARE", [declared(blocked).pk]
        )
        movers[blocked.pk] = move(movers[blocked.pk], 45)
        real_worker.wait_for(
            lambda: any("issues_gapsummary" in q for q in real_worker.waiting_on_locks()),
            what="the recomputation to wait for the summary's lock",
        )
        assert recompute_messages(
            [
                {"headers": {"task": t["name"], "argsrepr": repr(tuple(t["args"]))}}
                for t in real_worker.active_tasks()
            ],
            blocked,
        )
        movers[blocked.pk] = move(movers[blocked.pk], 48)  # pending already: sends nothing
        movers[other.pk] = move(movers[other.pk], 52)

        real_worker.kill()

        # Acknowledged late: the killed delivery is still held by the broker, not lost.
        assert recompute_messages(real_worker.unacked(), blocked)

    movers[idle.pk] = move(movers[idle.pk], 55)  # while no worker runs: it waits in the queue
    assert real_worker.queued() >= 1

    # A new worker takes the queue; its beat sweeps up what the killed one held.
    real_worker.start(beat=True)

    for summary in real_worker.wait_until_fresh(talk):
        if summary.layer == "declared":
            assert_exact(summary)
    assert declared(blocked).gap == pytest.approx(0.12)
    assert declared(other).gap == pytest.approx(0.08)
    assert declared(idle).gap == pytest.approx(0.05)


def test_a_pool_process_killed_mid_recomputation_has_its_task_delivered_again(real_worker):
    _talk, north, south, analyst, (issue,) = numeric_talk()
    mover = create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(issue)

    with real_worker.side_connection() as side:
        side.execute(
            "SELECT id FROM issues_gapsummary WHERE id = %s FOR KEY SHARE", [declared(issue).pk]
        )
        mover = move(mover, 45)
        real_worker.wait_for(real_worker.waiting_on_locks, what="the recomputation to wait")
        (task,) = real_worker.active_tasks()

        os.kill(task["worker_pid"], signal.SIGKILL)

        # Rejected on the lost process and delivered again, to a new pool process.
        real_worker.wait_for(
            lambda: [
                t
                for t in real_worker.active_tasks()
                if t["id"] == task["id"] and t["worker_pid"] != task["worker_pid"]
            ],
            what="the same task to run again in another process",
        )

    real_worker.wait_until_fresh(issue)
    summary = declared(issue)
    assert_exact(summary)
    assert summary.gap == pytest.approx(0.15)
    assert real_worker.running


def test_an_older_computation_finishing_last_leaves_the_newer_result(real_worker):
    """Out of order: the worker computes revision r and is held up; revision r + 1 is
    written, computed and stored meanwhile; the older result arrives last and is refused."""
    _talk, north, south, analyst, (issue,) = numeric_talk()
    mover = create(issue, north, analyst, 10, 40)
    southern = create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(issue)
    before = declared(issue)
    with real_worker.broker_unreachable():
        move(mover, 45)  # revision r; its task is sent by hand below
    locked, go, newer = threading.Event(), threading.Event(), {}

    def write_and_compute_the_next_revision():
        # This thread's connection locks the principals' table, which every computation
        # reads: the worker's waits, while this transaction writes revision r + 1 (the
        # position guard reads that table too) and computes and stores it.
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("LOCK TABLE talks_talkparty IN ACCESS EXCLUSIVE MODE")
                locked.set()
                go.wait(60)
                move(southern, 55)
                newer["result"] = gap_summary_recompute(issue_id=issue.pk, layer="declared")
        finally:
            connection.close()

    writer = threading.Thread(target=write_and_compute_the_next_revision)
    writer.start()
    try:
        assert locked.wait(10)
        recompute_issue_gap.delay(issue.pk, "declared")
        real_worker.wait_for(
            lambda: any("talks_talkparty" in q for q in real_worker.waiting_on_locks()),
            what="the worker's computation of revision r to wait for the principals",
        )
    finally:
        go.set()
        writer.join(60)

    assert newer["result"].stored
    assert newer["result"].rev == before.requested_rev + 2
    assert real_worker.wait_idle()
    summary = declared(issue)
    # The worker's computation of revision r ran to the end and was not stored.
    assert summary.compute_count == before.compute_count + 2
    assert summary.computed_rev == summary.requested_rev == before.requested_rev + 2
    assert not summary.pending
    assert_exact(summary)
    assert summary.gap == pytest.approx(0.1)  # North up to 45, South down to 55
    assert not GapSummaryHistory.objects.filter(
        issue=issue, layer="declared", rev=before.requested_rev + 1
    ).exists()


def test_duplicate_and_late_deliveries_leave_the_summary_exact(real_worker):
    _talk, north, south, analyst, (issue,) = numeric_talk()
    mover = create(issue, north, analyst, 10, 40)
    create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(issue)
    current = declared(issue)

    # Deliveries of a current summary, some late: nothing to compute, nothing changes.
    for _ in range(5):
        recompute_issue_gap.delay(issue.pk, "declared")
    for delay in (0.2, 0.4, 0.6):
        recompute_issue_gap.apply_async((issue.pk, "declared"), {"after_rev": 0}, countdown=delay)
    assert real_worker.wait_idle()
    after = declared(issue)
    assert (after.compute_count, after.computed_at, after.figures) == (
        current.compute_count,
        current.computed_at,
        current.figures,
    )

    # Edits with duplicates and stale deliveries among them, some arriving late.
    for step in range(20):
        mover = move(mover, 41 + step)
        recompute_issue_gap.delay(issue.pk, "declared")
        recompute_issue_gap.apply_async(
            (issue.pk, "declared"), {"after_rev": step}, countdown=(step % 4) * 0.1
        )
    real_worker.wait_until_fresh(issue)
    assert real_worker.wait_idle()

    summary = declared(issue)
    assert summary.computed_rev == summary.requested_rev == current.requested_rev + 20
    assert_exact(summary)
    assert summary.gap == pytest.approx(0.0)  # North up to 60, South down to 60: a zone
    stored = list(
        GapSummaryHistory.objects.filter(issue=issue, layer="declared")
        .order_by("computed_at")
        .values_list("rev", flat=True)
    )
    assert stored == sorted(set(stored)), "a summary was replaced by an older one"


def test_the_worker_recovers_from_a_lost_database_connection(real_worker):
    """A database restart cuts the worker's connections: every pool process notices at its
    next task and reconnects, and no task fails or has to be retried for it."""
    _talk, north, south, analyst, issues = numeric_talk(issues=4)
    movers = [create(issue, north, analyst, 10, 40) for issue in issues]
    for issue in issues:
        create(issue, south, analyst, 90, 60)
    real_worker.wait_until_fresh(*issues)
    log_size = real_worker.log_size()

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (terminated,) = cursor.fetchone()
    assert terminated >= 1
    for mover in movers:
        move(mover, 45)

    real_worker.wait_until_fresh(*issues, timeout=15)
    for issue in issues:
        assert_exact(declared(issue))
        assert declared(issue).gap == pytest.approx(0.15)
    logged = real_worker.log_since(log_size)
    assert "succeeded" in logged
    assert "Retry in" not in logged
    assert "OperationalError" not in logged


def test_the_demo_talk_loaded_with_a_worker_has_current_exact_summaries(real_worker):
    """load_demo commits and returns; the worker computes both layers of all five issues."""
    from django.core.management import call_command

    from talks.models import Talk

    call_command("load_demo", stdout=io.StringIO())
    talk = Talk.objects.get(slug="gaza-ceasefire")

    summaries = real_worker.wait_until_fresh(talk)

    assert sorted((s.issue.key, s.layer) for s in summaries) == sorted(
        (key, layer)
        for key in ("withdrawal", "prisoners", "governance", "aid", "ceasefire")
        for layer in ("declared", "assessed")
    )
    for summary in summaries:
        assert summary.computed_rev == summary.requested_rev > 0
        assert summary.narrative
        assert_exact(summary)
    withdrawal = declared(talk.issues.get(key="withdrawal"))
    assert withdrawal.status == "gap"
    assert "two steps apart" in withdrawal.narrative
