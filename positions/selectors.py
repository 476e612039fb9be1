"""Reads of positions, their revisions and sources, scoped to one talk."""

import datetime as dt
from collections.abc import Collection

from django.db.models import QuerySet

from issues.models import Issue
from talks.models import Talk

from .models import Position, PositionRevision, Source


def position_list_for_talk(
    *, talk: Talk, layers: Collection[str], include_deleted: bool = False
) -> QuerySet[Position]:
    """The talk's positions on the given layers, with what a listing shows."""
    qs = Position.objects.filter(issue__talk=talk, layer__in=layers)
    if not include_deleted:
        qs = qs.current()
    return qs.select_related(
        "issue", "party", "demand_option", "red_line_option", "updated_by"
    ).prefetch_related("acceptable_options", "sources")


def position_revisions(*, position: Position) -> QuerySet[PositionRevision]:
    """A position's history, newest first."""
    return (
        PositionRevision.objects.filter(position=position).select_related("by").order_by("-version")
    )


def talk_revisions(
    *,
    talk: Talk,
    layers: Collection[str],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[PositionRevision]:
    """Every recorded change of the talk's positions on the layers, newest first."""
    qs = PositionRevision.objects.filter(issue__talk=talk, layer__in=layers)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    return qs.select_related("issue", "party", "by").order_by("-created_at", "-pk")


def issue_revisions(
    *, issue: Issue, layers: Collection[str], until: dt.datetime | None = None
) -> QuerySet[PositionRevision]:
    """Every recorded change of the issue's positions on the layers, newest first."""
    qs = PositionRevision.objects.filter(issue=issue, layer__in=layers)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    return qs.select_related("party", "by").order_by("-created_at", "-pk")


def source_list_for_talk(*, talk: Talk) -> QuerySet[Source]:
    return Source.objects.filter(talk=talk).order_by("-published_on", "title")


def position_get_for_talk(*, talk: Talk, pk: int) -> Position | None:
    """One position of the talk (withdrawn ones included), with its issue's options."""
    return (
        Position.objects.filter(pk=pk, issue__talk=talk)
        .select_related("issue", "party", "demand_option", "red_line_option", "updated_by")
        .prefetch_related("issue__options", "acceptable_options", "sources")
        .first()
    )
