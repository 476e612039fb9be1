"""The talk dashboard as one read: every issue x principal for a layer, each issue's
summary and the talk-level roll-up, current or as it stood at a past moment.

Pages and the API both render this, so they cannot disagree. Its query count does not
depend on the number of issues, parties or revisions.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from issues import gaps
from issues.models import GapSummary, GapSummaryHistory, Issue, IssueOption, ScaleKind
from issues.selectors import issue_scale
from positions.models import Position, PositionRevision
from positions.services import position_snapshot

from .models import Party, Talk, TalkParty


@dataclass(frozen=True)
class PositionView:
    """One party's position on one issue, as plain values and display labels."""

    party_id: int
    party: str
    position_id: int
    version: int
    demand: float | str
    red_line: float | str | None
    acceptable: tuple[str, ...]
    priority: int
    confidence: str
    status: str
    rationale: str
    conditions: str
    updated_at: dt.datetime
    updated_by: str | None
    demand_label: str
    red_line_label: str
    source_ids: tuple[int, ...] = ()
    links: tuple[Mapping[str, Any], ...] = ()  # structured conditions (positions.services)


@dataclass(frozen=True)
class SummaryView:
    status: str
    gap: float | None
    zone_width: float | None
    demand_spread: float | None
    narrative: str
    figures: Mapping[str, Any]
    trend: Mapping[str, Any]
    pending: bool
    computed_at: dt.datetime | None
    computed_rev: int
    requested_rev: int

    @property
    def blocking_parties(self) -> tuple[str, ...]:
        blocking = self.figures.get("blocking") or {}
        if blocking.get("must_add"):
            return tuple(blocking["must_add"])
        return tuple(p for p in (blocking.get("high_side"), blocking.get("low_side")) if p)

    @property
    def trend_direction(self) -> str:
        return str(self.trend.get("direction", ""))

    @property
    def trend_delta(self) -> float | None:
        """How much the gap (or the zone's width) moved, as a share of the scale."""
        delta = self.trend.get("delta")
        return abs(float(delta)) if delta else None

    @property
    def trend_since(self) -> dt.datetime | None:
        since = self.trend.get("since")
        return dt.datetime.fromisoformat(since) if since else None


@dataclass(frozen=True)
class DashboardRow:
    issue: Issue
    cells: tuple[PositionView | None, ...]  # in the order of Dashboard.principals
    summary: SummaryView | None

    @property
    def options(self) -> Sequence[IssueOption]:
        return self.issue.options.all()


@dataclass(frozen=True)
class Dashboard:
    talk: Talk
    layer: str
    as_of: dt.datetime | None
    principals: tuple[Party, ...]
    rows: tuple[DashboardRow, ...]
    rollup: gaps.TalkRollup
    last_change: dt.datetime | None = None
    pending: bool = field(default=False)


def value_label(issue: Issue, scale: gaps.Scale, value: float | str | None) -> str:
    """A scale value as people say it: '60 days', 'permanent', an option's label."""
    if value is None:
        return ""
    if issue.scale_kind == ScaleKind.NUMERIC:
        return gaps.describe_value(scale, float(value))
    labels = {o.key: o.label for o in scale.options}
    return labels.get(str(value), str(value))


def _view(
    *,
    issue: Issue,
    scale: gaps.Scale,
    party: Party,
    position_id: int,
    version: int,
    snapshot: Mapping[str, Any],
    updated_at: dt.datetime,
    updated_by: str | None,
) -> PositionView:
    acceptable = tuple(snapshot.get("acceptable") or ())
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        labels = {o.key: o.label for o in scale.options}
        red_line_label = "; ".join(labels.get(k, k) for k in acceptable)
    else:
        red_line_label = value_label(issue, scale, snapshot.get("red_line"))
    return PositionView(
        party_id=party.pk,
        party=party.name,
        position_id=position_id,
        version=version,
        demand=snapshot["demand"],
        red_line=snapshot.get("red_line"),
        acceptable=acceptable,
        priority=int(snapshot.get("priority", 3)),
        confidence=snapshot.get("confidence", ""),
        status=snapshot.get("status", ""),
        rationale=snapshot.get("rationale", ""),
        conditions=snapshot.get("conditions", ""),
        updated_at=updated_at,
        updated_by=updated_by,
        demand_label=value_label(issue, scale, snapshot["demand"]),
        red_line_label=red_line_label,
        source_ids=tuple(snapshot.get("sources") or ()),
        links=tuple(snapshot.get("links") or ()),
    )


def _summary_view(row: GapSummary | GapSummaryHistory, *, current: bool) -> SummaryView:
    if current:
        assert isinstance(row, GapSummary)  # noqa: S101 (narrowing for the type checker)
        pending, computed_at = row.pending or row.is_stale, row.computed_at
        trend, computed_rev, requested_rev = row.trend, row.computed_rev, row.requested_rev
    else:
        pending, computed_at, trend = False, row.computed_at, {}
        computed_rev = requested_rev = row.rev
    return SummaryView(
        status=row.status,
        gap=row.gap,
        zone_width=row.zone_width,
        demand_spread=row.demand_spread,
        narrative=row.narrative,
        figures=row.figures or {},
        trend=trend or {},
        pending=pending,
        computed_at=computed_at,
        computed_rev=computed_rev,
        requested_rev=requested_rev,
    )


