"""How a mediator's package of terms lands with each principal.

Pure Python with no Django import, on the types of ``issues.gaps``. A package is a set of
``Term``s, each fixing one issue at one phase (1, 2, ...). ``evaluate_package`` checks
every term against every principal's position on that issue, and every ``Condition``
("Hamas accepts governance only if withdrawal is full or complete") across the package.

Rules the design leaves open:

* Distances are those of ``issues.gaps``: numeric in the scale's unit over its width,
  ordinal in option steps over ``n - 1``, categorical 0 or 1 (inside or outside).
* A term is accepted by a principal when it lies inside the principal's acceptable set;
  otherwise ``beyond`` says how far past the red line it falls. ``concession`` is the
  distance from the principal's demand, whether accepted or not.
* Satisfaction of a principal: the sum over the terms on issues where it has a position
  of priority times (1 - concession), over the sum of those priorities. A term at each of
  two phases counts twice. None when no term concerns the principal.
* Phases: a term stays in force until a later phase sets the same issue again. A
  condition on issue I is checked once for every term on I, against the term on J in the
  same phase, or else the latest earlier one. With no term on J in force the condition is
  broken by the whole scale (miss 1). With no term on I there is nothing to check.
* Conditions are checked whether or not their party has a position on I.
* ``blocking`` lists rejected (term, principal) pairs and broken conditions together,
  the furthest miss first, then by issue (package order), phase, kind and party.
* Results are ordered by issue (in the order of the ``issues`` argument), phase and
  party name, so the order of terms, positions and conditions does not matter.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from issues.gaps import (
    DECIMALS,
    MIN_GAP,
    IssueInput,
    PartyPosition,
    Scale,
    ScaleKind,
    ScaleValue,
    compute_issue,
    validate_position,
    validate_scale,
    validate_value,
)

UNKNOWN_ISSUE = "This issue is not part of the talk."
PHASE_OUT_OF_RANGE = "Phase must be a whole number from 1 up."
DUPLICATE_TERM = "The package already sets this issue in this phase."
RANGE_REQUIRED = "Give the range as two numbers (low, high) on the issue's scale."
OPTIONS_REQUIRED = "Give a non-empty set of the issue's options."


# --- Inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    issue_key: str
    phase: int
    value: ScaleValue


@dataclass(frozen=True, slots=True)
class Condition:
    """``party`` accepts its position on ``issue_key`` only if ``on_issue_key`` is within.

    ``within`` is a (low, high) range on a numeric issue, a set of option keys otherwise.
    """

    party: str
    issue_key: str
    on_issue_key: str
    within: tuple[float, float] | frozenset[str]


# --- Outputs ------------------------------------------------------------------------------


class BlockerKind(StrEnum):
    TERM = "term"
    CONDITION = "condition"


@dataclass(frozen=True, slots=True)
class TermVerdict:
    """One term as one principal sees it: shares in [0, 1], amounts in the scale's unit."""

    issue_key: str
    phase: int
    value: ScaleValue
    party: str
    accepted: bool
    beyond: float
    beyond_amount: float
    concession: float
    concession_amount: float


@dataclass(frozen=True, slots=True)
class PartySatisfaction:
    party: str
    satisfaction: float | None
    terms: int


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    """A condition checked for the term on its issue at ``phase``.

    ``against_phase`` and ``value``: the term on ``on_issue_key`` in force then (None if
    there is none). ``miss``: normalized distance of that value from ``within``.
    """

    condition: Condition
    phase: int
    against_phase: int | None
    value: ScaleValue | None
    met: bool
    miss: float
    miss_amount: float


@dataclass(frozen=True, slots=True)
class Blocker:
    kind: BlockerKind
    party: str
    issue_key: str
    phase: int
    miss: float
    miss_amount: float
    on_issue_key: str | None = None


