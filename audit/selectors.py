"""Reads of the audit log."""

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from .models import AuditEvent


def audit_event_list(
    *,
    talk_ids: Iterable[int] | None = None,
    user_id: int | None = None,
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
