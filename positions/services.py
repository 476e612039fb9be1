"""Every write of a position: validate, save, record a revision, request recomputation.

All in one transaction: either the position, its revision and the stale mark on the gap
summary are saved together, or nothing is.
"""

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record, object_type_of
from issues import evaluation, gaps
from issues.models import Issue, Layer, ScaleKind
from issues.selectors import issue_scale
from issues.services import gap_summary_request
from talks.concurrency import StaleVersion
from talks.models import Party, Talk, TalkParty
from talks.services import talk_touch

from .models import (
    Interface,
    Position,
    PositionAcceptableOption,
    PositionRevision,
    Proposal,
    ProposalPhase,
    ProposalRevision,
    ProposalTerm,
    Source,
)

NOTE_REQUIRED = "A change note is required: say what changed and why."
NOTE_TOO_LONG = "Keep the change note under 2,000 characters."
TEXT_TOO_LONG = "Keep this under {limit:,} characters (it has {length:,})."
PARTY_NOT_IN_TALK = "{party} is not a party to this talk."
POSITION_EXISTS = "{party} already has a {layer} position on this issue; edit it instead."
UNKNOWN_CHOICE = "'{value}' is not one of: {choices}."
SOURCE_NOT_IN_TALK = "Source {id} does not belong to this talk."
LINK_UNKNOWN_ISSUE = "Link {n}: '{issue}' is not an issue of this talk."
LINK_SELF = "Link {n}: a position cannot be conditional on its own issue."
LINK_DUPLICATE = "Link {n}: there is already a condition on '{issue}'; combine them."
LINK_WITHIN = "Link {n} ({issue}): {message}"
LINKS_TOO_MANY = "At most {limit} linked conditions per position."
LINKS_LIMIT = 10
LAYER_INVALID = "Layer is 'declared' or 'assessed'."

Value = float | str | None


@dataclass(frozen=True)
class LinkInput:
    """ "This position holds only if issue `issue` lands within `within`."

    `within` is a (low, high) range on a numeric issue, a set of option keys otherwise.
    """

    issue: str
    within: tuple[float, float] | frozenset[str]

    def as_json(self) -> dict[str, Any]:
        if isinstance(self.within, frozenset):
            return {"issue": self.issue, "options": sorted(self.within)}
        low, high = sorted(float(v) for v in self.within)
        return {"issue": self.issue, "low": low, "high": high}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "LinkInput":
        if "options" in data:
            return cls(issue=str(data["issue"]), within=frozenset(data["options"]))
        return cls(issue=str(data["issue"]), within=(float(data["low"]), float(data["high"])))


def links_json(links: Iterable[LinkInput]) -> list[dict[str, Any]]:
    return sorted((link.as_json() for link in links), key=lambda d: d["issue"])


class PositionConflict(StaleVersion):
    """The position changed since the version the edit was based on. Nothing was saved."""

    what = "position"

    def __init__(self, *, position: Position, based_on_version: int) -> None:
        self.position = position
        super().__init__(instance=position, based_on_version=based_on_version)


@dataclass(frozen=True)
class PositionInput:
    """What an analyst enters for a position. Options are given by their keys."""

    demand: Value
    red_line: Value = None
    acceptable: frozenset[str] = field(default_factory=frozenset)
    priority: int = 3
    rationale: str = ""
    conditions: str = ""
    links: tuple[LinkInput, ...] = ()
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
        "links": list(position.links or []),
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
        links=tuple(LinkInput.from_json(link) for link in snap["links"]),
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
    errors.update(_link_errors(issue, data.links))
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


