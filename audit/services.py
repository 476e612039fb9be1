"""Writing the audit log.

Changes of the tracked models (audit.tracking) are recorded automatically when they are
saved or deleted; services call `audit_record` for what the model signals cannot see (a
position's whole state with its option and source sets, bulk inserts, non-model events),
and `audit_assessed_read` whenever they show the assessed layer.
"""

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import models

from . import context
from .models import AuditEvent

Action = AuditEvent.Action

_FROM_CONTEXT: Any = object()
HIDDEN = "[hidden]"


def audit_value(value: Any) -> Any:
    """A value as plain JSON data (dates as ISO text, model instances as their pk)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): audit_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [audit_value(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return str(value)


def audit_changes(
    before: Mapping[str, Any], after: Mapping[str, Any], *, secret: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """{field: {"before": old, "after": new}} for every field whose value differs.

    A field missing from `before` (a creation) or `after` (a deletion) counts as None.
    Secret fields are recorded as changed, never with their values.
    """
    hidden = set(secret)
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if name in hidden:
            old = HIDDEN if old not in (None, "") else old
            new = HIDDEN if new not in (None, "") else new
        changes[name] = {"before": audit_value(old), "after": audit_value(new)}
    return changes


def object_type_of(model: type[models.Model] | models.Model) -> str:
    return model._meta.label_lower


def audit_record(
    *,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    label: str = "",
    talk_id: int | None = None,
    changes: Mapping[str, Mapping[str, Any]] | None = None,
    note: str = "",
    user: AbstractBaseUser | None = _FROM_CONTEXT,
    interface: str | None = None,
) -> AuditEvent:
    """Append one event to the log, attributed from the current request context.

    `user` and `interface` default to the context's (audit.context); pass them when the
    caller knows better (a service given `by` and `via`). `user=None` records the system.
    Call it inside the transaction of the write it records, so both commit or neither.
    """
    ctx = context.current()
    actor = ctx.actor if user is _FROM_CONTEXT else user
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent.objects.create(
        user=actor,
        username=actor.get_username() if actor is not None else "",
        interface=interface or ctx.interface,
        request_id=ctx.request_id[:64],
        ip_address=ctx.ip_address,
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id)[:64],
        object_label=str(label)[:300],
        talk_id=talk_id,
        changes=audit_value(dict(changes or {})),
        note=note[:2000],
    )


def audit_record_created(*, instances: Iterable[models.Model]) -> list[AuditEvent]:
    """Record the creation of rows inserted without save() (bulk_create) of tracked models."""
    from .tracking import record_instance

    return [
        event
        for instance in instances
        if (event := record_instance(instance=instance, action=Action.CREATE)) is not None
    ]


def audit_assessed_read(*, user: AbstractBaseUser | None, talk: Any, what: str) -> AuditEvent:
    """Record that `user` was shown the assessed layer of `talk` (a page, an API call, an export).

    `what` names what was shown, e.g. "dashboard", "issue withdrawal", "positions CSV".
    """
    return audit_record(
        action=Action.READ,
        object_type=object_type_of(talk),
        object_id=talk.pk,
        label=str(talk),
        talk_id=talk.pk,
        note=what,
        user=user,
    )
