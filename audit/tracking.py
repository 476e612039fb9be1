"""Automatic audit of the tracked models: every save() and delete(), from any interface.

A tracked model's rows are recorded by model signals, with the before/after value of each
changed field, inside the transaction of the write: the admin, the import, the pages, the
API and management commands are all covered without calling anything.

What the signals do not see, and so must be recorded by the caller with
`audit.services.audit_record` / `audit_record_created`: QuerySet.update(), bulk_create(),
bulk_update() and raw SQL. Positions are recorded by positions.services (their state
includes their option and source sets and a change note), not here.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from .models import AuditEvent
from .services import audit_changes, audit_record, object_type_of

Action = AuditEvent.Action

TalkOf = Callable[[Any], int | None]


@dataclass(frozen=True)
class Tracked:
    model: type[models.Model]
    talk_of: TalkOf
    exclude: frozenset[str]
    secret: frozenset[str]
    label: Callable[[Any], str]
    object_id: Callable[[Any], str]
    note: Callable[[Any, str], str]

    def fields(self, only: Iterable[str] | None = None) -> list[models.Field]:
        wanted = None if only is None else set(only)
        return [
            f
            for f in self.model._meta.concrete_fields
            if not f.primary_key
            and not getattr(f, "auto_now", False)
            and not getattr(f, "auto_now_add", False)
            and f.name not in self.exclude
            and (wanted is None or f.name in wanted or f.attname in wanted)
        ]

    def m2m_fields(self) -> list[models.ManyToManyField]:
        return [f for f in self.model._meta.many_to_many if f.name not in self.exclude]


_registry: dict[type[models.Model], Tracked] = {}
_m2m_senders: dict[type[models.Model], tuple[type[models.Model], str]] = {}


def no_talk(instance: Any) -> None:
    return None


def talk_field(instance: Any) -> int | None:
    return instance.talk_id


def talk_via(relation: str) -> TalkOf:
    """The talk of a row that belongs to it through `relation` (e.g. "issue")."""

    def talk_of(instance: Any) -> int | None:
        try:
            return getattr(instance, relation).talk_id
        except ObjectDoesNotExist:
            return None

    return talk_of


def _no_note(instance: Any, action: str) -> str:
    return ""


def track(
    model: type[models.Model],
    *,
    talk: TalkOf = no_talk,
    exclude: Iterable[str] = (),
    secret: Iterable[str] = (),
    label: Callable[[Any], str] = str,
    object_id: Callable[[Any], str] = lambda instance: str(instance.pk),
    note: Callable[[Any, str], str] = _no_note,
) -> None:
    """Record every save() and delete() of `model` in the audit log.

    `talk` finds the talk a row belongs to (for scoping the log); `exclude` names fields
    not worth recording; `secret` names fields recorded as changed without their values;
    `label` and `object_id` must not reveal secrets either.
    """
    spec = Tracked(
        model=model,
        talk_of=talk,
        exclude=frozenset(exclude),
        secret=frozenset(secret),
        label=label,
        object_id=object_id,
        note=note,
    )
    _registry[model] = spec
    uid = f"audit:{model._meta.label_lower}"
    pre_save.connect(_before_save, sender=model, dispatch_uid=uid)
    post_save.connect(_after_save, sender=model, dispatch_uid=uid)
    pre_delete.connect(_before_delete, sender=model, dispatch_uid=uid)
    post_delete.connect(_after_delete, sender=model, dispatch_uid=uid)
    for field in spec.m2m_fields():
        through = field.remote_field.through
        _m2m_senders[through] = (model, field.name)
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"{uid}:{field.name}")


def tracked_models() -> list[type[models.Model]]:
    return list(_registry)


def is_tracked(model: type[models.Model]) -> bool:
    return model in _registry


def _normal(field: models.Field, value: Any) -> Any:
    # The same value can be a str on an unsaved instance and a date once read back.
    try:
        return field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return value


def _values(spec: Tracked, instance: Any, fields: Iterable[models.Field]) -> dict[str, Any]:
    return {f.name: _normal(f, f.value_from_object(instance)) for f in fields}


def _talk_of(spec: Tracked, instance: Any) -> int | None:
    try:
        return spec.talk_of(instance)
    except ObjectDoesNotExist:
        return None


def record_instance(
    *,
    instance: Any,
    action: str,
    changes: dict[str, dict[str, Any]] | None = None,
    talk_id: Any = ...,  # ... : find it from the instance
    label: str | None = None,
) -> AuditEvent | None:
    """Record an event about a tracked instance; a creation lists all its set fields."""
    spec = _registry.get(type(instance))
    if spec is None:
        return None
    if changes is None:
        values = {
            k: v for k, v in _values(spec, instance, spec.fields()).items() if v not in (None, "")
        }
        if action == Action.DELETE:
            changes = audit_changes(values, {}, secret=spec.secret)
        else:
            changes = audit_changes({}, values, secret=spec.secret)
    return audit_record(
        action=action,
        object_type=object_type_of(instance),
        object_id=spec.object_id(instance),
        label=spec.label(instance) if label is None else label,
        talk_id=_talk_of(spec, instance) if talk_id is ... else talk_id,
        changes=changes,
        note=spec.note(instance, action),
    )


_SKIP = object()


def _before_save(sender: Any, instance: Any, raw: bool, using: str, update_fields: Any, **kw):
    spec = _registry[sender]
    fields = spec.fields(update_fields)
    if instance._state.adding or instance.pk is None:
        instance._audit_before = None
        return
    if not fields:
        instance._audit_before = _SKIP
        return
    row = (
        sender._base_manager.using(using)
        .filter(pk=instance.pk)
        .values(*(f.attname for f in fields))
        .first()
    )
    instance._audit_before = (
        None if row is None else {f.name: _normal(f, row[f.attname]) for f in fields}
    )


def _after_save(sender: Any, instance: Any, created: bool, update_fields: Any, **kw):
    spec = _registry[sender]
    before = instance.__dict__.pop("_audit_before", None)
    if before is _SKIP:
        return
    if before is None:
        record_instance(instance=instance, action=Action.CREATE)
        return
    after = _values(spec, instance, spec.fields(update_fields))
    changes = audit_changes(before, after, secret=spec.secret)
    if changes:
        record_instance(instance=instance, action=Action.UPDATE, changes=changes)


def _before_delete(sender: Any, instance: Any, **kw):
    # Every row of a cascade still exists here; after the delete the relations may not.
    spec = _registry[sender]
    instance._audit_deleting = (_talk_of(spec, instance), spec.label(instance))


def _after_delete(sender: Any, instance: Any, **kw):
    talk_id, label = instance.__dict__.pop("_audit_deleting", (None, None))
    record_instance(instance=instance, action=Action.DELETE, talk_id=talk_id, label=label)


def _m2m_changed(sender: Any, instance: Any, action: str, reverse: bool, **kw):
    if reverse or sender not in _m2m_senders:
        return
    model, name = _m2m_senders[sender]
    if not isinstance(instance, model):
        return
    manager = getattr(instance, name)
    stash = instance.__dict__.setdefault("_audit_m2m_before", {})
    if action in {"pre_add", "pre_remove", "pre_clear"}:
        stash[name] = sorted(manager.values_list("pk", flat=True))
        return
    if action not in {"post_add", "post_remove", "post_clear"} or name not in stash:
        return
    before = stash.pop(name)
    after = sorted(manager.values_list("pk", flat=True))
    if before != after:
        spec = _registry[model]
        changes = audit_changes({name: before}, {name: after}, secret=spec.secret)
        record_instance(instance=instance, action=Action.UPDATE, changes=changes)


# --- The project's tracked models ---------------------------------------------------------


def _token_label(token: Any) -> str:
    # Never the token, its key or its digest: only whose it is and when it lapses.
    label = f"API token of {token.user.get_username()}"
    if token.expiry is not None:
        label += f", expires {token.expiry:%Y-%m-%d %H:%M} UTC"
    return label


def token_ref(token: Any) -> str:
    """How the audit log names an API token: the head of its digest, not of the token."""
    return str(token.digest)[:16]


def _token_note(token: Any, action: str) -> str:
    if action == Action.DELETE:
        if token.expiry is not None and token.expiry <= timezone.now():
            return "Expired token removed."
        return "Token revoked."
    if action == Action.CREATE:
        return "Token issued."
    return ""


def track_project_models() -> None:
    from django.contrib.auth import get_user_model
    from knox.models import get_token_model

    from issues.models import Issue, IssueOption
    from positions.models import Source
    from talks.models import Membership, Party, Round, Talk, TalkParty

    track(Talk, talk=lambda talk: talk.pk)
    track(Party)
    for model in (TalkParty, Round, Membership, Issue, Source):
        track(model, talk=talk_field)
    track(IssueOption, talk=talk_via("issue"))
    track(get_user_model(), exclude={"last_login"}, secret={"password"})
    track(
        get_token_model(),
        exclude={"token_key"},
        label=_token_label,
        object_id=token_ref,
        note=_token_note,
    )