def _link_errors(issue: Issue, links: tuple[LinkInput, ...]) -> dict[str, str]:
    if not links:
        return {}
    if len(links) > LINKS_LIMIT:
        return {"links": LINKS_TOO_MANY.format(limit=LINKS_LIMIT)}
    others = {
        other.key: other
        for other in Issue.objects.filter(talk_id=issue.talk_id).prefetch_related("options")
    }
    seen: set[str] = set()
    for n, link in enumerate(links, start=1):
        on = others.get(link.issue)
        if on is None:
            return {"links": LINK_UNKNOWN_ISSUE.format(n=n, issue=link.issue)}
        if on.pk == issue.pk:
            return {"links": LINK_SELF.format(n=n)}
        if link.issue in seen:
            return {"links": LINK_DUPLICATE.format(n=n, issue=link.issue)}
        seen.add(link.issue)
        problems = evaluation.validate_condition(issue_scale(issue=on), link.within)
        if problems:
            return {"links": LINK_WITHIN.format(n=n, issue=on.title, message=problems["within"])}
    return {}


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
        "links": links_json(data.links),
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
    position.links = links_json(data.links)
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
    talk_touch(talk_id=issue.talk_id, layer=layer)
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
    talk_touch(talk_id=current.issue.talk_id, layer=current.layer)
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
    talk_touch(talk_id=current.issue.talk_id, layer=current.layer)
    return current


# --- Sources ----------------------------------------------------------------------------------

SOURCE_IN_USE = "This source is cited by {count} current position(s); remove it from them first."


class SourceConflict(StaleVersion):
    what = "source"


@dataclass(frozen=True)
class SourceInput:
    title: str
    url: str = ""
    publisher: str = ""
    published_on: dt.date | None = None
    reliability: str = Source.Reliability.UNKNOWN
    notes: str = ""


def _source_fill(source: Source, data: SourceInput) -> None:
    for name, value in asdict(data).items():
        setattr(source, name, value)
    errors: dict[str, str] = {}
    try:
        source.full_clean(exclude=["talk", "created_by", "version"])
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def source_create(*, talk: Talk, data: SourceInput, by: AbstractBaseUser | None) -> Source:
    source = Source(talk=talk, created_by=by)
    _source_fill(source, data)
    source.save()
    return source


def _lock_source(source: Source, based_on_version: int) -> Source:
    current = Source.objects.select_for_update().get(pk=source.pk)
    if current.version != based_on_version:
        raise SourceConflict(instance=current, based_on_version=based_on_version)
    return current


@transaction.atomic
def source_update(
    *, source: Source, based_on_version: int, data: SourceInput, by: AbstractBaseUser | None
) -> Source:
    """Correct a source's details. Refused with SourceConflict if it changed meanwhile."""
    current = _lock_source(source, based_on_version)
    before = {name: getattr(current, name) for name in asdict(data)}
    _source_fill(current, data)
    if before == asdict(data):
        return current
    current.version += 1
    current.save()
    talk_touch(talk_id=current.talk_id)  # Positions show their sources' titles.
    return current


@transaction.atomic
def source_delete(*, source: Source, based_on_version: int, by: AbstractBaseUser | None) -> None:
    """Remove a source no current position cites (withdrawn positions let it go)."""
    current = _lock_source(source, based_on_version)
    cited = current.positions.filter(deleted_at__isnull=True).count()
    if cited:
        raise ValidationError({"source": SOURCE_IN_USE.format(count=cited)})
    current.delete()


# --- Proposals ----------------------------------------------------------------------------

PROPOSAL_MEDIATOR = "Choose one of the talk's mediating parties."
PROPOSAL_CLOSED = "A {status} proposal can no longer be changed; copy it into a new draft."
PROPOSAL_STATUS = "A proposal cannot go from {old} to {new}."
PROPOSAL_STATUS_UNKNOWN = "Status is one of: draft, shared, withdrawn, superseded."
PROPOSAL_TITLE_REQUIRED = "Give the proposal a title."
PROPOSAL_TITLE_TOO_LONG = "Keep the title under 200 characters."
PROPOSAL_SUMMARY_TOO_LONG = "Keep the summary under 5,000 characters."
SUPERSEDED_BY_REQUIRED = "Say which proposal supersedes this one."
SUPERSEDED_BY_UNEXPECTED = "Only a superseded proposal names the proposal that replaces it."
SUPERSEDED_BY_INVALID = "Choose another draft or shared proposal of this talk."
PHASES_REQUIRED = "A proposal has at least one phase."
PHASES_NUMBERING = "Number the phases 1, 2, 3 ... in order, without gaps."
PHASES_TOO_MANY = "At most {limit} phases."
PHASE_TEXT_TOO_LONG = "Keep phase titles under 200 and triggers under 2,000 characters."
PHASE_NOT_FOUND = "The proposal has no phase {number}."
PHASE_LAST = "A proposal keeps at least one phase; change this one instead."
TERM_UNKNOWN_ISSUE = "Term {n}: '{issue}' is not an issue of this talk."
TERM_PHASE_UNKNOWN = "Term {n} ({issue}): phase {phase} is not one of the proposal's phases."
TERM_DUPLICATE = "Term {n} ({issue}): the proposal already sets this issue in phase {phase}."
TERM_INVALID = "Term {n} ({issue}): {message}"
TERM_NOT_FOUND = "The proposal sets no term on '{issue}' in phase {phase}."
VERSION_NOT_FOUND = "The proposal has no version {version}."
PHASES_LIMIT = 10
COPY_SUFFIX = " (revised)"

