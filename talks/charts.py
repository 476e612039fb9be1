"""Geometry of the server-rendered SVG charts, as plain numbers for the templates.

The templates draw the shapes (with CSS classes and presentation attributes only, which a
strict Content-Security-Policy allows); this module decides where they go, so it can be
tested without rendering anything.
"""

import datetime as dt
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from issues import gaps

from .dashboard import PositionView, SummaryView

WIDTH = 960.0
PLOT_LEFT = 140.0
PLOT_RIGHT = WIDTH - 76.0  # room for half of the last option's label
TOP = 40.0
ROW = 38.0
BAR_HEIGHT = 12.0
LABEL_CHARS = 22  # an option's label is wrapped at this many characters per line
LABEL_LINES = 3
LINE_HEIGHT = 13.0


@dataclass(frozen=True)
class Tick:
    x: float
    lines: tuple[str, ...]
    full: str


@dataclass(frozen=True)
class Bar:
    party: str
    index: int
    y: float  # centre line of the row
    x1: float
    x2: float
    demand_x: float
    red_line_x: float | None
    text: str  # what the bar says, for its <title>

    @property
    def top(self) -> float:
        return self.y - BAR_HEIGHT / 2

    @property
    def width(self) -> float:
        # A party whose demand is its red line still shows a short bar.
        return max(self.x2 - self.x1, 3.0)

    @property
    def bar_x(self) -> float:
        return self.x1 - (self.width - (self.x2 - self.x1)) / 2

    @property
    def tick_top(self) -> float:
        return self.y - BAR_HEIGHT

    @property
    def tick_bottom(self) -> float:
        return self.y + BAR_HEIGHT

    @property
    def label_y(self) -> float:
        return self.y + 4


@dataclass(frozen=True)
class MissingRow:
    party: str
    index: int
    y: float

    @property
    def label_y(self) -> float:
        return self.y + 4


@dataclass(frozen=True)
class Band:
    x: float
    width: float
    label: str

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class ScaleChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    axis_y: float
    ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    missing: tuple[MissingRow, ...]
    zone: Band | None
    gap: Band | None
    bridging_x: float | None
    bridging_label: str
    title: str
    desc: str

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:g} {self.height:g}"

    @property
    def label_x(self) -> float:
        return self.plot_left - 10

    @property
    def plot_height(self) -> float:
        return self.plot_bottom - self.plot_top

    @property
    def band_label_y(self) -> float:
        return self.plot_bottom - 5

    @property
    def tick_bottom(self) -> float:
        return self.axis_y + 5

    @property
    def tick_label_y(self) -> float:
        return self.axis_y + 19

    @property
    def bridging_label_y(self) -> float:
        return self.plot_top - 8

    @property
    def bridging_marker(self) -> str:
        """A diamond on the axis where the bridging point lies."""
        if self.bridging_x is None:
            return ""
        x, y = self.bridging_x, self.plot_top
        return f"{x:.1f},{y - 6:.1f} {x + 6:.1f},{y:.1f} {x:.1f},{y + 6:.1f} {x - 6:.1f},{y:.1f}"

    @property
    def bridging_text_anchor(self) -> str:
        """Keep the label inside the chart near either edge."""
        if self.bridging_x is None:
            return "middle"
        if self.bridging_x > self.plot_right - 90:
            return "end"
        if self.bridging_x < self.plot_left + 90:
            return "start"
        return "middle"


def _wrap(label: str) -> tuple[str, ...]:
    lines = textwrap.wrap(label, LABEL_CHARS) or [label]
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1][: LABEL_CHARS - 1] + "…"]
    return tuple(lines)


def nice_ticks(low: float, high: float, target: int = 6) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high]."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / max(1, target - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[0] > low + 1e-9:
        ticks.insert(0, low)
    if ticks[-1] < high - 1e-9:
        # A tick crowding the maximum would overlap its label: the maximum replaces it.
        if high - ticks[-1] < step / 2:
            ticks.pop()
        ticks.append(high)
    return ticks


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


class _Axis:
    """Maps scale values (numbers or option keys) to x coordinates."""

    def __init__(self, scale: gaps.Scale) -> None:
        self.scale = scale
        self.numeric = scale.kind == gaps.ScaleKind.NUMERIC
        self.keys = [o.key for o in scale.options]
        if self.numeric:
            self.low, self.high = float(scale.minimum or 0), float(scale.maximum or 1)
        else:
            self.low, self.high = 0.0, float(max(1, len(self.keys) - 1))

    def coordinate(self, value: Any) -> float | None:
        if value is None:
            return None
        if self.numeric:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
        try:
            return float(self.keys.index(str(value)))
        except ValueError:
            return None

    def x(self, value: Any) -> float | None:
        c = self.coordinate(value)
        if c is None:
            return None
        c = min(max(c, self.low), self.high)
        return PLOT_LEFT + (c - self.low) / (self.high - self.low) * (PLOT_RIGHT - PLOT_LEFT)

    def label(self, value: Any) -> str:
        if self.numeric:
            return gaps.describe_value(self.scale, float(value))
        return gaps.describe_value(self.scale, str(value))

    def ticks(self) -> tuple[Tick, ...]:
        if self.numeric:
            out = []
            for v in nice_ticks(self.low, self.high):
                text = (
                    self.scale.max_label if self.scale.max_label and v == self.high else _number(v)
                )
                out.append(Tick(x=self.x(v) or PLOT_LEFT, lines=(text,), full=self.label(v)))
            return tuple(out)
        return tuple(
            Tick(x=self.x(o.key) or PLOT_LEFT, lines=_wrap(o.label), full=o.label)
            for o in self.scale.options
        )


