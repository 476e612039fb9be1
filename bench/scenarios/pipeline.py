"""Freshness (an edit until its gap summary is fresh) and coalescing (a burst of edits).

Edits go through positions.services.position_update in this process, exactly as a page or
the API makes them; the real Celery worker does the recomputation. Freshness is measured
from the moment the edit's transaction commits to the moment this process sees the
summary row fresh (computed_rev at least the edit's requested_rev, not pending), polling
the row every POLL_SECONDS. Its floor is the round trip of a no-op Celery task over the
same Redis, measured in turn with the edits.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction

from ..stats import Figure, percentile

POLL_SECONDS = 0.0005
WAIT_TIMEOUT = 60.0
NOTE = "Benchmark edit."


class Timeout(RuntimeError):
    pass


@dataclass
class Target:
    position_id: int
    issue_id: int
    layer: str
    summary_id: int


def _moved(position, rng: random.Random):
    """The position with its red line (or acceptable set) moved: a real change, still valid."""
    from issues.models import ScaleKind
    from positions.services import position_input_from

    data = position_input_from(position)
    issue = position.issue
    keys = [o.key for o in issue.options.all()]
    if issue.scale_kind == ScaleKind.NUMERIC:
        low, high = issue.scale_min, issue.scale_max
        value = data.red_line
        while value == data.red_line:
            value = round(rng.uniform(low, high), 1)
        return data.with_changes(red_line=value)
    if issue.scale_kind == ScaleKind.ORDINAL:
        choices = [k for k in keys if k != data.red_line]
        return data.with_changes(red_line=rng.choice(choices))
    others = [k for k in keys if k != data.demand]
    acceptable = data.acceptable
    while acceptable == data.acceptable:
        acceptable = frozenset({data.demand, *rng.sample(others, rng.randrange(0, 3))})
    return data.with_changes(acceptable=acceptable)


def _position(position_id: int):
    from positions.models import Position

    return (
        Position.objects.select_related("issue", "party", "demand_option", "red_line_option")
        .prefetch_related("acceptable_options", "sources", "issue__options")
        .get(pk=position_id)
    )


def edit(position, rng: random.Random, user) -> tuple[float, int, object]:
    """Commit one edit of `position`; (the moment it committed, its requested_rev, the
    position as saved)."""
    from issues.models import GapSummary
    from positions.models import Interface
    from positions.services import position_update

    data = _moved(position, rng)
    committed: list[float] = []
    with transaction.atomic():
        # Registered first, so it runs first at commit: before the task is sent.
        transaction.on_commit(lambda: committed.append(time.perf_counter()))
        saved = position_update(
            position=position,
            based_on_version=position.version,
            data=data,
            by=user,
            via=Interface.IMPORT,
            note=NOTE,
        )
        rev = (
            GapSummary.objects.filter(issue_id=position.issue_id, layer=position.layer)
            .values_list("requested_rev", flat=True)
            .get()
        )
    return committed[0], rev, saved


def wait_fresh(summary_id: int, rev: int, timeout: float = WAIT_TIMEOUT) -> float:
    """Poll the summary row until it is fresh for `rev`; the moment it was seen so."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT computed_rev, pending FROM issues_gapsummary WHERE id = %s", [summary_id]
            )
            computed_rev, pending = cursor.fetchone()
            if computed_rev >= rev and not pending:
                return time.perf_counter()
            if time.monotonic() > deadline:
                raise Timeout(
                    f"summary {summary_id} not fresh for rev {rev} after {timeout:.0f}s "
                    f"(computed_rev {computed_rev}, pending {pending}): is the worker running?"
                )
            time.sleep(POLL_SECONDS)


def freshness_targets(*, talk_slugs: list[str], count: int) -> list[Target]:
    """One declared position per issue, over as many issues as edits (so each edit is an
    isolated one for its summary, as when many analysts each edit their own issue)."""
    from issues.models import GapSummary, Layer
    from positions.models import Position

    rows = list(
        Position.objects.filter(
            issue__talk__slug__in=talk_slugs, layer=Layer.DECLARED, deleted_at__isnull=True
        )
        .order_by("issue__talk__slug", "issue__order", "party__name")
        .values_list("pk", "issue_id")
    )
    first_per_issue: dict[int, int] = {}
    for pk, issue_id in rows:
        first_per_issue.setdefault(issue_id, pk)
    summary_of = dict(
        GapSummary.objects.filter(issue_id__in=first_per_issue, layer=Layer.DECLARED).values_list(
            "issue_id", "pk"
        )
    )
    targets = [
        Target(pk, issue_id, Layer.DECLARED, summary_of[issue_id])
        for issue_id, pk in first_per_issue.items()
    ]
    if len(targets) < count:
        raise RuntimeError(
            f"freshness needs {count} issues in {', '.join(talk_slugs)}, found {len(targets)}"
        )
    return targets[:count]


def noop_round_trip() -> float:
    """Seconds for one no-op task: sent, run by the worker, its result back."""
    from ..worker import noop

    started = time.perf_counter()
    noop.apply_async().get(timeout=WAIT_TIMEOUT)
    return time.perf_counter() - started