OPEN_STATUSES = frozenset({Proposal.Status.DRAFT, Proposal.Status.SHARED})
_TRANSITIONS = {
    Proposal.Status.DRAFT: set(Proposal.Status.values),
    Proposal.Status.SHARED: {
        Proposal.Status.SHARED,
        Proposal.Status.WITHDRAWN,
        Proposal.Status.SUPERSEDED,
    },
}


class ProposalConflict(StaleVersion):
    what = "proposal"


@dataclass(frozen=True)
class PhaseInput:
    number: int
    title: str = ""
    trigger: str = ""


@dataclass(frozen=True)
class TermInput:
    issue: str
    phase: int
    value: float | str


@dataclass(frozen=True)
class ProposalInput:
    title: str
    mediator_id: int
    summary: str = ""
    status: str = Proposal.Status.DRAFT
    phases: tuple[PhaseInput, ...] = (PhaseInput(1),)
    terms: tuple[TermInput, ...] = ()
    superseded_by_id: int | None = None

    def with_changes(self, **changes: Any) -> "ProposalInput":
        return replace(self, **changes)


def _proposal_terms(proposal: Proposal) -> list[ProposalTerm]:
    """The saved terms in issue order then phase, through a prefetch when there is one."""
    if "terms" in getattr(proposal, "_prefetched_objects_cache", {}):
        terms = list(proposal.terms.all())
    else:
        terms = list(proposal.terms.select_related("issue", "value_option"))
    return sorted(terms, key=lambda t: (t.issue.order, t.issue.key, t.phase))


def proposal_snapshot(proposal: Proposal) -> dict[str, Any]:
    """The saved state of a proposal as plain data (stored on every revision)."""
    return {
        "title": proposal.title,
        "summary": proposal.summary,
        "mediator": proposal.mediator.name,
        "mediator_id": proposal.mediator_id,
        "status": proposal.status,
        "superseded_by": proposal.superseded_by_id,
        "phases": [
            {"number": ph.number, "title": ph.title, "trigger": ph.trigger}
            for ph in sorted(proposal.phases.all(), key=lambda ph: ph.number)
        ],
        "terms": [
            {"issue": t.issue.key, "phase": t.phase, "value": t.value}
            for t in _proposal_terms(proposal)
        ],
    }


def proposal_input_from_snapshot(snap: Mapping[str, Any]) -> ProposalInput:
    """A stored snapshot (of any version) as input for a new save."""
    return ProposalInput(
        title=snap["title"],
        mediator_id=snap["mediator_id"],
        summary=snap.get("summary", ""),
        status=snap["status"],
        phases=tuple(PhaseInput(**ph) for ph in snap.get("phases", [])),
        terms=tuple(TermInput(**t) for t in snap.get("terms", [])),
        superseded_by_id=snap.get("superseded_by"),
    )


def proposal_input_from(proposal: Proposal) -> ProposalInput:
    return proposal_input_from_snapshot(proposal_snapshot(proposal))


