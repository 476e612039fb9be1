"""The gap engine: how far apart the principals of a talk stand on one issue.

Pure Python with no Django import: a selector turns rows into an ``IssueInput``,
``compute_issue`` returns an ``IssueGap``, and a service stores it with ``to_dict`` and
rebuilds it with ``IssueGap.from_dict`` to compute the ``trend``.

The semantics follow DESIGN.md ("Gap semantics"). Where the design leaves a choice open:

* Distances. A numeric scale is measured in its own unit and normalized by
  ``maximum - minimum``; an ordinal scale in option steps, normalized by ``n - 1``. A
  categorical scale only knows inside or outside: an option is at distance 0 from an
  acceptable set holding it and 1 from one that does not.
* Only principals count. Positions of other parties (mediators, observers) are ignored;
  a principal has at most one position. A categorical position's ``red_line`` is unused:
  its ``acceptable`` set is its red line.
* Figures (gap, zone width, demand spread, concession shares) are rounded to 6 decimals
  and lie in [0, 1]. A gap or a concession is never rounded down to 0, so ``gap == 0``
  exactly when the status is ``zone``, and a concession is 0 exactly when none is needed. Scale values copied from the input (bounds, bridging point) are
  kept as given; amounts in the scale's unit are rounded to 6 decimals.
* Categorical gap: ``(k - c) / k`` where ``c`` is the largest number of the ``k``
  principals that accept one same option. Categorical demand spread, by analogy: the
  share of principals not demanding the most demanded option (0 when all agree).
* Blocking (status ``gap`` only). Numeric and ordinal: ``high_side`` is the party whose
  lower bound is highest, ``low_side`` the party whose upper bound is lowest (ties: first
  by name). ``amount`` is the distance between those two bounds in the scale's unit
  (steps on an ordinal scale): the smallest total concession that can open a zone.
  ``either_of`` lists the sides that could open one alone by conceding ``amount`` while
  every other principal holds; with two principals that is both. Categorical: ``option``
  is the option acceptable to most principals (ties: the smallest total priority asked
  to move, then scale order), ``must_add`` the principals that would all have to accept
  it, ``amount`` their number.
* Bridging point: minimizes the sum of priority times normalized distance to each
  acceptable set; among equal points, the sum of priority times distance to each demand;
  then the lowest point (the first option in scale order). On numeric and ordinal scales
  both sums are convex and piecewise linear, and the minimizers are found exactly from
  the signs of their slopes; with a zone, the bridging point always lies inside it.
* Results indexed by party are ordered by party name and every sum runs in that order,
  so shuffling the input positions gives an identical result.
* Trend. "The previous summary" is the last stored one whose figures differ
  (``figures_key``: every figure, the narrative and position versions aside), so a
  recomputation that moves nothing keeps the trend and its date ("narrowed by 0.10 since
  13 Oct"). It compares ``distance``: the gap, or minus the zone's width, so a zone opening
  is a narrowing. Gaining or losing the second position starts over as ``new``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import combinations
from typing import Any, NamedTuple

DECIMALS = 6
TOLERANCE = 1e-9
# Smallest gap a stored figure can show: a real gap never reads as 0 after rounding.
MIN_GAP = 10.0**-DECIMALS

# Validation messages, shared by services, serializers and forms.
NUMBER_REQUIRED = "Enter a number: this issue is measured on a numeric scale."
OPTION_REQUIRED = "Choose one of the issue's options: this issue is not measured in numbers."
OUTSIDE_SCALE = "This value lies outside the issue's scale."
UNKNOWN_OPTION = "This option does not belong to the issue."
RED_LINE_REQUIRED = "A red line is required on this scale."
DEMAND_NOT_ACCEPTABLE = "The demand must be one of the party's acceptable options."
ACCEPTABLE_REQUIRED = "Choose at least one acceptable option."
ACCEPTABLE_WRONG_TYPE = "Acceptable options must be a set of option keys."
ACCEPTABLE_NOT_USED = "Only categorical issues take a set of acceptable options."
PRIORITY_OUT_OF_RANGE = "Priority must be a whole number from 1 to 5."
SCALE_BOUNDS_REQUIRED = "A numeric scale needs a minimum and a maximum."
SCALE_BOUNDS_ORDER = "The scale's maximum must be greater than its minimum."
SCALE_OPTIONS_REQUIRED = "A scale of options needs at least two options."
SCALE_OPTIONS_DUPLICATE = "Each option key may appear only once."

PRIORITY_MIN = 1
PRIORITY_MAX = 5

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

ScaleValue = float | str


class ScaleKind(StrEnum):
    NUMERIC = "numeric"
    ORDINAL = "ordinal"
    CATEGORICAL = "categorical"


class Status(StrEnum):
    ZONE = "zone"
    GAP = "gap"
    INSUFFICIENT = "insufficient"


class TrendDirection(StrEnum):
    NARROWED = "narrowed"
    WIDENED = "widened"
    UNCHANGED = "unchanged"
    NEW = "new"


# --- Inputs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Scale:
    kind: ScaleKind
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    options: tuple[Option, ...] = ()
    max_label: str = ""


@dataclass(frozen=True, slots=True)
class PartyPosition:
    party: str
    demand: ScaleValue
    red_line: ScaleValue | None
    acceptable: frozenset[str] = frozenset()
    priority: int = 3
    version: int = 0


@dataclass(frozen=True, slots=True)
class IssueInput:
    key: str
    title: str
    priority: int
    scale: Scale
    principals: tuple[str, ...]
    positions: tuple[PartyPosition, ...]


# --- Outputs ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AcceptableSet:
    """A principal's acceptable set A_p.

    Numeric: ``low``/``high`` are numbers. Ordinal: option keys, with ``options`` the keys
    from low to high. Categorical: ``low``/``high`` are None, ``options`` in scale order.
    """

    party: str
    low: ScaleValue | None
    high: ScaleValue | None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Zone:
    """The zone of possible agreement, shaped like an ``AcceptableSet``."""

    low: ScaleValue | None
    high: ScaleValue | None
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Blocking:
    """What keeps a zone from opening; see the module docstring."""

    high_side: str | None
    low_side: str | None
    amount: float
    share: float
    either_of: tuple[str, ...] = ()
    option: str | None = None
    must_add: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Concession:
    """How far a party would move to reach a point: normalized, and in the scale's unit."""

    party: str
    share: float
    amount: float