@dataclass(frozen=True, slots=True)
class PackageEvaluation:
    acceptable: bool
    verdicts: tuple[TermVerdict, ...]
    satisfaction: tuple[PartySatisfaction, ...]
    conditions: tuple[ConditionCheck, ...]
    blocking: tuple[Blocker, ...]

    def satisfaction_of(self, party: str) -> float | None:
        for entry in self.satisfaction:
            if entry.party == party:
                return entry.satisfaction
        raise KeyError(party)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict for the API and for storing with the proposal."""
        return {
            "acceptable": self.acceptable,
            "verdicts": [
                {
                    "issue_key": v.issue_key,
                    "phase": v.phase,
                    "value": v.value,
                    "party": v.party,
                    "accepted": v.accepted,
                    "beyond": v.beyond,
                    "beyond_amount": v.beyond_amount,
                    "concession": v.concession,
                    "concession_amount": v.concession_amount,
                }
                for v in self.verdicts
            ],
            "satisfaction": [
                {"party": s.party, "satisfaction": s.satisfaction, "terms": s.terms}
                for s in self.satisfaction
            ],
            "conditions": [
                {
                    "condition": _condition_to_dict(c.condition),
                    "phase": c.phase,
                    "against_phase": c.against_phase,
                    "value": c.value,
                    "met": c.met,
                    "miss": c.miss,
                    "miss_amount": c.miss_amount,
                }
                for c in self.conditions
            ],
            "blocking": [
                {
                    "kind": str(b.kind),
                    "party": b.party,
                    "issue_key": b.issue_key,
                    "phase": b.phase,
                    "miss": b.miss,
                    "miss_amount": b.miss_amount,
                    "on_issue_key": b.on_issue_key,
                }
                for b in self.blocking
            ],
        }


# --- Validation ---------------------------------------------------------------------------


def validate_term(scale: Scale, phase: object, value: object) -> dict[str, str]:
    """Field -> message (``phase``, ``value``) for one term; empty when it fits."""
    errors: dict[str, str] = {}
    if isinstance(phase, bool) or not isinstance(phase, int) or phase < 1:
        errors["phase"] = PHASE_OUT_OF_RANGE
    message = validate_value(scale, value)
    if message:
        errors["value"] = message
    return errors


def validate_condition(on_scale: Scale, within: object) -> dict[str, str]:
    """Field -> message (``within``) for a condition on an issue with scale ``on_scale``."""
    if on_scale.kind == ScaleKind.NUMERIC:
        if (
            not isinstance(within, tuple)
            or len(within) != 2
            or any(validate_value(on_scale, bound) for bound in within)
        ):
            return {"within": RANGE_REQUIRED}
        return {}
    if (
        not isinstance(within, Collection)
        or isinstance(within, str | bytes | tuple)
        or not within
        or any(validate_value(on_scale, key) for key in within)
    ):
        return {"within": OPTIONS_REQUIRED}
    return {}


# --- Evaluation ---------------------------------------------------------------------------


class _Ruler(NamedTuple):
    """Distances on one issue's scale."""

    kind: ScaleKind
    width: float
    option_index: Mapping[str, int]

    def at(self, value: ScaleValue) -> float:
        if self.kind == ScaleKind.ORDINAL:
            return self.option_index[str(value)]
        return float(value)


def evaluate_package(
    issues: Sequence[IssueInput],
    terms: Sequence[Term],
    conditions: Sequence[Condition] = (),
) -> PackageEvaluation:
    """Evaluate ``terms`` against every principal of ``issues``, and check ``conditions``.

    Raises ValueError for a term or condition that names an unknown issue or does not fit
    its scale, for two terms on one issue in one phase, and for invalid positions.
    """
    by_key = {issue.key: issue for issue in issues}
    order = {issue.key: i for i, issue in enumerate(issues)}
    rulers = {issue.key: _ruler(issue) for issue in issues}
    _check_terms(by_key, terms)
    for condition in conditions:
        _check_condition(by_key, condition)

    ordered_terms = sorted(terms, key=lambda t: (order[t.issue_key], t.phase))
    principals = list(dict.fromkeys(p for issue in issues for p in issue.principals))
    positions = {issue.key: _principal_positions(issue) for issue in issues}

    verdicts: list[TermVerdict] = []
    weighted: dict[str, list[tuple[int, float]]] = {party: [] for party in principals}
    for term in ordered_terms:
        scale = by_key[term.issue_key].scale
        ruler = rulers[term.issue_key]
        for position in positions[term.issue_key]:
            verdict, concession = _verdict(term, scale, ruler, position)
            verdicts.append(verdict)
            weighted[position.party].append((position.priority, concession))

    satisfaction = tuple(
        PartySatisfaction(party, _satisfaction(weighted[party]), len(weighted[party]))
        for party in sorted(principals)
    )

    in_force = _terms_by_issue(ordered_terms)
    checks = [
        _check(condition, term, in_force.get(condition.on_issue_key, []), rulers)
        for condition in conditions
        for term in ordered_terms
        if term.issue_key == condition.issue_key
    ]
    checks.sort(key=lambda c: _check_order(c, order))

    blocking = [
        Blocker(BlockerKind.TERM, v.party, v.issue_key, v.phase, v.beyond, v.beyond_amount, None)
        for v in verdicts
        if not v.accepted
    ]
    blocking.extend(
        Blocker(
            BlockerKind.CONDITION,
            c.condition.party,
            c.condition.issue_key,
            c.phase,
            c.miss,
            c.miss_amount,
            c.condition.on_issue_key,
        )
        for c in checks
        if not c.met
    )
    blocking.sort(
        key=lambda b: (
            -b.miss,
            order[b.issue_key],
            b.phase,
            b.kind != BlockerKind.TERM,
            b.party,
            order.get(b.on_issue_key or "", -1),
        )
    )
    return PackageEvaluation(
        acceptable=not blocking,
        verdicts=tuple(verdicts),
        satisfaction=satisfaction,
        conditions=tuple(checks),
        blocking=tuple(blocking),
    )