def _proposal_errors(
    talk: Talk, data: ProposalInput, proposal: Proposal | None = None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not data.title.strip():
        errors["title"] = PROPOSAL_TITLE_REQUIRED
    elif len(data.title.strip()) > 200:
        errors["title"] = PROPOSAL_TITLE_TOO_LONG
    if len(data.summary) > 5000:
        errors["summary"] = PROPOSAL_SUMMARY_TOO_LONG
    if data.status not in Proposal.Status.values:
        errors["status"] = PROPOSAL_STATUS_UNKNOWN
    elif data.status == Proposal.Status.SUPERSEDED:
        successors = Proposal.objects.filter(
            talk=talk, pk=data.superseded_by_id, status__in=OPEN_STATUSES
        )
        if proposal is not None:
            successors = successors.exclude(pk=proposal.pk)
        if data.superseded_by_id is None:
            errors["superseded_by"] = SUPERSEDED_BY_REQUIRED
        elif not successors.exists():
            errors["superseded_by"] = SUPERSEDED_BY_INVALID
    elif data.superseded_by_id is not None:
        errors["superseded_by"] = SUPERSEDED_BY_UNEXPECTED
    if not TalkParty.objects.filter(
        talk=talk, party_id=data.mediator_id, role=TalkParty.Role.MEDIATOR
    ).exists():
        errors["mediator"] = PROPOSAL_MEDIATOR
    numbers = [ph.number for ph in data.phases]
    if not numbers:
        errors["phases"] = PHASES_REQUIRED
    elif len(numbers) > PHASES_LIMIT:
        errors["phases"] = PHASES_TOO_MANY.format(limit=PHASES_LIMIT)
    elif sorted(numbers) != list(range(1, len(numbers) + 1)):
        errors["phases"] = PHASES_NUMBERING
    elif any(len(ph.title) > 200 or len(ph.trigger) > 2000 for ph in data.phases):
        errors["phases"] = PHASE_TEXT_TOO_LONG
    issues = {
        issue.key: issue for issue in Issue.objects.filter(talk=talk).prefetch_related("options")
    }
    seen: set[tuple[str, int]] = set()
    for n, term in enumerate(data.terms, start=1):
        issue = issues.get(term.issue)
        if issue is None:
            errors["terms"] = TERM_UNKNOWN_ISSUE.format(n=n, issue=term.issue)
            break
        problems = evaluation.validate_term(issue_scale(issue=issue), term.phase, term.value)
        if problems:
            message = problems.get("value") or problems["phase"]
            errors["terms"] = TERM_INVALID.format(n=n, issue=issue.title, message=message)
            break
        if term.phase not in numbers:
            errors["terms"] = TERM_PHASE_UNKNOWN.format(n=n, issue=issue.title, phase=term.phase)
            break
        if (term.issue, term.phase) in seen:
            errors["terms"] = TERM_DUPLICATE.format(n=n, issue=issue.title, phase=term.phase)
            break
        seen.add((term.issue, term.phase))
    return errors


def _normalized(data: ProposalInput, numeric: set[str]) -> ProposalInput:
    """`data` in one canonical form, so that equal content compares equal."""
    return data.with_changes(
        title=data.title.strip(),
        phases=tuple(sorted(data.phases, key=lambda ph: ph.number)),
        terms=tuple(
            sorted(
                (
                    replace(t, value=float(t.value) if t.issue in numeric else str(t.value))
                    for t in data.terms
                ),
                key=lambda t: (t.issue, t.phase),
            )
        ),
    )


def _proposal_write(proposal: Proposal, data: ProposalInput) -> None:
    """Replace a saved proposal's phases and terms with validated `data`."""
    proposal.phases.all().delete()
    ProposalPhase.objects.bulk_create(
        ProposalPhase(proposal=proposal, number=ph.number, title=ph.title, trigger=ph.trigger)
        for ph in sorted(data.phases, key=lambda ph: ph.number)
    )
    proposal.terms.all().delete()
    issues = {
        issue.key: issue
        for issue in Issue.objects.filter(talk_id=proposal.talk_id).prefetch_related("options")
    }
    rows = []
    for term in data.terms:
        issue = issues[term.issue]
        numeric = issue.scale_kind == ScaleKind.NUMERIC
        options = {o.key: o for o in issue.options.all()}
        rows.append(
            ProposalTerm(
                proposal=proposal,
                issue=issue,
                phase=term.phase,
                value_number=float(term.value) if numeric else None,
                value_option=None if numeric else options[str(term.value)],
            )
        )
    ProposalTerm.objects.bulk_create(rows)
    getattr(proposal, "_prefetched_objects_cache", {}).clear()


def _proposal_record(
    *, proposal: Proposal, before: Mapping[str, Any], by: Any, via: str, note: str
) -> ProposalRevision:
    after = proposal_snapshot(proposal)
    changes = _diff(before, after)
    revision = ProposalRevision.objects.create(
        proposal=proposal,
        version=proposal.version,
        snapshot=after,
        changes=changes,
        note=note.strip(),
        by=by,
        via=via,
        created_at=proposal.updated_at,
    )
    audit_record(
        action=AuditAction.CREATE if not before else AuditAction.UPDATE,
        object_type=object_type_of(proposal),
        object_id=proposal.pk,
        label=f"{proposal} v{proposal.version}",
        talk_id=proposal.talk_id,
        changes={key: {"before": old, "after": new} for key, (old, new) in changes.items()},
        note=note.strip(),
        user=by,
        interface=via,
    )
    # The talk's pages list its proposals: their cached answers and ETags go stale.
    talk_touch(talk_id=proposal.talk_id)
    return revision


def _note_errors(note: str) -> dict[str, str]:
    return {"note": NOTE_TOO_LONG} if len(note) > 2000 else {}


@transaction.atomic
def proposal_create(
    *,
    talk: Talk,
    data: ProposalInput,
    by: AbstractBaseUser | None,
    via: str,
    note: str = "",
    copied_from: Proposal | None = None,
) -> Proposal:
    """Draft a new proposal (version 1, with its first revision)."""
    errors = _proposal_errors(talk, data)
    if data.status not in (Proposal.Status.DRAFT, Proposal.Status.SHARED):
        errors.setdefault("status", PROPOSAL_STATUS.format(old="new", new=data.status))
    errors.update(_note_errors(note))
    if errors:
        raise ValidationError(errors)
    proposal = Proposal.objects.create(
        talk=talk,
        title=data.title.strip(),
        summary=data.summary,
        mediator_id=data.mediator_id,
        status=data.status,
        copied_from=copied_from,
        created_by=by,
        updated_by=by,
        updated_at=timezone.now(),
    )
    _proposal_write(proposal, data)
    _proposal_record(proposal=proposal, before={}, by=by, via=via, note=note or "Drafted.")
    return proposal


def _lock_proposal(proposal: Proposal, based_on_version: int) -> Proposal:
    current = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("mediator", "talk")
        .get(pk=proposal.pk)
    )
    if current.version != based_on_version:
        raise ProposalConflict(instance=current, based_on_version=based_on_version)
    return current