@dataclass(frozen=True, slots=True)
class Bridging:
    point: ScaleValue
    concessions: tuple[Concession, ...]


@dataclass(frozen=True, slots=True)
class PairGap:
    first: str
    second: str
    status: Status
    gap: float
    zone_width: float


@dataclass(frozen=True, slots=True)
class IssueGap:
    key: str
    kind: ScaleKind
    status: Status
    zone: Zone | None
    zone_width: float
    gap: float
    demand_spread: float
    acceptable: tuple[AcceptableSet, ...]
    blocking: Blocking | None
    bridging: Bridging | None
    pairwise: tuple[PairGap, ...]
    missing: tuple[str, ...]
    narrative: str
    versions: tuple[tuple[str, int], ...]

    @property
    def distance(self) -> float:
        """One signed figure for trends: the gap, or minus the zone's width."""
        return self.gap if self.gap > 0 else -self.zone_width

    def figures_key(self) -> tuple[object, ...]:
        """Every figure: when it differs, "a figure changed" (the narrative and versions aside,
        since they follow from the figures or only stamp them)."""
        return (
            self.status,
            self.gap,
            self.zone,
            self.zone_width,
            self.demand_spread,
            self.acceptable,
            self.blocking,
            self.bridging,
            self.pairwise,
            self.missing,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (lists, str, float, int, None only)."""
        return {
            "key": self.key,
            "kind": str(self.kind),
            "status": str(self.status),
            "zone": _zone_to_dict(self.zone),
            "zone_width": self.zone_width,
            "gap": self.gap,
            "demand_spread": self.demand_spread,
            "acceptable": [
                {"party": a.party, "low": a.low, "high": a.high, "options": list(a.options)}
                for a in self.acceptable
            ],
            "blocking": _blocking_to_dict(self.blocking),
            "bridging": _bridging_to_dict(self.bridging),
            "pairwise": [
                {
                    "first": p.first,
                    "second": p.second,
                    "status": str(p.status),
                    "gap": p.gap,
                    "zone_width": p.zone_width,
                }
                for p in self.pairwise
            ],
            "missing": list(self.missing),
            "narrative": self.narrative,
            "versions": dict(self.versions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IssueGap:
        """Rebuild what ``to_dict`` produced, after a trip through JSON."""
        kind = ScaleKind(data["kind"])
        zone = data["zone"]
        blocking = data["blocking"]
        bridging = data["bridging"]
        return cls(
            key=data["key"],
            kind=kind,
            status=Status(data["status"]),
            zone=None
            if zone is None
            else Zone(
                low=_value_from_json(kind, zone["low"]),
                high=_value_from_json(kind, zone["high"]),
                options=tuple(zone["options"]),
            ),
            zone_width=float(data["zone_width"]),
            gap=float(data["gap"]),
            demand_spread=float(data["demand_spread"]),
            acceptable=tuple(
                AcceptableSet(
                    party=a["party"],
                    low=_value_from_json(kind, a["low"]),
                    high=_value_from_json(kind, a["high"]),
                    options=tuple(a["options"]),
                )
                for a in data["acceptable"]
            ),
            blocking=None
            if blocking is None
            else Blocking(
                high_side=blocking["high_side"],
                low_side=blocking["low_side"],
                amount=float(blocking["amount"]),
                share=float(blocking["share"]),
                either_of=tuple(blocking["either_of"]),
                option=blocking["option"],
                must_add=tuple(blocking["must_add"]),
            ),
            bridging=None
            if bridging is None
            else Bridging(
                point=_point_from_json(kind, bridging["point"]),
                concessions=tuple(
                    Concession(party=c["party"], share=float(c["share"]), amount=float(c["amount"]))
                    for c in bridging["concessions"]
                ),
            ),
            pairwise=tuple(
                PairGap(
                    first=p["first"],
                    second=p["second"],
                    status=Status(p["status"]),
                    gap=float(p["gap"]),
                    zone_width=float(p["zone_width"]),
                )
                for p in data["pairwise"]
            ),
            missing=tuple(data["missing"]),
            narrative=data["narrative"],
            versions=tuple(sorted((str(p), int(v)) for p, v in data["versions"].items())),
        )


@dataclass(frozen=True, slots=True)
class Trend:
    """``delta`` is the change of ``IssueGap.distance``: negative when the gap narrowed."""

    direction: TrendDirection
    delta: float


@dataclass(frozen=True, slots=True)
class BlockingIssue:
    key: str
    title: str
    gap: float
    priority: int
    weight: float


@dataclass(frozen=True, slots=True)
class TalkRollup:
    with_zone: tuple[str, ...]
    blocking: tuple[BlockingIssue, ...]
    insufficient: tuple[str, ...]
    deal_feasible: bool
    zone_count: int
    gap_count: int
    insufficient_count: int


# --- Validation ---------------------------------------------------------------------------


def validate_scale(scale: Scale) -> dict[str, str]:
    """Field -> message for a malformed scale; empty when the scale is usable."""
    errors: dict[str, str] = {}
    if scale.kind == ScaleKind.NUMERIC:
        low, high = scale.minimum, scale.maximum
        if not _is_number(low) or not _is_number(high):
            errors["minimum" if not _is_number(low) else "maximum"] = SCALE_BOUNDS_REQUIRED
        elif float(high) <= float(low):  # type: ignore[arg-type]
            errors["maximum"] = SCALE_BOUNDS_ORDER
    else:
        keys = [option.key for option in scale.options]
        if len(keys) < 2:
            errors["options"] = SCALE_OPTIONS_REQUIRED
        elif len(set(keys)) != len(keys):
            errors["options"] = SCALE_OPTIONS_DUPLICATE
    return errors


def validate_position(
    scale: Scale,
    demand: object,
    red_line: object,
    acceptable: Collection[str] = frozenset(),
    *,
    priority: object = None,
) -> dict[str, str]:
    """Field -> message (``demand``, ``red_line``, ``acceptable``, ``priority``).

    Empty when the position fits the scale. A categorical position's ``red_line`` is not
    checked: its ``acceptable`` set plays that part. ``priority`` is checked when given.
    """
    keys = {option.key for option in scale.options}
    errors = _position_errors(scale, keys, demand, red_line, acceptable)
    if priority is not None and not _valid_priority(priority):
        errors["priority"] = PRIORITY_OUT_OF_RANGE
    return errors


def validate_value(scale: Scale, value: object) -> str:
    """The message for one scale value (a number, or an option key), or "" when it fits."""
    if scale.kind == ScaleKind.NUMERIC:
        return _number_error(scale, value)
    return _option_error({option.key for option in scale.options}, value)


def _position_errors(
    scale: Scale, keys: Collection[str], demand: object, red_line: object, acceptable: object
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if scale.kind == ScaleKind.CATEGORICAL:
        message = _option_error(keys, demand)
        if message:
            errors["demand"] = message
        if not isinstance(acceptable, Collection) or isinstance(acceptable, str | bytes):
            errors["acceptable"] = ACCEPTABLE_WRONG_TYPE
        elif not acceptable:
            errors["acceptable"] = ACCEPTABLE_REQUIRED
        elif not all(isinstance(key, str) for key in acceptable):
            errors["acceptable"] = ACCEPTABLE_WRONG_TYPE
        elif not all(key in keys for key in acceptable):
            errors["acceptable"] = UNKNOWN_OPTION
        elif "demand" not in errors and demand not in acceptable:
            errors["demand"] = DEMAND_NOT_ACCEPTABLE
        return errors

    check = _number_error if scale.kind == ScaleKind.NUMERIC else _option_error
    bounds: Any = scale if scale.kind == ScaleKind.NUMERIC else keys
    message = check(bounds, demand)
    if message:
        errors["demand"] = message
    if red_line is None:
        errors["red_line"] = RED_LINE_REQUIRED
    else:
        message = check(bounds, red_line)
        if message:
            errors["red_line"] = message
    if acceptable:
        errors["acceptable"] = ACCEPTABLE_NOT_USED
    return errors


def _number_error(scale: Scale, value: object) -> str:
    if not _is_number(value):
        return NUMBER_REQUIRED
    number = float(value)  # type: ignore[arg-type]
    if (scale.minimum is not None and number < scale.minimum) or (
        scale.maximum is not None and number > scale.maximum
    ):
        return OUTSIDE_SCALE
    return ""


def _option_error(keys: Collection[str], value: object) -> str:
    if not isinstance(value, str):
        return OPTION_REQUIRED
    if value not in keys:
        return UNKNOWN_OPTION
    return ""


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _valid_priority(value: object) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and PRIORITY_MIN <= value <= PRIORITY_MAX
    )


# --- Computation --------------------------------------------------------------------------


class _Span(NamedTuple):
    """A principal on a numeric or ordinal scale, in coordinates (numbers or indices)."""

    party: str
    priority: int
    demand: float
    red_line: float
    low: float
    high: float


class _Choice(NamedTuple):
    """A principal on a categorical scale."""

    party: str
    priority: int
    demand: str
    acceptable: frozenset[str]


class _Figures(NamedTuple):
    status: Status
    zone: Zone | None
    zone_width: float
    gap: float
    demand_spread: float
    acceptable: tuple[AcceptableSet, ...]
    blocking: Blocking | None
    bridging: Bridging | None
    pairwise: tuple[PairGap, ...]
    narrative: str


def compute_issue(issue: IssueInput) -> IssueGap:
    """The gap figures for one issue among the principals that have a position.

    Raises ValueError for a malformed scale or position (``validate_scale`` and
    ``validate_position`` say what is wrong in a form the user can act on).
    """
    scale = issue.scale
    problems = validate_scale(scale)
    if problems:
        raise ValueError(f"issue {issue.key!r}: invalid scale: {problems}")
    keys = tuple(option.key for option in scale.options)
    principals = tuple(dict.fromkeys(issue.principals))
    wanted = set(principals)
    by_party: dict[str, PartyPosition] = {}
    for position in issue.positions:
        if position.party not in wanted:
            continue
        if position.party in by_party:
            raise ValueError(f"issue {issue.key!r}: two positions for {position.party!r}")
        errors = _position_errors(
            scale, keys, position.demand, position.red_line, position.acceptable
        )
        if not _valid_priority(position.priority):
            errors["priority"] = PRIORITY_OUT_OF_RANGE
        if errors:
            raise ValueError(
                f"issue {issue.key!r}: invalid position of {position.party!r}: {errors}"
            )
        by_party[position.party] = position
    positions = [by_party[party] for party in sorted(by_party)]
    missing = tuple(party for party in principals if party not in by_party)

    if scale.kind == ScaleKind.CATEGORICAL:
        # Sentences name parties in the talk's order of principals, data in name order.
        present = [party for party in principals if party in by_party]
        figures = _categorical(scale, keys, positions, missing, present)
    else:
        figures = _linear(scale, keys, positions, missing)
    return IssueGap(
        key=issue.key,
        kind=ScaleKind(scale.kind),
        status=figures.status,
        zone=figures.zone,
        zone_width=figures.zone_width,
        gap=figures.gap,
        demand_spread=figures.demand_spread,
        acceptable=figures.acceptable,
        blocking=figures.blocking,
        bridging=figures.bridging,
        pairwise=figures.pairwise,
        missing=missing,
        narrative=figures.narrative,
        versions=tuple((p.party, p.version) for p in positions),
    )


def _linear(
    scale: Scale, keys: tuple[str, ...], positions: list[PartyPosition], missing: tuple[str, ...]
) -> _Figures:
    ordinal = scale.kind == ScaleKind.ORDINAL
    if ordinal:
        index = {key: i for i, key in enumerate(keys)}
        width = float(len(keys) - 1)

        def coordinate(value: ScaleValue) -> float:
            return index[value]  # type: ignore[index]

        def out(value: float) -> ScaleValue:
            return keys[int(value)]

    else:
        width = float(scale.maximum) - float(scale.minimum)  # type: ignore[arg-type]

        def coordinate(value: ScaleValue) -> float:
            return float(value)

        def out(value: float) -> ScaleValue:
            return value

    spans = []
    for p in positions:
        demand = coordinate(p.demand)
        red_line = coordinate(p.red_line)  # type: ignore[arg-type]
        spans.append(
            _Span(
                p.party, p.priority, demand, red_line, min(demand, red_line), max(demand, red_line)
            )
        )
    acceptable = tuple(
        AcceptableSet(
            s.party,
            out(s.low),
            out(s.high),
            keys[int(s.low) : int(s.high) + 1] if ordinal else (),
        )
        for s in spans
    )
    if len(spans) < 2:
        return _insufficient(acceptable, missing)

    max_low = max(s.low for s in spans)
    min_high = min(s.high for s in spans)
    demands = [s.demand for s in spans]
    spread = _share((max(demands) - min(demands)) / width)
    bridging = _linear_bridging(spans, width, out)
    pairwise = tuple(_linear_pair(a, b, width) for a, b in combinations(spans, 2))
    if max_low <= min_high:
        zone = Zone(
            out(max_low), out(min_high), keys[int(max_low) : int(min_high) + 1] if ordinal else ()
        )
        zone_width = _share((min_high - max_low) / width)
        narrative = _linear_zone_narrative(scale, zone, zone_width)
        return _Figures(
            status=Status.ZONE,
            zone=zone,
            zone_width=zone_width,
            gap=0.0,
            demand_spread=spread,
            acceptable=acceptable,
            blocking=None,
            bridging=bridging,
            pairwise=pairwise,
            narrative=narrative,
        )

    high_side = next(s for s in spans if s.low == max_low)
    low_side = next(s for s in spans if s.high == min_high)
    alone = []
    if all(s.low <= min_high for s in spans if s is not high_side):
        alone.append(high_side.party)
    if all(s.high >= max_low for s in spans if s is not low_side):
        alone.append(low_side.party)
    gap = _gap_share((max_low - min_high) / width)
    blocking = Blocking(
        high_side=high_side.party,
        low_side=low_side.party,
        amount=_amount(max_low - min_high),
        share=gap,
        either_of=tuple(sorted(alone)),
    )
    narrative = _linear_gap_narrative(scale, keys, blocking, high_side, low_side, len(spans))
    return _Figures(
        status=Status.GAP,
        zone=None,
        zone_width=0.0,
        gap=gap,
        demand_spread=spread,
        acceptable=acceptable,
        blocking=blocking,
        bridging=bridging,
        pairwise=pairwise,
        narrative=narrative,
    )


def _distance(x: float, span: _Span) -> float:
    if x < span.low:
        return span.low - x
    if x > span.high:
        return x - span.high
    return 0.0


def _linear_bridging(
    spans: list[_Span], width: float, out: Callable[[float], ScaleValue]
) -> Bridging:
    # Both sums are convex and piecewise linear with integer slopes (sums of priorities),
    # so their minimizers follow from the signs of those slopes, exactly: comparing the
    # float sums themselves would need a tolerance, and a tolerance can pick a point just
    # outside the zone.
    bounds = sorted({v for s in spans for v in (s.low, s.high)})
    # Lowest and highest minimizers of the priority-weighted distance to the sets.
    lowest = next(x for x in bounds if _slope_after(spans, x) >= 0)
    highest = next(x for x in reversed(bounds) if _slope_before(spans, x) <= 0)
    # Lowest weighted median of the demands; the closest point to it in the minimizers.
    median = next(
        d
        for d in sorted(s.demand for s in spans)
        if sum(s.priority for s in spans if s.demand <= d)
        >= sum(s.priority for s in spans if s.demand > d)
    )
    point = min(max(lowest, median), highest)
    concessions = tuple(
        Concession(s.party, _miss(_distance(point, s), width), _amount(_distance(point, s)))
        for s in spans
    )
    return Bridging(out(point), concessions)


def _slope_after(spans: list[_Span], x: float) -> int:
    """Slope just right of x of the priority-weighted distance to the acceptable sets."""
    return sum(s.priority for s in spans if s.high <= x) - sum(
        s.priority for s in spans if s.low > x
    )


def _slope_before(spans: list[_Span], x: float) -> int:
    """Slope just left of x of the same sum."""
    return sum(s.priority for s in spans if s.high < x) - sum(
        s.priority for s in spans if s.low >= x
    )


def _linear_pair(a: _Span, b: _Span, width: float) -> PairGap:
    low = max(a.low, b.low)
    high = min(a.high, b.high)
    if low <= high:
        return PairGap(a.party, b.party, Status.ZONE, 0.0, _share((high - low) / width))
    return PairGap(a.party, b.party, Status.GAP, _gap_share((low - high) / width), 0.0)


def _categorical(
    scale: Scale,
    keys: tuple[str, ...],
    positions: list[PartyPosition],
    missing: tuple[str, ...],
    present: list[str],
) -> _Figures:
    choices = [
        _Choice(p.party, p.priority, str(p.demand), frozenset(p.acceptable)) for p in positions
    ]
    acceptable = tuple(
        AcceptableSet(c.party, None, None, tuple(k for k in keys if k in c.acceptable))
        for c in choices
    )
    k = len(choices)
    if k < 2:
        return _insufficient(acceptable, missing)

    n = len(keys)
    counts = [sum(1 for c in choices if key in c.acceptable) for key in keys]
    # Priority each option asks to move: the principals that do not accept it.
    pressure = [sum(c.priority for c in choices if key not in c.acceptable) for key in keys]
    off_demand = [sum(c.priority for c in choices if key != c.demand) for key in keys]
    demanded = max(sum(1 for c in choices if c.demand == key) for key in keys)
    spread = _share((k - demanded) / k)

    best = min(range(n), key=lambda i: (pressure[i], off_demand[i], i))
    point = keys[best]
    concessions = tuple(
        Concession(c.party, *((0.0, 0.0) if point in c.acceptable else (1.0, 1.0))) for c in choices
    )
    bridging = Bridging(point, concessions)
    pairwise = tuple(_categorical_pair(a, b, n) for a, b in combinations(choices, 2))

    zone_keys = tuple(key for key, count in zip(keys, counts, strict=True) if count == k)
    labels = {option.key: option.label for option in scale.options}
    if zone_keys:
        zone_width = _share(len(zone_keys) / n)
        narrative = _categorical_zone_narrative(zone_keys, labels, present)
        return _Figures(
            status=Status.ZONE,
            zone=Zone(None, None, zone_keys),
            zone_width=zone_width,
            gap=0.0,
            demand_spread=spread,
            acceptable=acceptable,
            blocking=None,
            bridging=bridging,
            pairwise=pairwise,
            narrative=narrative,
        )

    most = max(counts)
    chosen = min((i for i in range(n) if counts[i] == most), key=lambda i: (pressure[i], i))
    option = keys[chosen]
    must_add = tuple(c.party for c in choices if option not in c.acceptable)
    gap = _gap_share((k - most) / k)
    blocking = Blocking(
        high_side=None,
        low_side=None,
        amount=float(len(must_add)),
        share=gap,
        option=option,
        must_add=must_add,
    )
    movers = [party for party in present if party in must_add]
    narrative = _categorical_gap_narrative(labels[option], movers, present)
    return _Figures(
        status=Status.GAP,
        zone=None,
        zone_width=0.0,
        gap=gap,
        demand_spread=spread,
        acceptable=acceptable,
        blocking=blocking,
        bridging=bridging,
        pairwise=pairwise,
        narrative=narrative,
    )


def _categorical_pair(a: _Choice, b: _Choice, n: int) -> PairGap:
    common = a.acceptable & b.acceptable
    if common:
        return PairGap(a.party, b.party, Status.ZONE, 0.0, _share(len(common) / n))
    # With two principals and nothing shared, one of them must accept one more option.
    return PairGap(a.party, b.party, Status.GAP, 0.5, 0.0)


def _insufficient(acceptable: tuple[AcceptableSet, ...], missing: tuple[str, ...]) -> _Figures:
    return _Figures(
        status=Status.INSUFFICIENT,
        zone=None,
        zone_width=0.0,
        gap=0.0,
        demand_spread=0.0,
        acceptable=acceptable,
        blocking=None,
        bridging=None,
        pairwise=(),
        narrative=_insufficient_narrative(missing, [a.party for a in acceptable]),
    )


def _share(value: float) -> float:
    return min(1.0, max(0.0, round(value, DECIMALS)))


def _gap_share(value: float) -> float:
    return min(1.0, max(MIN_GAP, round(value, DECIMALS)))


def _miss(distance: float, width: float) -> float:
    """``distance / width`` as a share, but a real distance never rounds to 0: 0 means inside."""
    return 0.0 if distance <= 0.0 else _gap_share(distance / width)


def _amount(value: float) -> float:
    return max(0.0, float(round(value, DECIMALS)))


# --- Trend and roll-up --------------------------------------------------------------------


def trend(previous: IssueGap | None, current: IssueGap) -> Trend:
    """How the issue moved since ``previous``.

    ``new`` when there is nothing to compare with: no previous summary, or exactly one of
    the two lacks two positions. Two insufficient summaries are ``unchanged``.
    """
    if previous is None:
        return Trend(TrendDirection.NEW, 0.0)
    was_measured = previous.status != Status.INSUFFICIENT
    is_measured = current.status != Status.INSUFFICIENT
    if not was_measured and not is_measured:
        return Trend(TrendDirection.UNCHANGED, 0.0)
    if not (was_measured and is_measured):
        return Trend(TrendDirection.NEW, 0.0)
    delta = current.distance - previous.distance
    if abs(delta) <= TOLERANCE:
        return Trend(TrendDirection.UNCHANGED, 0.0)
    direction = TrendDirection.NARROWED if delta < 0 else TrendDirection.WIDENED
    return Trend(direction, round(delta, DECIMALS))


def rollup(issues: Sequence[tuple[IssueInput, IssueGap]]) -> TalkRollup:
    """Talk-level view: issues with a zone (input order), blocking issues by gap x priority."""
    with_zone = tuple(issue.key for issue, gap in issues if gap.status == Status.ZONE)
    insufficient = tuple(issue.key for issue, gap in issues if gap.status == Status.INSUFFICIENT)
    blocking = sorted(
        (
            BlockingIssue(
                key=issue.key,
                title=issue.title,
                gap=gap.gap,
                priority=issue.priority,
                weight=round(gap.gap * issue.priority, DECIMALS),
            )
            for issue, gap in issues
            if gap.status == Status.GAP
        ),
        key=lambda b: (-b.weight, b.key),
    )
    return TalkRollup(
        with_zone=with_zone,
        blocking=tuple(blocking),
        insufficient=insufficient,
        deal_feasible=bool(issues) and len(with_zone) == len(issues),
        zone_count=len(with_zone),
        gap_count=len(blocking),
        insufficient_count=len(insufficient),
    )


# --- Narrative ----------------------------------------------------------------------------


def _insufficient_narrative(missing: Sequence[str], present: Sequence[str]) -> str:
    if missing:
        return f"No position yet for {_join(missing, 'or')}."
    if present:
        return f"Only {present[0]} has a position; a comparison needs two principals."
    return "No principal has a position yet."


def _linear_gap_narrative(
    scale: Scale,
    keys: tuple[str, ...],
    blocking: Blocking,
    high_side: _Span,
    low_side: _Span,
    principals: int,
) -> str:
    tail = "" if principals == 2 else f", the widest apart of the {principals} principals"
    if scale.kind == ScaleKind.ORDINAL:
        labels = {option.key: option.label for option in scale.options}
        upper = labels[keys[int(low_side.high)]]
        lower = labels[keys[int(high_side.low)]]
        if low_side.high == low_side.red_line:
            held = f"{low_side.party}'s red line stops at {upper}"
        else:
            held = f"{low_side.party} goes no further than {upper}"
        steps = _steps(blocking.amount)
        return f"{held}; {high_side.party} accepts nothing short of {lower}: {steps}{tail}."

    held = f"{low_side.party} will go no higher than {_value(scale, low_side.high)}"
    if scale.max_label and high_side.low == scale.maximum:
        wanted = f"{high_side.party} accepts nothing short of {scale.max_label}"
    else:
        wanted = f"{high_side.party} wants at least {_number(high_side.low)}"
    return f"{held}; {wanted}: a gap of {_with_unit(blocking.amount, scale.unit)}{tail}."


def _linear_zone_narrative(scale: Scale, zone: Zone, width: float) -> str:
    if scale.kind == ScaleKind.ORDINAL:
        labels = {option.key: option.label for option in scale.options}
        if zone.low == zone.high:
            return f"A zone of agreement exists at {labels[str(zone.low)]} only."
        return (
            f"A zone of agreement exists between {labels[str(zone.low)]} "
            f"and {labels[str(zone.high)]}."
        )
    low, high = float(zone.low), float(zone.high)  # type: ignore[arg-type]
    if low == high:
        return f"A zone of agreement exists at exactly {_value(scale, low)}."
    upper = _value(scale, high)
    lower = _number(low) if upper.endswith(scale.unit) else _value(scale, low)
    share = _percent(width)
    return f"A zone of agreement exists between {lower} and {upper} ({share} of the scale)."


def _categorical_zone_narrative(
    zone: tuple[str, ...], labels: Mapping[str, str], parties: Sequence[str]
) -> str:
    verb = "is" if len(zone) == 1 else "are"
    names = _join([labels[key] for key in zone], "and")
    return f"A zone of agreement exists: {names} {verb} acceptable to {_everyone(parties)}."


def _categorical_gap_narrative(label: str, must_add: Sequence[str], parties: Sequence[str]) -> str:
    return (
        f"No option is acceptable to {_everyone(parties)}; the nearest is {label}, "
        f"which {_join(must_add, 'and')} would have to accept."
    )


def _everyone(parties: Sequence[str]) -> str:
    if len(parties) == 2:
        return f"both {parties[0]} and {parties[1]}"
    return f"all {len(parties)} principals"


def _join(items: Sequence[str], word: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 1:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:.3g}"


def _with_unit(value: float, unit: str) -> str:
    text = _number(value)
    if not unit:
        return text
    if value == 1:
        first, _, rest = unit.partition(" ")
        if first.endswith("s") and not first.endswith("ss"):
            unit = f"{first[:-1]} {rest}".rstrip()
    return f"{text} {unit}"


def describe_value(scale: Scale, value: ScaleValue) -> str:
    """A scale value as people say it: "60 days", "permanent", or an option's label."""
    if scale.kind == ScaleKind.NUMERIC:
        return _value(scale, float(value))
    for option in scale.options:
        if option.key == value:
            return option.label
    return str(value)


def describe_amount(scale: Scale, amount: float) -> str:
    """A distance in the scale's own unit: "20 prisoners per hostage", "two steps apart"
    without "apart" ("two steps"), or on a categorical scale a number of principals."""
    if scale.kind == ScaleKind.NUMERIC:
        return _with_unit(amount, scale.unit)
    count = int(amount)
    word = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    if scale.kind == ScaleKind.ORDINAL:
        return f"{word} step" if count == 1 else f"{word} steps"
    return f"{word} principal" if count == 1 else f"{word} principals"


def _value(scale: Scale, value: float) -> str:
    if scale.max_label and value == scale.maximum:
        return scale.max_label
    return _with_unit(value, scale.unit)


def _steps(amount: float) -> str:
    count = int(amount)
    word = _NUMBER_WORDS[count] if count < len(_NUMBER_WORDS) else str(count)
    return f"{word} step apart" if count == 1 else f"{word} steps apart"


def _percent(share: float) -> str:
    percent = share * 100
    if 0 < percent < 1:
        return "under 1%"
    return f"{math.floor(percent + 0.5)}%"


# --- Serialization helpers ----------------------------------------------------------------


def _value_from_json(kind: ScaleKind, value: Any) -> ScaleValue | None:
    if value is None:
        return None
    return float(value) if kind == ScaleKind.NUMERIC else str(value)


def _point_from_json(kind: ScaleKind, value: Any) -> ScaleValue:
    return float(value) if kind == ScaleKind.NUMERIC else str(value)


def _zone_to_dict(zone: Zone | None) -> dict[str, Any] | None:
    if zone is None:
        return None
    return {"low": zone.low, "high": zone.high, "options": list(zone.options)}


def _blocking_to_dict(blocking: Blocking | None) -> dict[str, Any] | None:
    if blocking is None:
        return None
    return {
        "high_side": blocking.high_side,
        "low_side": blocking.low_side,
        "amount": blocking.amount,
        "share": blocking.share,
        "either_of": list(blocking.either_of),
        "option": blocking.option,
        "must_add": list(blocking.must_add),
    }


def _bridging_to_dict(bridging: Bridging | None) -> dict[str, Any] | None:
    if bridging is None:
        return None
    return {
        "point": bridging.point,
        "concessions": [
            {"party": c.party, "share": c.share, "amount": c.amount} for c in bridging.concessions
        ],
    }
