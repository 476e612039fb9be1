"""Reads of issues and gap summaries, and the bridge from rows to the pure gap engine."""

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery

from talks.models import TalkParty
from talks.selectors import layer_visibility_q

from . import gaps
from .models import GapSummary, GapSummaryHistory, Issue, IssueOption, ScaleKind


def issue_scale(*, issue: Issue, options: Iterable[IssueOption] | None = None) -> gaps.Scale:
    opts = tuple(options if options is not None else issue.options.all())
    return gaps.Scale(
        kind=gaps.ScaleKind(issue.scale_kind),
        minimum=issue.scale_min,
        maximum=issue.scale_max,
        unit=issue.unit,
        options=tuple(gaps.Option(key=o.key, label=o.label) for o in opts),
        max_label=issue.max_label,
    )


def snapshot_to_party_position(
    *, party: str, snapshot: Mapping[str, Any], version: int
) -> gaps.PartyPosition:
    """A position's snapshot (positions.services.position_snapshot) as engine input."""
    return gaps.PartyPosition(
        party=party,
        demand=snapshot["demand"],
        red_line=snapshot.get("red_line"),
        acceptable=frozenset(snapshot.get("acceptable") or ()),
        priority=int(snapshot.get("priority", 3)),
        version=version,
    )


def issue_gap_input(*, issue_id: int, layer: str) -> gaps.IssueInput | None:
    """The engine input for one issue and layer, from the current positions of principals."""
    from positions.models import Position, PositionAcceptableOption

    issue = Issue.objects.filter(pk=issue_id).prefetch_related(Prefetch("options")).first()
    if issue is None:
        return None
    principals = list(
        TalkParty.objects.filter(talk_id=issue.talk_id, role=TalkParty.Role.PRINCIPAL)
        .select_related("party")
        .order_by("party__name")
    )
    principal_ids = {tp.party_id for tp in principals}
    positions = list(
        Position.objects.current()
        .filter(issue_id=issue_id, layer=layer, party_id__in=principal_ids)
        .select_related("party", "demand_option", "red_line_option")
    )
    # Only what the engine reads (what position_snapshot would give for these fields): the
    # acceptable sets in one plain query, and no sources. Every recomputation runs this.
    acceptable: dict[int, set[str]] = {}
    for position_id, key in PositionAcceptableOption.objects.filter(
        position__in=[p.pk for p in positions]
    ).values_list("position_id", "option__key"):
        acceptable.setdefault(position_id, set()).add(key)
    return gaps.IssueInput(
        key=issue.key,
        title=issue.title,
        priority=issue.priority,
        scale=issue_scale(issue=issue),
        principals=tuple(tp.party.name for tp in principals),
        positions=tuple(
            gaps.PartyPosition(
                party=p.party.name,
                demand=p.demand_option.key if p.demand_option_id else p.demand_value,
                red_line=p.red_line_option.key if p.red_line_option_id else p.red_line_value,
                acceptable=frozenset(acceptable.get(p.pk, ())),
                priority=p.priority,
                version=p.version,
            )
            for p in positions
        ),
    )


def gap_summaries_for_talk(*, talk_id: int, layer: str) -> QuerySet[GapSummary]:
    return (
        GapSummary.objects.filter(issue__talk_id=talk_id, layer=layer)
        .select_related("issue")
        .order_by("issue__order", "issue__key")
    )


def gap_summaries_stale(*, talk_id: int | None = None) -> QuerySet[GapSummary]:
    """Summaries whose computation is behind their requests, the longest waiting first."""
    summaries = GapSummary.objects.filter(Q(pending=True) | Q(computed_rev__lt=F("requested_rev")))
    if talk_id is not None:
        summaries = summaries.filter(issue__talk_id=talk_id)
    return summaries.order_by(F("requested_at").asc(nulls_first=True), "pk")


def is_option_scale(kind: str) -> bool:
    return kind in {ScaleKind.ORDINAL, ScaleKind.CATEGORICAL}


def gap_history(*, issue_id: int, layer: str) -> QuerySet[GapSummaryHistory]:
    """Every computed state of an issue's summary on a layer whose figures changed, oldest first."""
    return GapSummaryHistory.objects.filter(issue_id=issue_id, layer=layer).order_by(
        "computed_at", "rev"
    )


# --- Across every talk a user may read (the API's lists) ------------------------------------

LayersByTalk = Mapping[int, Collection[str]]


def issue_list_for_talks(*, talk_ids: Collection[int]) -> QuerySet[Issue]:
    return (
        Issue.objects.filter(talk_id__in=talk_ids)
        .select_related("talk")
        .prefetch_related(Prefetch("options", queryset=IssueOption.objects.order_by("order")))
    )


def gap_summaries_visible(*, layers_by_talk: LayersByTalk) -> QuerySet[GapSummary]:
    return GapSummary.objects.filter(
        layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id")
    ).select_related("issue__talk")


def gap_summaries_as_of_visible(
    *, layers_by_talk: LayersByTalk, as_of: dt.datetime
) -> QuerySet[GapSummaryHistory]:
    """Each issue and layer's summary as last computed at or before `as_of`."""
    latest = (
        GapSummaryHistory.objects.filter(
            issue=OuterRef("issue"), layer=OuterRef("layer"), computed_at__lte=as_of
        )
        .order_by("-computed_at", "-rev")
        .values("pk")[:1]
    )
    return GapSummaryHistory.objects.filter(
        layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id"),
        pk=Subquery(latest),
    ).select_related("issue__talk")


def talk_gap_inputs(*, talk_id: int, layer: str) -> list[gaps.IssueInput]:
    """Engine inputs for every issue of a talk on one layer, in issue order (fixed queries)."""
    from positions.models import Position
    from positions.services import position_snapshot

    issues = list(
        Issue.objects.filter(talk_id=talk_id)
        .prefetch_related(Prefetch("options", queryset=IssueOption.objects.order_by("order")))
        .order_by("order", "key")
    )
    principals = list(
        TalkParty.objects.filter(talk_id=talk_id, role=TalkParty.Role.PRINCIPAL)
        .select_related("party")
        .order_by("party__name")
    )
    names = tuple(tp.party.name for tp in principals)
    by_issue: dict[int, list[gaps.PartyPosition]] = {issue.pk: [] for issue in issues}
    positions = (
        Position.objects.current()
        .filter(
            issue__talk_id=talk_id, layer=layer, party_id__in=[tp.party_id for tp in principals]
        )
        .select_related("party", "demand_option", "red_line_option")
        .prefetch_related("acceptable_options", "sources")
    )
    for p in positions:
        by_issue[p.issue_id].append(
            snapshot_to_party_position(
                party=p.party.name, snapshot=position_snapshot(p), version=p.version
            )
        )
    return [
        gaps.IssueInput(
            key=issue.key,
            title=issue.title,
            priority=issue.priority,
            scale=issue_scale(issue=issue),
            principals=names,
            positions=tuple(by_issue[issue.pk]),
        )
        for issue in issues
    ]