def _proposal_save(
    current: Proposal, data: ProposalInput, *, by: Any, via: str, note: str
) -> Proposal:
    """Save `data` over the locked, current proposal as its next version (if it changes it)."""
    if current.status not in OPEN_STATUSES:
        raise ValidationError(
            {"status": PROPOSAL_CLOSED.format(status=current.get_status_display().lower())}
        )
    errors = _proposal_errors(current.talk, data, current)
    if "status" not in errors and data.status not in _TRANSITIONS[current.status]:
        errors["status"] = PROPOSAL_STATUS.format(old=current.status, new=data.status)
    errors.update(_note_errors(note))
    if errors:
        raise ValidationError(errors)
    numeric = set(
        Issue.objects.filter(talk_id=current.talk_id, scale_kind=ScaleKind.NUMERIC).values_list(
            "key", flat=True
        )
    )
    before = proposal_snapshot(current)
    if _normalized(proposal_input_from_snapshot(before), numeric) == _normalized(data, numeric):
        return current  # Nothing changed: no new version, no revision.
    current.title = data.title.strip()
    current.summary = data.summary
    current.mediator_id = data.mediator_id
    current.status = data.status
    current.superseded_by_id = data.superseded_by_id
    _proposal_write(current, data)
    current.mediator = Party.objects.get(pk=data.mediator_id)
    current.version += 1
    current.updated_at = timezone.now()
    current.updated_by = by
    current.save()
    _proposal_record(proposal=current, before=before, by=by, via=via, note=note or "Edited.")
    return current


