"""The audit log in the browser: for talk analysts (their talks) and staff (everything),
browsed newest first, filtered, and exported as CSV."""

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from api.csv_export import csv_response
from talks.models import Talk

from .forms import AuditFilterForm
from .models import AuditEvent
from .selectors import (
    AuditScope,
    assessed_talk_ids,
    audit_event_list,
    audit_event_page,
    audit_scope_for,
)
from .services import audit_assessed_read

PAGE_SIZE = 50
NOT_AN_AUDITOR = (
    "The audit log is open to a talk's analysts (for their talks) and to staff allowed to "
    "view audit events."
)
CSV_COLUMNS = (
    "time",
    "user",
    "interface",
    "action",
    "object_type",
    "object_id",
    "object",
    "talk",
    "request_id",
    "ip_address",
    "changes",
    "note",
)


def _scope(request: HttpRequest) -> AuditScope:
    scope = audit_scope_for(user=request.user)
    if scope is None:
        raise PermissionDenied(NOT_AN_AUDITOR)
    return scope


def _record_reads(request: HttpRequest, events: QuerySet[AuditEvent], what: str) -> None:
    """Position changes on the assessed layer carry its values: showing them is a read of
    the assessed layer, recorded once per talk (SECURITY.md)."""
    for talk in Talk.objects.filter(pk__in=assessed_talk_ids(events)).order_by("pk"):
        audit_assessed_read(user=request.user, talk=talk, what=what)


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(map(str, value)) or "—"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Row:
    event: AuditEvent
    changes: list[Change]
    talk_label: str


def _talk_of(event: AuditEvent) -> Talk | None:
    """The event's talk, or None if it has none or was deleted since (the log keeps the id)."""
    if event.talk_id is None:
        return None
    try:
        return event.talk
    except Talk.DoesNotExist:
        return None


def _row(event: AuditEvent) -> Row:
    changes = [
        Change(name, _text(values.get("before")), _text(values.get("after")))
        for name, values in sorted((event.changes or {}).items())
        if isinstance(values, dict)
    ]
    talk = _talk_of(event)
    if event.talk_id is None:
        talk_label = ""
    else:
        talk_label = talk.title if talk is not None else f"talk {event.talk_id} (deleted)"
    return Row(event=event, changes=changes, talk_label=talk_label)


@require_safe
@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = AuditFilterForm(request.GET, scope=scope)
    page = None
    if form.is_valid():
        events = audit_event_list(**form.filters())
        page = audit_event_page(
            events,
            size=PAGE_SIZE,
            before=form.cleaned_data["before"],
            after=form.cleaned_data["after"],
        )
        shown = AuditEvent.objects.filter(pk__in=[e.pk for e in page.rows])
        _record_reads(request, shown, "audit log")
    return render(
        request,
        "audit/log.html",
        {
            "form": form,
            "scope": scope,
            "page": page,
            "rows": [_row(e) for e in page.rows] if page else [],
            "older_query": form.query(before=page.older, after="") if page and page.older else "",
            "newer_query": form.query(after=page.newer, before="") if page and page.newer else "",
            "newest_query": form.query(before="", after=""),
            "csv_query": form.query(before="", after=""),
        },
    )


def _csv_row(event: AuditEvent) -> dict[str, Any]:
    talk = _talk_of(event)
    return {
        "time": event.created_at.isoformat(),
        "user": event.username,
        "interface": event.interface,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object": event.object_label,
        "talk": talk.slug if talk is not None else event.talk_id,
        "request_id": event.request_id,
        "ip_address": event.ip_address,
        "changes": event.changes or None,
        "note": event.note,
    }


@require_safe
@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV, streamed: every matching event, newest first."""
    scope = _scope(request)
    form = AuditFilterForm(request.GET, scope=scope)
    if not form.is_valid():
        return audit_log(request)
    events = audit_event_list(**form.filters())
    _record_reads(request, events, "audit log CSV")
    rows = (_csv_row(e) for e in events.select_related("talk").iterator(chunk_size=1000))
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return csv_response(columns=CSV_COLUMNS, rows=rows, filename=f"audit-log-{stamp}.csv")