def suggest_package(issues: Sequence[IssueInput]) -> tuple[Term, ...]:
    """One phase-1 term per issue at its bridging point; issues lacking positions are left out."""
    suggested = []
    for issue in issues:
        bridging = compute_issue(issue).bridging
        if bridging is not None:
            suggested.append(Term(issue.key, 1, bridging.point))
    return tuple(suggested)


def _ruler(issue: IssueInput) -> _Ruler:
    scale = issue.scale
    problems = validate_scale(scale)
    if problems:
        raise ValueError(f"issue {issue.key!r}: invalid scale: {problems}")
    index = {option.key: i for i, option in enumerate(scale.options)}
    if scale.kind == ScaleKind.NUMERIC:
        width = float(scale.maximum) - float(scale.minimum)  # type: ignore[arg-type]
    elif scale.kind == ScaleKind.ORDINAL:
        width = float(len(index) - 1)
    else:
        width = 1.0
    return _Ruler(ScaleKind(scale.kind), width, index)


def _principal_positions(issue: IssueInput) -> list[PartyPosition]:
    principals = set(issue.principals)
    chosen: dict[str, PartyPosition] = {}
    for position in issue.positions:
        if position.party not in principals:
            continue
        if position.party in chosen:
            raise ValueError(f"issue {issue.key!r}: two positions for {position.party!r}")
        errors = validate_position(
            issue.scale,
            position.demand,
            position.red_line,
            position.acceptable,
            priority=position.priority,
        )
        if errors:
            raise ValueError(
                f"issue {issue.key!r}: invalid position of {position.party!r}: {errors}"
            )
        chosen[position.party] = position
    return [chosen[party] for party in sorted(chosen)]


def _check_terms(by_key: Mapping[str, IssueInput], terms: Sequence[Term]) -> None:
    seen: set[tuple[str, int]] = set()
    for term in terms:
        issue = by_key.get(term.issue_key)
        if issue is None:
            raise ValueError(f"term {term!r}: {UNKNOWN_ISSUE}")
        errors = validate_term(issue.scale, term.phase, term.value)
        if errors:
            raise ValueError(f"term {term!r}: {errors}")
        if (term.issue_key, term.phase) in seen:
            raise ValueError(f"term {term!r}: {DUPLICATE_TERM}")
        seen.add((term.issue_key, term.phase))


def _check_condition(by_key: Mapping[str, IssueInput], condition: Condition) -> None:
    if condition.issue_key not in by_key or condition.on_issue_key not in by_key:
        raise ValueError(f"condition {condition!r}: {UNKNOWN_ISSUE}")
    errors = validate_condition(by_key[condition.on_issue_key].scale, condition.within)
    if errors:
        raise ValueError(f"condition {condition!r}: {errors}")


def _verdict(
    term: Term, scale: Scale, ruler: _Ruler, position: PartyPosition
) -> tuple[TermVerdict, float]:
    """The verdict, and the unrounded normalized concession for the satisfaction sum."""
    if ruler.kind == ScaleKind.CATEGORICAL:
        beyond_amount = 0.0 if term.value in position.acceptable else 1.0
        concession_amount = 0.0 if term.value == position.demand else 1.0
    else:
        x = ruler.at(term.value)
        demand = ruler.at(position.demand)
        red_line = ruler.at(position.red_line)  # type: ignore[arg-type]
        beyond_amount = _outside(x, min(demand, red_line), max(demand, red_line))
        concession_amount = abs(x - demand)
    concession = concession_amount / ruler.width
    value = float(term.value) if scale.kind == ScaleKind.NUMERIC else term.value
    verdict = TermVerdict(
        issue_key=term.issue_key,
        phase=term.phase,
        value=value,
        party=position.party,
        accepted=beyond_amount == 0.0,
        beyond=_miss(beyond_amount, ruler.width),
        beyond_amount=_amount(beyond_amount),
        concession=_miss(concession_amount, ruler.width),
        concession_amount=_amount(concession_amount),
    )
    return verdict, min(1.0, concession)


