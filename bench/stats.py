"""Figures, their percentiles and the table they are printed in."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Figure:
    """One measured figure: percentiles of its samples, or a single value."""

    scenario: str
    name: str
    unit: str
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    count: int = 0
    target: str = ""
    met: bool | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, scenario: str, name: str, unit: str, samples: Sequence[float], **kw: Any):
        values = list(samples)
        if not values:
            return cls(scenario, name, unit, note=kw.pop("note", "") or "no samples", **kw)
        return cls(
            scenario,
            name,
            unit,
            median=percentile(values, 50),
            p95=percentile(values, 95),
            p99=percentile(values, 99),
            count=len(values),
            samples=values,
            **kw,
        )

    @classmethod
    def single(cls, scenario: str, name: str, unit: str, value: float | None, **kw: Any):
        return cls(scenario, name, unit, median=value, count=0 if value is None else 1, **kw)

    @property
    def is_single(self) -> bool:
        return self.count <= 1 and self.p95 is None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("samples")
        return data


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(figures: Sequence[Figure]) -> str:
    """A plain-text table: one row per figure, its target beside it and whether it is met."""
    header = ("scenario", "figure", "median", "p95", "p99", "n", "unit", "target", "met")
    rows = []
    for f in figures:
        met = {True: "yes", False: "NO", None: ""}[f.met]
        rows.append(
            (
                f.scenario,
                f.name,
                _fmt(f.median),
                "" if f.is_single else _fmt(f.p95),
                "" if f.is_single else _fmt(f.p99),
                "" if f.is_single else str(f.count),
                f.unit,
                f.target,
                met,
            )
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(header), line(["-" * w for w in widths])]
    previous = None
    for f, row in zip(figures, rows, strict=True):
        if previous is not None and f.scenario != previous:
            out.append("")
        out.append(line(row))
        previous = f.scenario
    notes = [f"- {f.scenario} / {f.name}: {f.note}" for f in figures if f.note]
    if notes:
        out += ["", "Notes:", *notes]
    return "\n".join(out)