def freshness_figures(
    *, targets: list[Target], user, progress: Callable[[str], None]
) -> list[Figure]:
    rng = random.Random(20)
    for _ in range(5):  # the result consumer and connections, warmed up
        noop_round_trip()
    floor_ms, fresh_ms = [], []
    for i, target in enumerate(targets):
        if i % 10 == 0:
            progress(f"freshness: edit {i + 1}/{len(targets)}")
        floor_ms.append(noop_round_trip() * 1000)
        position = _position(target.position_id)
        # Whatever a previous run left pending on this summary is out of the way first.
        wait_fresh(target.summary_id, 0)
        committed, rev, _ = edit(position, rng, user)
        seen = wait_fresh(target.summary_id, rev)
        fresh_ms.append((seen - committed) * 1000)
    floor_p50 = percentile(floor_ms, 50)
    fresh = Figure.of(
        "freshness",
        "edit committed -> summary fresh",
        "ms",
        fresh_ms,
        note=(
            f"{len(fresh_ms)} edits through position_update, each on its own issue; the row "
            f"is polled every {POLL_SECONDS * 1000:.1f} ms"
        ),
    )
    floor = Figure.of(
        "freshness",
        "floor: no-op Celery task round trip",
        "ms",
        floor_ms,
        note="bench.noop sent, run by the same worker, result back over the same Redis",
    )
    ratio = fresh.median / floor_p50
    fresh.target = f"p50 <= 5x floor ({5 * floor_p50:.1f}); p99 < 250"
    fresh.met = ratio <= 5 and fresh.p99 < 250
    return [
        fresh,
        floor,
        Figure.single(
            "freshness",
            "ratio p50 fresh / p50 floor",
            "x",
            ratio,
            target="<= 5",
            met=ratio <= 5,
        ),
    ]


def _exact(issue_id: int, layer: str) -> bool:
    """Whether the stored summary equals a computation from scratch of the current positions."""
    from issues import gaps
    from issues.models import GapSummary
    from issues.selectors import issue_gap_input

    stored = GapSummary.objects.filter(issue_id=issue_id, layer=layer).values_list(
        "figures", flat=True
    )[0]
    fresh = json.loads(
        json.dumps(gaps.compute_issue(issue_gap_input(issue_id=issue_id, layer=layer)).to_dict())
    )
    return stored == fresh


def coalescing_figures(
    *,
    issue_id: int,
    layer: str,
    updates: int,
    writers: int,
    user,
    progress: Callable[[str], None],
) -> list[Figure]:
    from issues.models import GapSummary
    from positions.models import Position

    summary = GapSummary.objects.get(issue_id=issue_id, layer=layer)
    wait_fresh(summary.pk, summary.requested_rev)
    position_ids = list(
        Position.objects.filter(issue_id=issue_id, layer=layer, deleted_at__isnull=True)
        .order_by("party__name")
        .values_list("pk", flat=True)
    )
    count_before = GapSummary.objects.get(pk=summary.pk).compute_count
    per_writer = [position_ids[w::writers] for w in range(writers)]
    done = [0]
    last_commit = [0.0]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(w: int, share: int) -> None:
        rng = random.Random(1000 + w)
        try:
            positions = [_position(pk) for pk in per_writer[w]]
            for i in range(share):
                position = positions[i % len(positions)]
                committed, _, saved = edit(position, rng, user)
                # The saved row carries the new version; its issue keeps the prefetched options.
                saved.issue = position.issue
                positions[i % len(positions)] = saved
                with lock:
                    done[0] += 1
                    last_commit[0] = max(last_commit[0], committed)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    shares = [updates // writers + (1 if w < updates % writers else 0) for w in range(writers)]
    threads = [
        threading.Thread(target=writer, args=(w, shares[w]), daemon=True) for w in range(writers)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(0.5)
        progress(f"coalescing: {done[0]}/{updates} edits sent")
    if errors:
        raise errors[0]
    sent_s = last_commit[0] - started
    final_rev = GapSummary.objects.get(pk=summary.pk).requested_rev
    wait_fresh(summary.pk, final_rev)
    while not _exact(issue_id, layer):
        if time.perf_counter() - last_commit[0] > WAIT_TIMEOUT:
            raise Timeout("the summary did not become exact")
        time.sleep(POLL_SECONDS)
    exact_ms = (time.perf_counter() - last_commit[0]) * 1000
    computations = GapSummary.objects.get(pk=summary.pk).compute_count - count_before
    return [
        Figure.single(
            "coalescing",
            f"recomputations for {updates:,} edits of one issue",
            "runs",
            computations,
            target="<= 20",
            met=computations <= 20,
            note=(
                f"{writers} writers in threads, {updates / sent_s:.0f} edits/s over "
                f"{sent_s:.1f} s; GapSummary.compute_count before and after"
            ),
        ),
        Figure.single(
            "coalescing",
            "last edit committed -> summary exact",
            "ms",
            exact_ms,
            note="exact: equal to compute_issue on issue_gap_input, read afresh",
        ),
    ]