def _issues(talk: Talk, issue_keys: Sequence[str] | None) -> QuerySet[Issue]:
    qs = Issue.objects.filter(talk=talk).prefetch_related(
        Prefetch("options", queryset=IssueOption.objects.order_by("order"))
    )
    if issue_keys is not None:
        qs = qs.filter(key__in=issue_keys)
    return qs.order_by("order", "key")


def _current_positions(talk: Talk, layer: str, principal_ids: set[int]) -> list[Position]:
    return list(
        Position.objects.current()
        .filter(issue__talk=talk, layer=layer, party_id__in=principal_ids)
        .select_related("party", "demand_option", "red_line_option", "updated_by")
        .prefetch_related("acceptable_options", "sources")
    )


def revisions_as_of(*, talk: Talk, layer: str, as_of: dt.datetime) -> QuerySet[PositionRevision]:
    """The latest revision of every position of the talk and layer at `as_of`."""
    latest = (
        PositionRevision.objects.filter(position=OuterRef("position"), created_at__lte=as_of)
        .order_by("-version")
        .values("version")[:1]
    )
    return (
        PositionRevision.objects.filter(
            issue__talk=talk, layer=layer, created_at__lte=as_of, version=Subquery(latest)
        )
        .exclude(action=PositionRevision.Action.DELETE)
        .select_related("party", "by")
    )


def summaries_as_of(*, talk: Talk, layer: str, as_of: dt.datetime) -> QuerySet[GapSummaryHistory]:
    latest = (
        GapSummaryHistory.objects.filter(
            issue=OuterRef("issue"), layer=layer, computed_at__lte=as_of
        )
        .order_by("-computed_at", "-rev")
        .values("pk")[:1]
    )
    return GapSummaryHistory.objects.filter(issue__talk=talk, layer=layer, pk=Subquery(latest))


def talk_dashboard(
    *,
    talk: Talk,
    layer: str,
    as_of: dt.datetime | None = None,
    issue_keys: Sequence[str] | None = None,
) -> Dashboard:
    principals = tuple(
        tp.party
        for tp in TalkParty.objects.filter(talk=talk, role=TalkParty.Role.PRINCIPAL)
        .select_related("party")
        .order_by("party__name")
    )
    principal_ids = {p.pk for p in principals}
    issues = list(_issues(talk, issue_keys))
    scales = {issue.pk: issue_scale(issue=issue) for issue in issues}
    by_issue: dict[int, dict[int, PositionView]] = {issue.pk: {} for issue in issues}
    issue_by_id = {issue.pk: issue for issue in issues}
    last_change: dt.datetime | None = None

    if as_of is None:
        for p in _current_positions(talk, layer, principal_ids):
            if p.issue_id not in by_issue:
                continue
            issue = issue_by_id[p.issue_id]
            by_issue[p.issue_id][p.party_id] = _view(
                issue=issue,
                scale=scales[issue.pk],
                party=p.party,
                position_id=p.pk,
                version=p.version,
                snapshot=position_snapshot(p),
                updated_at=p.updated_at,
                updated_by=p.updated_by.get_username() if p.updated_by else None,
            )
        summary_rows: dict[int, SummaryView] = {
            s.issue_id: _summary_view(s, current=True)
            for s in GapSummary.objects.filter(issue__talk=talk, layer=layer)
        }
    else:
        for r in revisions_as_of(talk=talk, layer=layer, as_of=as_of):
            if r.issue_id not in by_issue or r.party_id not in principal_ids:
                continue
            issue = issue_by_id[r.issue_id]
            by_issue[r.issue_id][r.party_id] = _view(
                issue=issue,
                scale=scales[issue.pk],
                party=r.party,
                position_id=r.position_id,
                version=r.version,
                snapshot=r.snapshot,
                updated_at=r.created_at,
                updated_by=r.by.get_username() if r.by else None,
            )
        summary_rows = {
            s.issue_id: _summary_view(s, current=False)
            for s in summaries_as_of(talk=talk, layer=layer, as_of=as_of)
        }

    rows = []
    rollup_input = []
    for issue in issues:
        cells = tuple(by_issue[issue.pk].get(p.pk) for p in principals)
        for cell in cells:
            if cell and (last_change is None or cell.updated_at > last_change):
                last_change = cell.updated_at
        summary = summary_rows.get(issue.pk)
        rows.append(DashboardRow(issue=issue, cells=cells, summary=summary))
        if summary and summary.figures:
            rollup_input.append(
                (
                    gaps.IssueInput(
                        key=issue.key,
                        title=issue.title,
                        priority=issue.priority,
                        scale=scales[issue.pk],
                        principals=tuple(p.name for p in principals),
                        positions=(),
                    ),
                    gaps.IssueGap.from_dict(summary.figures),
                )
            )
    rollup = gaps.rollup(rollup_input)
    if len(rollup_input) < len(issues):
        # An issue never computed has no zone yet: no deal can be called feasible.
        rollup = replace(rollup, deal_feasible=False)
    return Dashboard(
        talk=talk,
        layer=layer,
        as_of=as_of,
        principals=principals,
        rows=tuple(rows),
        rollup=rollup,
        last_change=last_change,
        pending=any(r.summary and r.summary.pending for r in rows),
    )
