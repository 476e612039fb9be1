"""A synthetic data set at scale, written with bulk inserts (COPY for the revisions).

Each talk gets `issues` issues (numeric, ordinal and categorical in turn), `parties`
principals and a mediator, a position per issue x principal x layer, and a history of
revisions over three years that ends in the position's current state; `revisions` is the
number of revisions in all. One position (talk 0, first issue, first principal, declared)
takes `hot_share` of them, for the deep-history benchmark. Gap summaries are computed by the
pure engine and stored as current.

Idempotent per seed: a talk is written in one transaction under a slug derived from the
seed, and a talk that exists already is skipped, so a run that was stopped resumes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb
from tqdm import tqdm

from issues import gaps
from issues.models import GapSummary, GapSummaryHistory, Issue, IssueOption, Layer
from issues.services import gap_summaries_ensure
from positions.models import Interface, Position, PositionAcceptableOption
from talks.models import Membership, Party, Talk, TalkParty
from talks.services import talk_touch

HISTORY_YEARS = 3
OPTION_COUNT = 5
KINDS = ("numeric", "ordinal", "categorical")
BENCH_USER = "bench"
BENCH_PASSWORD = "bench-password-not-for-production"  # noqa: S105 (synthetic data set)
REVISION_COLUMNS = (
    "position_id",
    "issue_id",
    "party_id",
    "layer",
    "version",
    "action",
    "snapshot",
    "changes",
    "note",
    "by_id",
    "via",
    "created_at",
)


def talk_slug(seed: int, n: int) -> str:
    return f"bench-s{seed}-t{n:04d}"


@dataclass
class _State:
    demand: float | str
    red_line: float | str | None
    acceptable: tuple[str, ...]

    def snapshot(self, priority: int) -> dict[str, Any]:
        return {
            "demand": self.demand,
            "red_line": self.red_line,
            "acceptable": list(self.acceptable),
            "priority": priority,
            "rationale": "Synthetic position for benchmarks.",
            "conditions": "",
            "links": [],
            "confidence": "medium",
            "status": "assessment",
            "sources": [],
            "deleted": False,
        }


def _walk(rng: random.Random, kind: str, keys: list[str], steps: int) -> list[_State]:
    """`steps` successive states of one position: the red line drifts, the demand holds."""
    states = []
    if kind == "numeric":
        demand = round(rng.uniform(0, 100), 1)
        red_line = demand
        for _ in range(steps):
            red_line = round(min(100.0, max(0.0, red_line + rng.uniform(-15, 15))), 1)
            states.append(_State(demand, red_line, ()))
    elif kind == "ordinal":
        demand_i = rng.randrange(len(keys))
        red_i = demand_i
        for _ in range(steps):
            red_i = min(len(keys) - 1, max(0, red_i + rng.choice((-1, 0, 1))))
            states.append(_State(keys[demand_i], keys[red_i], ()))
    else:
        demand_key = rng.choice(keys)
        for _ in range(steps):
            extra = rng.sample(keys, rng.randrange(0, 3))
            acceptable = tuple(k for k in keys if k == demand_key or k in extra)
            states.append(_State(demand_key, None, acceptable))
    return states


def _times(rng: random.Random, count: int, now: dt.datetime) -> list[dt.datetime]:
    start = now - dt.timedelta(days=365 * HISTORY_YEARS)
    span = (now - start).total_seconds() - 3600
    return sorted(start + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(count))


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), after.get(k)] for k in after if before.get(k) != after.get(k)}


def _shared_parties(count: int) -> tuple[list[Party], Party]:
    principals = [
        Party.objects.get_or_create(name=f"Bench principal {i + 1:02d}")[0] for i in range(count)
    ]
    mediator = Party.objects.get_or_create(name="Bench mediator")[0]
    return principals, mediator


def _bench_user():
    user_model = get_user_model()
    user = user_model.objects.filter(username=BENCH_USER).first()
    if user is None:
        user = user_model.objects.create_user(username=BENCH_USER, password=BENCH_PASSWORD)
    return user


def generate(
    *,
    talks: int,
    issues: int,
    parties: int,
    revisions: int,
    hot_share: float = 0.05,
    seed: int = 1,
    out=sys.stdout,
) -> dict[str, int]:
    if connection.vendor != "postgresql":
        raise SystemExit("bench generate writes with COPY: set DATABASE_URL to PostgreSQL.")
    if min(talks, issues, parties) < 1 or parties < 2:
        raise SystemExit("Need at least 1 talk, 1 issue and 2 parties.")
    positions_per_talk = issues * parties * len(Layer.values)
    total_positions = talks * positions_per_talk
    if revisions < total_positions:
        raise SystemExit(
            f"--revisions must be at least the number of positions ({total_positions:,})."
        )
    hot = max(1, int(revisions * hot_share))
    per_position, remainder = divmod(revisions - hot, max(1, total_positions - 1))

    def steps_for(g: int) -> int:
        """Revisions of the g-th position of the whole data set (the first is the hot one)."""
        if g == 0:
            return hot
        return max(1, per_position + (1 if g - 1 < remainder else 0))

    user = _bench_user()
    principals, mediator = _shared_parties(parties)
    now = timezone.now()
    written = skipped = 0
    total = sum(steps_for(g) for g in range(total_positions))
    bar = tqdm(total=total, unit="rev", unit_scale=True, desc="revisions", file=out)
    for t in range(talks):
        slug = talk_slug(seed, t)
        first = t * positions_per_talk
        existing = Talk.objects.filter(slug=slug).first()
        if existing is not None:
            found = Issue.objects.filter(talk=existing).count()
            if found != issues:
                print(
                    f"{slug} exists with {found} issues, not {issues}: kept as it is "
                    "(use another --seed for a data set of another shape)",
                    file=out,
                )
            skipped += 1
            bar.update(sum(steps_for(g) for g in range(first, first + positions_per_talk)))
            continue
        rng = random.Random(seed * 1_000_003 + t)
        with transaction.atomic():
            _write_talk(
                rng=rng,
                slug=slug,
                title=f"Benchmark talk {t + 1} (seed {seed})",
                issues=issues,
                principals=principals,
                mediator=mediator,
                user=user,
                now=now,
                steps=[steps_for(g) for g in range(first, first + positions_per_talk)],
                bar=bar,
            )
        written += 1
    bar.close()
    if written:
        # Fresh planner statistics: without them PostgreSQL plans the bulk-loaded tables as
        # if they were empty (sequential scans where an index answers in microseconds).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"Talks written: {written}, already there: {skipped} "
        f"({talks * issues:,} issues, {total_positions:,} positions, {revisions:,} revisions; "
        f"seed {seed}). Bench login: {BENCH_USER} / {BENCH_PASSWORD}",
        file=out,
    )
    return {"written": written, "skipped": skipped}


def _write_talk(
    *,
    rng: random.Random,
    slug: str,
    title: str,
    issues: int,
    principals: list[Party],
    mediator: Party,
    user,
    now: dt.datetime,
    steps: list[int],
    bar: tqdm,
) -> int:
    talk = Talk.objects.create(slug=slug, title=title, status=Talk.Status.ACTIVE)
    TalkParty.objects.bulk_create(
        [TalkParty(talk=talk, party=p, role=TalkParty.Role.PRINCIPAL) for p in principals]
        + [TalkParty(talk=talk, party=mediator, role=TalkParty.Role.MEDIATOR)]
    )
    Membership.objects.create(talk=talk, user=user, role=Membership.Role.ANALYST)
    # A new revision token once this commits: a cache that outlived an earlier data set under
    # the same talk id (a database dropped and generated again) cannot serve its pages.
    talk_touch(talk_id=talk.pk)
    issue_rows = Issue.objects.bulk_create(
        [
            Issue(
                talk=talk,
                key=f"issue-{i + 1:03d}",
                title=f"Issue {i + 1}",
                priority=rng.randint(1, 5),
                order=i,
                scale_kind=KINDS[i % 3],
                scale_min=0.0 if KINDS[i % 3] == "numeric" else None,
                scale_max=100.0 if KINDS[i % 3] == "numeric" else None,
                unit="units" if KINDS[i % 3] == "numeric" else "",
            )
            for i in range(issues)
        ]
    )
    options = IssueOption.objects.bulk_create(
        IssueOption(issue=issue, key=f"o{k + 1}", label=f"Option {k + 1}", order=k)
        for issue in issue_rows
        if issue.scale_kind != "numeric"
        for k in range(OPTION_COUNT)
    )
    options_by_issue: dict[int, dict[str, IssueOption]] = {}
    for option in options:
        options_by_issue.setdefault(option.issue_id, {})[option.key] = option
    gap_summaries_ensure(issues=issue_rows)

    plans: list[tuple[Position, list[_State], int]] = []
    counts = iter(steps)
    for issue in issue_rows:
        keys = list(options_by_issue.get(issue.pk, {}))
        for layer in Layer.values:
            for party in principals:
                states = _walk(rng, issue.scale_kind, keys, next(counts))
                final = states[-1]
                opts = options_by_issue.get(issue.pk, {})
                numeric = issue.scale_kind == "numeric"
                position = Position(
                    issue=issue,
                    party=party,
                    layer=layer,
                    demand_value=final.demand if numeric else None,
                    demand_option=None if numeric else opts[str(final.demand)],
                    red_line_value=final.red_line if numeric else None,
                    red_line_option=(
                        opts[str(final.red_line)] if issue.scale_kind == "ordinal" else None
                    ),
                    priority=rng.randint(1, 5),
                    confidence="medium",
                    status="assessment",
                    rationale="Synthetic position for benchmarks.",
                    version=len(states),
                    updated_at=now,
                    updated_by=user,
                    updated_via=Interface.IMPORT,
                )
                plans.append((position, states, issue.pk))
    Position.objects.bulk_create([p for p, _, _ in plans])
    PositionAcceptableOption.objects.bulk_create(
        PositionAcceptableOption(position=p, option=options_by_issue[issue_id][key])
        for p, states, issue_id in plans
        for key in states[-1].acceptable
    )
    count = _copy_revisions(rng, plans, user.pk, now, bar)
    _store_summaries(talk, issue_rows, plans, principals, options_by_issue, now)
    return count


def _revision_rows(
    rng: random.Random, plans: list[tuple[Position, list[_State], int]], user_id: int, now
) -> Iterator[tuple[Any, ...]]:
    for position, states, _ in plans:
        times = _times(rng, len(states), now)
        before: dict[str, Any] = {}
        for version, (state, at) in enumerate(zip(states, times, strict=True), start=1):
            snap = state.snapshot(position.priority)
            yield (
                position.pk,
                position.issue_id,
                position.party_id,
                position.layer,
                version,
                "create" if version == 1 else "update",
                Jsonb(snap),
                Jsonb(_diff(before, snap)),
                "Synthetic revision.",
                user_id,
                Interface.IMPORT.value,
                at,
            )
            before = snap
        # The row's updated_at is the time of its latest revision.
        position.updated_at = times[-1]


def _copy_revisions(rng, plans, user_id: int, now, bar: tqdm) -> int:
    sql = f"COPY positions_positionrevision ({', '.join(REVISION_COLUMNS)}) FROM STDIN"
    count = 0
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in _revision_rows(rng, plans, user_id, now):
            copy.write_row(row)
            count += 1
            if count % 5000 == 0:
                bar.update(5000)
    bar.update(count % 5000)
    Position.objects.bulk_update([p for p, _, _ in plans], ["updated_at"], batch_size=2000)
    return count


def _store_summaries(talk, issue_rows, plans, principals, options_by_issue, now) -> None:
    names = tuple(p.name for p in principals)
    party_name = {p.pk: p.name for p in principals}
    by_issue_layer: dict[tuple[int, str], list[gaps.PartyPosition]] = {}
    for position, states, issue_id in plans:
        final = states[-1]
        by_issue_layer.setdefault((issue_id, position.layer), []).append(
            gaps.PartyPosition(
                party=party_name[position.party_id],
                demand=final.demand,
                red_line=final.red_line,
                acceptable=frozenset(final.acceptable),
                priority=position.priority,
                version=position.version,
            )
        )
    summaries = {(s.issue_id, s.layer): s for s in GapSummary.objects.filter(issue__talk=talk)}
    history = []
    for issue in issue_rows:
        scale = gaps.Scale(
            kind=gaps.ScaleKind(issue.scale_kind),
            minimum=issue.scale_min,
            maximum=issue.scale_max,
            unit=issue.unit,
            options=tuple(
                gaps.Option(o.key, o.label) for o in options_by_issue.get(issue.pk, {}).values()
            ),
        )
        for layer in Layer.values:
            result = gaps.compute_issue(
                gaps.IssueInput(
                    key=issue.key,
                    title=issue.title,
                    priority=issue.priority,
                    scale=scale,
                    principals=names,
                    positions=tuple(by_issue_layer.get((issue.pk, layer), ())),
                )
            )
            summary = summaries[(issue.pk, layer)]
            figures = json.loads(json.dumps(result.to_dict()))
            summary.status = result.status
            summary.gap = result.gap
            summary.zone_width = result.zone_width
            summary.demand_spread = result.demand_spread
            summary.narrative = result.narrative
            summary.figures = figures
            summary.position_versions = dict(result.versions)
            summary.requested_rev = summary.computed_rev = 1
            summary.pending = False
            summary.computed_at = summary.figures_changed_at = now
            summary.trend = {"direction": "new", "delta": 0.0, "since": now.isoformat()}
            history.append(
                GapSummaryHistory(
                    issue=issue,
                    layer=layer,
                    rev=1,
                    status=result.status,
                    gap=result.gap,
                    zone_width=result.zone_width,
                    demand_spread=result.demand_spread,
                    narrative=result.narrative,
                    figures=figures,
                    position_versions=summary.position_versions,
                    computed_at=now,
                )
            )
    GapSummary.objects.bulk_update(
        list(summaries.values()),
        [
            "status",
            "gap",
            "zone_width",
            "demand_spread",
            "narrative",
            "figures",
            "position_versions",
            "requested_rev",
            "computed_rev",
            "pending",
            "computed_at",
            "figures_changed_at",
            "trend",
        ],
    )
    GapSummaryHistory.objects.bulk_create(history)