def scale_chart(
    *,
    title: str,
    scale: gaps.Scale,
    principals: Sequence[str],
    cells: Sequence[PositionView | None],
    summary: SummaryView | None,
) -> ScaleChart:
    """The scale with each principal's acceptable range, demand and red line, the zone or the
    gap between them, and the bridging point. For numeric and ordinal scales."""
    axis = _Axis(scale)
    bars = []
    missing = []
    described = []
    for index, (party, cell) in enumerate(zip(principals, cells, strict=True)):
        y = TOP + ROW * index + ROW / 2
        if cell is None:
            missing.append(MissingRow(party=party, index=index, y=y))
            described.append(f"{party}: no position.")
            continue
        demand_x = axis.x(cell.demand)
        red_x = axis.x(cell.red_line)
        if demand_x is None:
            described.append(f"{party}: position not on this scale.")
            continue
        ends = [demand_x] + ([red_x] if red_x is not None else [])
        text = f"{party} wants {cell.demand_label}; red line {cell.red_line_label}"
        bars.append(
            Bar(
                party=party,
                index=index,
                y=y,
                x1=min(ends),
                x2=max(ends),
                demand_x=demand_x,
                red_line_x=red_x,
                text=text,
            )
        )
        described.append(f"{text}.")

    zone = gap = None
    bridging_x = None
    bridging_label = ""
    figures: Mapping[str, Any] = summary.figures if summary else {}
    if figures:
        if summary and summary.status == "zone" and figures.get("zone"):
            z = figures["zone"]
            x1, x2 = axis.x(z.get("low")), axis.x(z.get("high"))
            if x1 is not None and x2 is not None:
                # A zone of a single point still gets a visible sliver.
                width = max(x2 - x1, 4.0)
                zone = Band(x=(x1 + x2 - width) / 2, width=width, label="zone of agreement")
                described.append(
                    f"Zone of agreement from {axis.label(z['low'])} to {axis.label(z['high'])}."
                )
        elif summary and summary.status == "gap":
            lows = [axis.x(a.get("low")) for a in figures.get("acceptable", [])]
            highs = [axis.x(a.get("high")) for a in figures.get("acceptable", [])]
            lows_ = [v for v in lows if v is not None]
            highs_ = [v for v in highs if v is not None]
            if lows_ and highs_:
                x1, x2 = min(highs_), max(lows_)
                if x2 > x1:
                    gap = Band(x=x1, width=x2 - x1, label="gap")
                    described.append(f"A gap separates them: {summary.narrative}")
        bridging = figures.get("bridging") or {}
        if "point" in bridging:
            bridging_x = axis.x(bridging["point"])
            if bridging_x is not None:
                bridging_label = f"bridging point: {axis.label(bridging['point'])}"
                described.append(f"Bridging point at {axis.label(bridging['point'])}.")
    if summary and summary.pending:
        described.append("A recomputation is pending; the zone and gap shown may be out of date.")

    rows = max(1, len(principals))
    plot_bottom = TOP + ROW * rows
    axis_y = plot_bottom + 6
    longest = max((len(t.lines) for t in axis.ticks()), default=1)
    height = axis_y + 14 + LINE_HEIGHT * longest + 8
    if axis.numeric:
        scale_text = (
            f"Scale from {axis.label(axis.low)} to {axis.label(axis.high)}"
            + (f" ({scale.unit})" if scale.unit else "")
            + "."
        )
    else:
        scale_text = "Options in order: " + "; ".join(o.label for o in scale.options) + "."
    return ScaleChart(
        width=WIDTH,
        height=height,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        plot_top=TOP - 8,
        plot_bottom=plot_bottom,
        axis_y=axis_y,
        ticks=axis.ticks(),
        bars=tuple(bars),
        missing=tuple(missing),
        zone=zone,
        gap=gap,
        bridging_x=bridging_x,
        bridging_label=bridging_label,
        title=f"{title}: each principal's acceptable range",
        desc=" ".join([scale_text, *described]),
    )


@dataclass(frozen=True)
class SparkPoint:
    x: float
    y: float
    status: str
    label: str


@dataclass(frozen=True)
class Sparkline:
    width: float
    height: float
    points: tuple[SparkPoint, ...]
    baseline_y: float
    title: str
    desc: str

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:g} {self.height:g}"

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def last(self) -> SparkPoint | None:
        return self.points[-1] if self.points else None


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def sparkline(
    *, history: Sequence[tuple[dt.datetime, str, float | None]], width: float = 280.0
) -> Sparkline:
    """The gap over time: one point per computed summary (time, status, gap share)."""
    height, pad = 56.0, 6.0
    baseline = height - pad
    points: list[SparkPoint] = []
    if history:
        start, end = history[0][0], history[-1][0]
        span = (end - start).total_seconds()
        for i, (at, status, value) in enumerate(history):
            if span > 0:
                x = pad + (at - start).total_seconds() / span * (width - 2 * pad)
            else:
                x = pad + (i / max(1, len(history) - 1)) * (width - 2 * pad)
            share = value or 0.0
            y = baseline - share * (height - 2 * pad)
            said = {
                "zone": "zone of agreement",
                "gap": f"gap {_percent(share)}",
                "insufficient": "not enough positions",
            }.get(status, status)
            label = f"{at:%-d %b %Y %H:%M}: {said}"
            points.append(SparkPoint(x=x, y=y, status=status, label=label))
    if not points:
        desc = "No summary has been computed yet."
    elif len(points) == 1:
        desc = f"One computed summary: {points[0].label}."
    else:
        desc = f"{len(points)} computed summaries, from {points[0].label} to {points[-1].label}."
    return Sparkline(
        width=width,
        height=height,
        points=tuple(points),
        baseline_y=baseline,
        title="Gap over time",
        desc=desc,
    )
