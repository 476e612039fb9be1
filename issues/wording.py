"""Short phrases for a stored gap summary: what the gap report (and any page) prints.

Pure, like the engine: an ``IssueGap`` and its ``Scale`` in, strings out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import gaps


def _join(items: Sequence[str], word: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _percent(share: float) -> str:
    percent = share * 100
    if 0 < percent < 1:
        return "under 1%"
    return f"{percent:.0f}%"


def zone_or_gap(result: gaps.IssueGap, scale: gaps.Scale) -> str:
    """ "zone: 50 to 60 days (7% of the scale)", "gap 0.50: two steps", "missing: Hamas"."""
    if result.status == gaps.Status.ZONE and result.zone is not None:
        zone = result.zone
        if scale.kind == gaps.ScaleKind.CATEGORICAL:
            return "zone: " + _join([gaps.describe_value(scale, key) for key in zone.options])
        low = gaps.describe_value(scale, zone.low)  # type: ignore[arg-type]
        if zone.low == zone.high:
            return f"zone at {low} only"
        high = gaps.describe_value(scale, zone.high)  # type: ignore[arg-type]
        unit = f" {scale.unit}" if scale.unit else ""
        if unit and high.endswith(unit) and low.endswith(unit):
            low = low[: -len(unit)]  # "50 to 60 days", the unit said once
        return f"zone: {low} to {high} ({_percent(result.zone_width)} of the scale)"
    if result.status == gaps.Status.GAP and result.blocking is not None:
        amount = gaps.describe_amount(scale, result.blocking.amount)
        return f"gap {result.gap:.2f}: {amount}"
    if result.missing:
        return "no position yet for " + _join(list(result.missing), "or")
    return "fewer than two positions"


def blocking(result: gaps.IssueGap, scale: gaps.Scale) -> str:
    """Whose red line blocks, and the least concession that would open a zone."""
    block = result.blocking
    if result.status != gaps.Status.GAP or block is None:
        return ""
    if scale.kind == gaps.ScaleKind.CATEGORICAL:
        option = gaps.describe_value(scale, block.option or "")
        verb = "accepts" if len(block.must_add) == 1 else "accept"
        return f"opens if {_join(list(block.must_add))} also {verb} {option}"
    bounds = {a.party: a for a in result.acceptable}
    low, high = bounds[block.low_side or ""], bounds[block.high_side or ""]
    holds = (
        f"{block.low_side} goes no further than {gaps.describe_value(scale, low.high)}, "  # type: ignore[arg-type]
        f"{block.high_side} wants at least {gaps.describe_value(scale, high.low)}"  # type: ignore[arg-type]
    )
    amount = gaps.describe_amount(scale, block.amount)
    if len(block.either_of) == 2:
        move = f"either concedes {amount}"
    elif block.either_of:
        move = f"{block.either_of[0]} concedes {amount}"
    else:
        move = f"{amount} to concede between them"
    return f"{holds}; opens if {move}"


def bridging(result: gaps.IssueGap, scale: gaps.Scale) -> str:
    """The bridging point and what reaching it asks of each principal."""
    if result.bridging is None:
        return ""
    point = gaps.describe_value(scale, result.bridging.point)
    categorical = scale.kind == gaps.ScaleKind.CATEGORICAL
    asks = [
        f"{c.party} accepts it"
        if categorical
        else f"{c.party} concedes {gaps.describe_amount(scale, c.amount)}"
        for c in result.bridging.concessions
        if c.share > 0
    ]
    return f"{point} ({'; '.join(asks) if asks else 'no concession needed'})"


def trend(stored: Mapping[str, Any]) -> str:
    """ "narrowed by 0.10 since 13 Oct 2026", "first computed 8 Sep 2026"."""
    direction = stored.get("direction")
    if not direction:
        return ""
    since = stored.get("since")
    when = ""
    if since:
        when = dt.datetime.fromisoformat(since).strftime("%d %b %Y").lstrip("0")
    if direction == gaps.TrendDirection.NEW:
        return f"first computed {when}".strip()
    if direction == gaps.TrendDirection.UNCHANGED:
        return f"unchanged since {when}".strip()
    return f"{direction} by {abs(float(stored.get('delta') or 0)):.2f} since {when}".strip()