def _satisfaction(weighted: list[tuple[int, float]]) -> float | None:
    if not weighted:
        return None
    total = sum(priority for priority, _ in weighted)
    kept = sum(priority * (1.0 - concession) for priority, concession in weighted)
    return _share(kept / total)


def _terms_by_issue(terms: Sequence[Term]) -> dict[str, list[Term]]:
    by_issue: dict[str, list[Term]] = {}
    for term in terms:
        by_issue.setdefault(term.issue_key, []).append(term)
    return by_issue


def _check(
    condition: Condition, term: Term, on_terms: Sequence[Term], rulers: Mapping[str, _Ruler]
) -> ConditionCheck:
    ruler = rulers[condition.on_issue_key]
    earlier = [t for t in on_terms if t.phase <= term.phase]
    if not earlier:
        return ConditionCheck(
            condition, term.phase, None, None, met=False, miss=1.0, miss_amount=ruler.width
        )
    against = max(earlier, key=lambda t: t.phase)
    within = condition.within
    # validate_condition made ``within`` a range on a numeric scale, a set of keys otherwise.
    if isinstance(within, tuple):
        low, high = sorted(float(bound) for bound in within)
        miss_amount = _outside(float(against.value), low, high)
    elif ruler.kind == ScaleKind.ORDINAL:
        x = ruler.at(against.value)
        miss_amount = min(abs(x - ruler.at(key)) for key in within)
    else:
        miss_amount = 0.0 if against.value in within else 1.0
    value = float(against.value) if ruler.kind == ScaleKind.NUMERIC else against.value
    return ConditionCheck(
        condition,
        term.phase,
        against.phase,
        value,
        met=miss_amount == 0.0,
        miss=_miss(miss_amount, ruler.width),
        miss_amount=_amount(miss_amount),
    )


def _check_order(check: ConditionCheck, order: Mapping[str, int]) -> tuple[Any, ...]:
    condition = check.condition
    within = condition.within
    spelled = tuple(sorted(within)) if isinstance(within, frozenset) else within
    return (
        order[condition.issue_key],
        check.phase,
        condition.party,
        order[condition.on_issue_key],
        tuple(str(part) for part in spelled),
    )


def _outside(x: float, low: float, high: float) -> float:
    if x < low:
        return low - x
    if x > high:
        return x - high
    return 0.0


def _share(value: float) -> float:
    return min(1.0, max(0.0, round(value, DECIMALS)))


def _miss(distance: float, width: float) -> float:
    """``distance / width`` as a share, but a real miss never rounds to 0: 0 means inside."""
    return 0.0 if distance <= 0.0 else min(1.0, max(MIN_GAP, round(distance / width, DECIMALS)))


def _amount(value: float) -> float:
    return max(0.0, float(round(value, DECIMALS)))


def _condition_to_dict(condition: Condition) -> dict[str, Any]:
    within = condition.within
    return {
        "party": condition.party,
        "issue_key": condition.issue_key,
        "on_issue_key": condition.on_issue_key,
        "within": sorted(within) if isinstance(within, frozenset) else list(within),
    }


# --- Comparison ---------------------------------------------------------------------------


class ChangeKind(StrEnum):
    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class TermChange:
    """One (issue, phase) of two packages side by side."""

    issue_key: str
    phase: int
    before: ScaleValue | None
    after: ScaleValue | None
    kind: ChangeKind


def compare_packages(
    before: Sequence[Term], after: Sequence[Term], issue_order: Sequence[str] = ()
) -> tuple[TermChange, ...]:
    """Every (issue, phase) set by either package, in issue order then phase."""
    rank = {key: i for i, key in enumerate(issue_order)}
    old = {(t.issue_key, t.phase): t.value for t in before}
    new = {(t.issue_key, t.phase): t.value for t in after}
    changes = []
    for key in sorted(old.keys() | new.keys(), key=lambda k: (rank.get(k[0], len(rank)), k)):
        a, b = old.get(key), new.get(key)
        if a is None:
            kind = ChangeKind.ADDED
        elif b is None:
            kind = ChangeKind.REMOVED
        elif _same_value(a, b):
            kind = ChangeKind.SAME
        else:
            kind = ChangeKind.CHANGED
        changes.append(TermChange(key[0], key[1], a, b, kind))
    return tuple(changes)


def _same_value(a: ScaleValue, b: ScaleValue) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return abs(float(a) - float(b)) <= 10.0**-DECIMALS
