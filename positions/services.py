"""Every write of a position: validate, save, record a revision, request recomputation.

All in one transaction: either the position, its revision and the stale mark on the gap
summary are saved together, or nothing is.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record, object_type_of
from issues import gaps
from issues.models import Issue, Layer, ScaleKind
from issues.selectors import issue_scale
from issues.services import gap_summary_request
from talks.models import Party, TalkParty
from talks.services import talk_touch

from .models import Interface, Position, PositionAcceptableOption, PositionRevision, Source

NOTE_REQUIRED = "A change note is required: say what changed and why."
NOTE_TOO_LONG = "Keep the change note under 2,000 characters."
TEXT_TOO_LONG = "Keep this under {limit:,} characters (it has {length:,})."
PARTY_NOT_IN_TALK = "{party} is not a party to this talk."
POSITION_EXISTS = "{party} already has a {layer} position on this issue; edit it instead."
UNKNOWN_CHOICE = "'{value}' is not one of: {choices}."
SOURCE_NOT_IN_TALK = "Source {id} does not belong to this talk."
LAYER_INVALID = "Layer is 'declared' or 'assessed'."

Value = float | str | None


class PositionConflict(Exception):
    """The position changed since the version the edit was based on. Nothing was saved."""

    def __init__(self, *, position: Position, based_on_version: int) -> None:
        self.position = position
        self.current_version = position.version
        self.based_on_version = based_on_version
        super().__init__(
            f"This position was changed by someone else: you edited version "
            f"{based_on_version}, the current version is {position.version}."
        )


@dataclass(frozen=True)
class PositionInput:
    """What an analyst enters for a position. Options are given by their keys."""

    demand: Value
    red_line: Value = None
    acceptable: frozenset[str] = field(default_factory=frozenset)
    priority: int = 3
    rationale: str = ""
    conditions: str = ""
    confidence: str = Position.Confidence.MEDIUM
    status: str = Position.Status.STATED
    source_ids: tuple[int, ...] = ()

    def with_changes(self, **changes: Any) -> "PositionInput":
        return replace(self, **changes)


def position_snapshot(position: Position) -> dict[str, Any]:
    """The saved state of a position as plain data (stored on every revision).

    Reads `acceptable_options` and `sources` through prefetches when present.
    """
    demand: Value = (
        position.demand_option.key if position.demand_option_id else position.demand_value
    )
    red_line: Value = (
        position.red_line_option.key if position.red_line_option_id else position.red_line_value
    )
    return {
        "demand": demand,
        "red_line": red_line,
        "acceptable": sorted(o.key for o in position.acceptable_options.all()),
        "priority": position.priority,
        "rationale": position.rationale,
        "conditions": position.conditions,
        "confidence": position.confidence,
        "status": position.status,
        "sources": sorted(s.pk for s in position.sources.all()),
        "deleted": position.deleted_at is not None,
    }


def position_input_from(position: Position) -> PositionInput:
    snap = position_snapshot(position)
    return PositionInput(
        demand=snap["demand"],
        red_line=snap["red_line"],
        acceptable=frozenset(snap["acceptable"]),
        priority=snap["priority"],
        rationale=snap["rationale"],
        conditions=snap["conditions"],
        confidence=snap["confidence"],
        status=snap["status"],
        source_ids=tuple(snap["sources"]),
    )


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _choice_error(value: str, choices: Iterable[str]) -> str:
    return UNKNOWN_CHOICE.format(value=value, choices=", ".join(choices))


def position_validate(*, issue: Issue, data: PositionInput, note: str | None = None) -> None:
    """Raise ValidationError with a message per field if `data` cannot be saved on `issue`."""
    errors: dict[str, str] = {}
    options = list(issue.options.all())
    scale = issue_scale(issue=issue, options=options)
    errors.update(
        gaps.validate_position(
            scale,
            data.demand,
            data.red_line if issue.scale_kind != ScaleKind.CATEGORICAL else None,
            data.acceptable,
            priority=data.priority,
        )
    )
    for name in ("rationale", "conditions"):
        limit = Position._meta.get_field(name).max_length
        length = len(getattr(data, name))
        if limit is not None and length > limit:
            errors[name] = TEXT_TOO_LONG.format(limit=limit, length=length)
    if data.confidence not in Position.Confidence.values:
        errors["confidence"] = _choice_error(data.confidence, Position.Confidence.values)
    if data.status not in Position.Status.values:
        errors["status"] = _choice_error(data.status, Position.Status.values)
    if data.source_ids:
        known = set(
            Source.objects.filter(talk_id=issue.talk_id, pk__in=data.source_ids).values_list(
                "pk", flat=True
            )
        )
        missing = [sid for sid in data.source_ids if sid not in known]
        if missing:
            errors["sources"] = SOURCE_NOT_IN_TALK.format(id=missing[0])
    if note is not None:
        if not note.strip():
            errors["note"] = NOTE_REQUIRED
        elif len(note) > 2000:
            errors["note"] = NOTE_TOO_LONG
    if errors:
        raise ValidationError(errors)


def _snapshot_of_input(issue: Issue, data: PositionInput) -> dict[str, Any]:
    """What position_snapshot would read after saving validated `data`."""
    numeric = issue.scale_kind == ScaleKind.NUMERIC
    categorical = issue.scale_kind == ScaleKind.CATEGORICAL
    red_line: Value = None
    if not categorical and data.red_line is not None:
        red_line = float(data.red_line) if numeric else str(data.red_line)
    return {
        "demand": float(data.demand) if numeric else str(data.demand),  # type: ignore[arg-type]
        "red_line": red_line,
        "acceptable": sorted(data.acceptable) if categorical else [],
        "priority": data.priority,
        "rationale": data.rationale,
        "conditions": data.conditions,
        "confidence": data.confidence,
        "status": data.status,
        "sources": sorted(data.source_ids),
        "deleted": False,
    }


def _apply(position: Position, issue: Issue, data: PositionInput) -> None:
    """Copy validated input onto the row and its option and source sets (row saved first)."""
    by_key = {o.key: o for o in issue.options.all()}
    if issue.scale_kind == ScaleKind.NUMERIC:
        position.demand_value = float(data.demand)  # type: ignore[arg-type]
        position.demand_option = None
        position.red_line_value = None if data.red_line is None else float(data.red_line)
        position.red_line_option = None
    else:
        position.demand_value = None
        position.demand_option = by_key[str(data.demand)]
        position.red_line_value = None
        position.red_line_option = (
            by_key[str(data.red_line)]
            if issue.scale_kind == ScaleKind.ORDINAL and data.red_line is not None
            else None
        )
    position.priority = data.priority
    position.rationale = data.rationale
    position.conditions = data.conditions
    position.confidence = data.confidence
    position.status = data.status


def _save_sets(position: Position, issue: Issue, data: PositionInput) -> None:
    PositionAcceptableOption.objects.filter(position=position).delete()
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        by_key = {o.key: o for o in issue.options.all()}
        PositionAcceptableOption.objects.bulk_create(
            PositionAcceptableOption(position=position, option=by_key[key])
            for key in sorted(data.acceptable)
        )
    position.sources.set(data.source_ids)
    # Drop any cached prefetch so the snapshot reads what was just written.
    getattr(position, "_prefetched_objects_cache", {}).clear()


def _record(
    *,
    position: Position,
    action: str,
    before: Mapping[str, Any],
    by: AbstractBaseUser | None,
    via: str,
    note: str,
) -> PositionRevision:
    after = position_snapshot(position)
    changes = _diff(before, after)
    revision = PositionRevision.objects.create(
        position=position,
        issue_id=position.issue_id,
        party_id=position.party_id,
        layer=position.layer,
        version=position.version,
        action=action,
        snapshot=after,
        changes=changes,
        note=note.strip(),
        by=by,
        via=via,
        created_at=position.updated_at,
    )
    audit_record(
        action=action,
        object_type=object_type_of(position),
        object_id=position.pk,
        label=f"{position} v{position.version}",
        talk_id=position.issue.talk_id,
        changes={key: {"before": old, "after": new} for key, (old, new) in changes.items()},
        note=note.strip(),
        user=by,
        interface=via,
    )
    return revision


def _issue_with_options(issue: Issue) -> Issue:
    if "options" in getattr(issue, "_prefetched_objects_cache", {}):
        return issue
    return Issue.objects.prefetch_related("options").get(pk=issue.pk)


@transaction.atomic
def position_create(
    *,
    issue: Issue,
    party: Party,
    layer: str,
    data: PositionInput,
    by: AbstractBaseUser | None,
    via: str,
    note: str,
) -> Position:
    """Create a party's position on an issue (or revive a deleted one, with a new version)."""
    issue = _issue_with_options(issue)
    errors: dict[str, str] = {}
    if layer not in Layer.values:
        errors["layer"] = LAYER_INVALID
    if not TalkParty.objects.filter(talk_id=issue.talk_id, party=party).exists():
        errors["party"] = PARTY_NOT_IN_TALK.format(party=party)
    try:
        position_validate(issue=issue, data=data, note=note)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)

    now = timezone.now()
    existing = (
        Position.objects.select_for_update().filter(issue=issue, party=party, layer=layer).first()
    )
    if existing is not None and not existing.is_deleted:
        raise ValidationError(
            {"party": POSITION_EXISTS.format(party=party, layer=layer)}, code="exists"
        )
    if existing is not None:
        position = existing
        before = position_snapshot(position)
        position.version += 1
        position.deleted_at = None
    else:
        position = Position(issue=issue, party=party, layer=layer, version=1)
        before = {}
    _apply(position, issue, data)
    position.updated_at = now
    position.updated_by = by
    position.updated_via = via
    position.save()
    _save_sets(position, issue, data)
    _record(
        position=position,
        action=PositionRevision.Action.CREATE,
        before=before,
        by=by,
        via=via,
        note=note,
    )
    gap_summary_request(issue_id=issue.pk, layer=layer)
    talk_touch(talk_id=issue.talk_id)
    return position


