"""Reads of the audit log, scoped to what the reader may audit."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from .models import AuditEvent

# Staff read the whole log when the admin lets them view audit events.
STAFF_PERMISSION = "audit.view_auditevent"


def audit_event_list(
    *,
    talk_ids: Iterable[int] | None = None,
    user_id: int | None = None,
    username: str | None = None,
    action: str | None = None,
    interface: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    request_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events, newest first, filtered by whatever is given.

    `talk_ids` scopes the log to those talks (pass the talks the reader may audit); events
    without a talk (sign-ins, parties, users, tokens) are left out of a scoped list.
    """
    events = AuditEvent.objects.all()
    if talk_ids is not None:
        events = events.filter(talk_id__in=list(talk_ids))
    filters = {
        "user_id": user_id,
        "username__iexact": username,
        "action": action,
        "interface": interface,
        "object_type": object_type,
        "object_id": object_id,
        "request_id": request_id,
        "created_at__gte": since,
        "created_at__lt": until,
    }
    events = events.filter(**{k: v for k, v in filters.items() if v is not None})
    return events.order_by("-created_at", "-id")


@dataclass(frozen=True)
class AuditScope:
    """The part of the log a user may read: all of it (`everything`), or the events of the
    talks they are an analyst of. `talks` are the talks they may filter by."""

    everything: bool
    talks: tuple[Any, ...]

    @property
    def talk_ids(self) -> list[int] | None:
        return None if self.everything else [t.pk for t in self.talks]


def audit_scope_for(*, user: AbstractBaseUser | AnonymousUser) -> AuditScope | None:
    """What `user` may read of the log, or None if nothing (not an analyst, not staff)."""
    from talks.models import Membership, Talk

    if not user.is_authenticated:
        return None
    if user.is_staff and user.has_perm(STAFF_PERMISSION):
        return AuditScope(everything=True, talks=tuple(Talk.objects.order_by("title", "pk")))
    talks = tuple(
        Talk.objects.filter(memberships__user=user, memberships__role=Membership.Role.ANALYST)
        .distinct()
        .order_by("title", "pk")
    )
    return AuditScope(everything=False, talks=talks) if talks else None


@dataclass(frozen=True)
class Cursor:
    """A place in the log, newest first: the time and id of an event."""

    created_at: dt.datetime
    id: int

    def __str__(self) -> str:
        return f"{self.created_at.isoformat()}~{self.id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        """Raises ValueError for anything but what __str__ writes."""
        moment, _, ident = text.partition("~")
        created_at = dt.datetime.fromisoformat(moment)
        if created_at.tzinfo is None:
            raise ValueError(text)
        return cls(created_at=created_at, id=int(ident))

    @classmethod
    def of(cls, event: AuditEvent) -> "Cursor":
        return cls(created_at=event.created_at, id=event.pk)


@dataclass(frozen=True)
class AuditPage:
    rows: Sequence[AuditEvent]
    older: Cursor | None  # where the next older page starts, if there is one
    newer: Cursor | None  # where the next newer page starts, if there is one


def audit_event_page(
    events: QuerySet[AuditEvent],
    *,
    size: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> AuditPage:
    """One page of `events` (newest first), by keyset: the events just older than `before`,
    or just newer than `after`, or the newest. No count of the whole log is ever taken."""
    events = events.select_related("talk")
    if after is not None:
        newer = Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, id__gt=after.id)
        found = list(events.filter(newer).order_by("created_at", "id")[: size + 1])
        more_newer = len(found) > size
        rows = found[:size][::-1]
        return AuditPage(
            rows=rows,
            older=Cursor.of(rows[-1]) if rows else None,
            newer=Cursor.of(rows[0]) if rows and more_newer else None,
        )
    if before is not None:
        older = Q(created_at__lt=before.created_at) | Q(
            created_at=before.created_at, id__lt=before.id
        )
        events = events.filter(older)
    found = list(events[: size + 1])
    rows = found[:size]
    return AuditPage(
        rows=rows,
        older=Cursor.of(rows[-1]) if len(found) > size else None,
        newer=Cursor.of(rows[0]) if rows and before is not None else None,
    )


def assessed_talk_ids(events: QuerySet[AuditEvent]) -> set[int]:
    """The talks whose assessed positions' changes are among `events`."""
    from positions.models import Position

    assessed = (
        Position.objects.filter(layer="assessed")
        .annotate(key=Cast("pk", output_field=CharField()))
        .values("key")
    )
    return set(
        events.filter(object_type="positions.position", object_id__in=assessed)
        .order_by()
        .values_list("talk_id", flat=True)
        .distinct()
    )
