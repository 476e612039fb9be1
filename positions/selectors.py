"""Reads of positions, their revisions and sources, scoped to one talk."""

import datetime as dt
from collections.abc import Collection, Mapping

from django.db.models import OuterRef, QuerySet, Subquery

from talks.models import Talk
from talks.selectors import layer_visibility_q

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
    *, talk: Talk, layers: Collection[str], since: dt.datetime | None = None
) -> QuerySet[PositionRevision]:
    """Every recorded change of the talk's positions on the layers, newest first."""
    qs = PositionRevision.objects.filter(issue__talk=talk, layer__in=layers)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    return qs.select_related("issue", "party", "by").order_by("-created_at", "-pk")


def source_list_for_talk(*, talk: Talk) -> QuerySet[Source]:
    return Source.objects.filter(talk=talk).order_by("-published_on", "title")


# --- Across every talk a user may read (the API's lists) ------------------------------------

LayersByTalk = Mapping[int, Collection[str]]


def position_list_visible(
    *, layers_by_talk: LayersByTalk, include_deleted: bool = False
) -> QuerySet[Position]:
    """Positions on the talks and layers in `layers_by_talk`, with what a listing shows."""
    qs = Position.objects.filter(
        layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id")
    )
    if not include_deleted:
        qs = qs.current()
    return qs.select_related(
        "issue__talk", "party", "demand_option", "red_line_option", "updated_by"
    ).prefetch_related("acceptable_options", "sources")


def position_revisions_as_of_visible(
    *, layers_by_talk: LayersByTalk, as_of: dt.datetime
) -> QuerySet[PositionRevision]:
    """The latest revision at `as_of` of every position then standing (deleted ones left out)."""
    latest = (
        PositionRevision.objects.filter(position=OuterRef("position"), created_at__lte=as_of)
        .order_by("-version")
        .values("version")[:1]
    )
    return (
        PositionRevision.objects.filter(
            layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id"),
            created_at__lte=as_of,
            version=Subquery(latest),
        )
        .exclude(action=PositionRevision.Action.DELETE)
        .select_related("issue__talk", "party", "by")
    )


def revision_list_visible(*, layers_by_talk: LayersByTalk) -> QuerySet[PositionRevision]:
    """Every recorded change on the talks and layers in `layers_by_talk`."""
    return PositionRevision.objects.filter(
        layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id")
    ).select_related("issue__talk", "party", "by")


def source_list_for_talks(*, talk_ids: Collection[int]) -> QuerySet[Source]:
    return Source.objects.filter(talk_id__in=talk_ids).select_related("talk", "created_by")