def _lock_current(position: Position, based_on_version: int) -> Position:
    current = (
        Position.objects.select_for_update(of=("self",))
        .select_related("issue", "party", "demand_option", "red_line_option")
        .get(pk=position.pk)
    )
    if current.version != based_on_version or current.is_deleted:
        raise PositionConflict(position=current, based_on_version=based_on_version)
    return current


@transaction.atomic
def position_update(
    *,
    position: Position,
    based_on_version: int,
    data: PositionInput,
    by: AbstractBaseUser | None,
    via: str,
    note: str,
) -> Position:
    """Replace a position's content. Refused with PositionConflict if it moved on meanwhile."""
    issue = _issue_with_options(position.issue)
    position_validate(issue=issue, data=data, note=note)
    current = _lock_current(position, based_on_version)
    before = position_snapshot(current)
    if before == _snapshot_of_input(issue, data):
        return current  # Nothing changed: no new version, no revision, no recomputation.
    _apply(current, issue, data)
    current.version += 1
    current.updated_at = timezone.now()
    current.updated_by = by
    current.updated_via = via
    current.save()
    _save_sets(current, issue, data)
    _record(
        position=current,
        action=PositionRevision.Action.UPDATE,
        before=before,
        by=by,
        via=via,
        note=note,
    )
    gap_summary_request(issue_id=current.issue_id, layer=current.layer)
    talk_touch(talk_id=current.issue.talk_id)
    return current


@transaction.atomic
def position_delete(
    *,
    position: Position,
    based_on_version: int,
    by: AbstractBaseUser | None,
    via: str,
    note: str,
) -> Position:
    """Withdraw a position; its history stays. Refused with PositionConflict if stale."""
    if not note or not note.strip():
        raise ValidationError({"note": NOTE_REQUIRED})
    current = _lock_current(position, based_on_version)
    before = position_snapshot(current)
    now = timezone.now()
    current.deleted_at = now
    current.version += 1
    current.updated_at = now
    current.updated_by = by
    current.updated_via = via
    current.save()
    _record(
        position=current,
        action=PositionRevision.Action.DELETE,
        before=before,
        by=by,
        via=via,
        note=note,
    )
    gap_summary_request(issue_id=current.issue_id, layer=current.layer)
    talk_touch(talk_id=current.issue.talk_id)
    return current


__all__ = [
    "Interface",
    "PositionConflict",
    "PositionInput",
    "position_create",
    "position_delete",
    "position_input_from",
    "position_snapshot",
    "position_update",
    "position_validate",
]