@transaction.atomic
def proposal_update(
    *,
    proposal: Proposal,
    based_on_version: int,
    data: ProposalInput,
    by: AbstractBaseUser | None,
    via: str,
    note: str = "",
) -> Proposal:
    """Replace a proposal's content (terms, phases, status). Refused if stale or closed."""
    current = _lock_proposal(proposal, based_on_version)
    return _proposal_save(current, data, by=by, via=via, note=note)


@transaction.atomic
def _proposal_edit(
    *,
    proposal: Proposal,
    based_on_version: int,
    edit: Callable[[ProposalInput], ProposalInput],
    by: AbstractBaseUser | None,
    via: str,
    note: str,
) -> Proposal:
    """Apply `edit` to the proposal as it stands under the lock, never to a copy read earlier."""
    current = _lock_proposal(proposal, based_on_version)
    return _proposal_save(current, edit(proposal_input_from(current)), by=by, via=via, note=note)


def _value_text(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def proposal_term_set(
    *,
    proposal: Proposal,
    based_on_version: int,
    term: TermInput,
    by: AbstractBaseUser | None,
    via: str,
    note: str = "",
) -> Proposal:
    """Set (add or change) one term, e.g. from the builder."""

    def edit(data: ProposalInput) -> ProposalInput:
        terms = [t for t in data.terms if (t.issue, t.phase) != (term.issue, term.phase)]
        return data.with_changes(terms=(*terms, term))

    return _proposal_edit(
        proposal=proposal,
        based_on_version=based_on_version,
        edit=edit,
        by=by,
        via=via,
        note=note or f"Term on {term.issue}, phase {term.phase}, set to {_value_text(term.value)}.",
    )


def proposal_term_remove(
    *,
    proposal: Proposal,
    based_on_version: int,
    issue: str,
    phase: int,
    by: AbstractBaseUser | None,
    via: str,
    note: str = "",
) -> Proposal:
    def edit(data: ProposalInput) -> ProposalInput:
        terms = tuple(t for t in data.terms if (t.issue, t.phase) != (issue, phase))
        if len(terms) == len(data.terms):
            raise ValidationError({"terms": TERM_NOT_FOUND.format(issue=issue, phase=phase)})
        return data.with_changes(terms=terms)

    return _proposal_edit(
        proposal=proposal,
        based_on_version=based_on_version,
        edit=edit,
        by=by,
        via=via,
        note=note or f"Term on {issue}, phase {phase}, removed.",
    )


def proposal_phase_set(
    *,
    proposal: Proposal,
    based_on_version: int,
    phase: PhaseInput,
    by: AbstractBaseUser | None,
    via: str,
) -> Proposal:
    """Retitle a phase or change its trigger; a number one past the last adds a phase."""

    def edit(data: ProposalInput) -> ProposalInput:
        numbers = [ph.number for ph in data.phases]
        if phase.number not in numbers and phase.number != len(numbers) + 1:
            raise ValidationError({"phases": PHASE_NOT_FOUND.format(number=phase.number)})
        kept = tuple(ph for ph in data.phases if ph.number != phase.number)
        return data.with_changes(phases=(*kept, phase))

    return _proposal_edit(
        proposal=proposal,
        based_on_version=based_on_version,
        edit=edit,
        by=by,
        via=via,
        note=f"Phase {phase.number}: {phase.title or 'untitled'}.",
    )


def proposal_phase_remove(
    *,
    proposal: Proposal,
    based_on_version: int,
    number: int,
    by: AbstractBaseUser | None,
    via: str,
) -> Proposal:
    """Remove a phase with its terms; the later phases move up one number, terms with them."""

    def edit(data: ProposalInput) -> ProposalInput:
        if number not in [ph.number for ph in data.phases]:
            raise ValidationError({"phases": PHASE_NOT_FOUND.format(number=number)})
        if len(data.phases) == 1:
            raise ValidationError({"phases": PHASE_LAST})

        def moved(n: int) -> int:
            return n - 1 if n > number else n

        return data.with_changes(
            phases=tuple(
                replace(ph, number=moved(ph.number)) for ph in data.phases if ph.number != number
            ),
            terms=tuple(replace(t, phase=moved(t.phase)) for t in data.terms if t.phase != number),
        )

    return _proposal_edit(
        proposal=proposal,
        based_on_version=based_on_version,
        edit=edit,
        by=by,
        via=via,
        note=f"Phase {number} removed, with its terms.",
    )


@transaction.atomic
def proposal_copy(
    *,
    proposal: Proposal,
    by: AbstractBaseUser | None,
    via: str,
    title: str = "",
    version: int | None = None,
) -> Proposal:
    """A new draft with the proposal's content (its current version, or an earlier one), e.g.
    to revise a proposal already shared, or to start again from an older version."""
    if version is None:
        current = Proposal.objects.select_related("mediator").get(pk=proposal.pk)
        snapshot = proposal_snapshot(current)
        version = current.version
    else:
        revision = ProposalRevision.objects.filter(proposal=proposal, version=version).first()
        if revision is None:
            raise ValidationError({"version": VERSION_NOT_FOUND.format(version=version)})
        snapshot = revision.snapshot
    source = proposal_input_from_snapshot(snapshot)
    data = source.with_changes(
        title=title.strip() or source.title[: 200 - len(COPY_SUFFIX)] + COPY_SUFFIX,
        status=Proposal.Status.DRAFT,
        superseded_by_id=None,
    )
    return proposal_create(
        talk=proposal.talk,
        data=data,
        by=by,
        via=via,
        note=f"Copied from “{snapshot['title']}” (version {version}).",
        copied_from=proposal,
    )


def proposal_suggest(
    *,
    talk: Talk,
    layer: str,
    mediator_id: int,
    by: AbstractBaseUser | None,
    via: str,
    title: str = "",
) -> Proposal:
    """A starting draft: one phase-1 term per issue at its bridging point on `layer`."""
    from issues.selectors import talk_gap_inputs

    if layer not in Layer.values:
        raise ValidationError({"layer": LAYER_INVALID})
    inputs = talk_gap_inputs(talk_id=talk.pk, layer=layer)
    terms = tuple(
        TermInput(issue=t.issue_key, phase=t.phase, value=t.value)
        for t in evaluation.suggest_package(inputs)
    )
    left_out = [i.title for i in inputs if i.key not in {t.issue for t in terms}]
    summary = (
        f"Each issue at the bridging point of the {layer} positions: the point that asks "
        "the least priority-weighted concession of the principals."
    )
    if left_out:
        summary += f" Left out for want of positions: {', '.join(left_out)}."
    return proposal_create(
        talk=talk,
        data=ProposalInput(
            title=title or f"Bridging package ({layer} positions)",
            mediator_id=mediator_id,
            summary=summary,
            terms=terms,
        ),
        by=by,
        via=via,
        note=f"Suggested from the bridging points of the {layer} layer.",
    )


__all__ = [
    "Interface",
    "LinkInput",
    "PhaseInput",
    "PositionConflict",
    "PositionInput",
    "ProposalConflict",
    "ProposalInput",
    "SourceConflict",
    "SourceInput",
    "TermInput",
    "position_create",
    "position_delete",
    "position_input_from",
    "position_snapshot",
    "position_update",
    "position_validate",
    "proposal_copy",
    "proposal_create",
    "proposal_input_from",
    "proposal_input_from_snapshot",
    "proposal_phase_remove",
    "proposal_phase_set",
    "proposal_snapshot",
    "proposal_suggest",
    "proposal_term_remove",
    "proposal_term_set",
    "proposal_update",
    "source_create",
    "source_delete",
    "source_update",
]
