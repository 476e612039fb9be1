"""Turn stored values into what the pages say: labels, changed fields, option matrices."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from issues import gaps
from issues.models import Issue, ScaleKind
from positions.models import Position, PositionRevision, Source

from .dashboard import PositionView, SummaryView, value_label

FIELD_LABELS = {
    "demand": "Demand",
    "red_line": "Red line",
    "acceptable": "Acceptable options",
    "priority": "Priority",
    "rationale": "Rationale",
    "conditions": "Conditions",
    "links": "Linked conditions",
    "confidence": "Confidence",
    "status": "Status",
    "sources": "Sources",
    "deleted": "Withdrawn",
}
FIELD_ORDER = tuple(FIELD_LABELS)

CONFIDENCE_LABELS = dict(Position.Confidence.choices)
STATUS_LABELS = dict(Position.Status.choices)


@dataclass(frozen=True)
class ChangeLine:
    field: str
    label: str
    before: str
    after: str


# The talk's issues by key, to name the issues and options a linked condition points at.
Catalogue = Mapping[str, tuple[Issue, gaps.Scale]]


def field_text(
    name: str,
    value: Any,
    *,
    issue: Issue,
    scale: gaps.Scale,
    sources: Mapping[int, Source],
    catalogue: Catalogue | None = None,
) -> str:
    """One snapshot field's value as the page shows it."""
    if value is None or value == "" or value == []:
        return "—"
    if name in ("demand", "red_line"):
        return value_label(issue, scale, value)
    if name == "acceptable":
        labels = {o.key: o.label for o in scale.options}
        order = [o.key for o in scale.options]
        keys = sorted(value, key=lambda k: order.index(k) if k in order else len(order))
        return "; ".join(labels.get(k, k) for k in keys)
    if name == "confidence":
        return CONFIDENCE_LABELS.get(value, str(value))
    if name == "status":
        return STATUS_LABELS.get(value, str(value))
    if name == "sources":
        return "; ".join(
            sources[i].title if i in sources else f"source {i} (removed)" for i in value
        )
    if name == "deleted":
        return "yes" if value else "no"
    if name == "links":
        return "; ".join(link_text(link, catalogue) for link in value)
    return str(value)


def _plain(number: float) -> str:
    return f"{int(number)}" if float(number).is_integer() else f"{number:g}"


def link_text(link: Mapping[str, Any], catalogue: Catalogue | None = None) -> str:
    """A structured condition as a phrase: 'only if Troop withdrawal is a phased withdrawal
    or full withdrawal'. Without the catalogue, issues and options go by their keys."""
    known = (catalogue or {}).get(link["issue"])
    title = known[0].title if known else link["issue"]
    if "options" in link:
        labels = {o.key: o.label for o in known[1].options} if known else {}
        named = [labels.get(key, key) for key in link["options"]]
        return f"only if {title} is {' or '.join(named)}"
    if known:
        low = gaps.describe_value(known[1], float(link["low"]))
        high = gaps.describe_value(known[1], float(link["high"]))
    else:
        low, high = _plain(link["low"]), _plain(link["high"])
    return f"only if {title} is between {low} and {high}"


# What a short listing (the dashboard's changes panel) says of a newly recorded position.
VALUE_FIELDS = ("demand", "red_line", "acceptable")
# Long texts a short listing names without quoting.
TEXT_FIELDS = ("rationale", "conditions", "links")
REVISED = "revised"


def change_lines(
    revision: PositionRevision,
    *,
    issue: Issue,
    scale: gaps.Scale,
    sources: Mapping[int, Source],
    compact: bool = False,
    catalogue: Catalogue | None = None,
) -> list[ChangeLine]:
    """What a revision changed, field by field, in a stable order.

    `compact` keeps a listing short: a new position by its values only, and a revised
    rationale or condition named without its text.
    """
    changes = revision.changes or {}
    created = revision.action == PositionRevision.Action.CREATE
    lines = []
    for name in sorted(changes, key=lambda n: FIELD_ORDER.index(n) if n in FIELD_ORDER else 99):
        if name == "deleted" and revision.action != PositionRevision.Action.UPDATE:
            continue  # said by the action itself (created / withdrawn)
        if revision.action == PositionRevision.Action.DELETE:
            continue  # a withdrawal changes nothing but the flag
        if compact and created and name not in VALUE_FIELDS:
            continue
        before, after = changes[name]
        if created and before in (None, [], "") and after in (None, [], "", False):
            continue
        if compact and name in TEXT_FIELDS and not created:
            before_text, after_text = "", REVISED
        else:
            before_text, after_text = (
                field_text(
                    name, value, issue=issue, scale=scale, sources=sources, catalogue=catalogue
                )
                for value in (before, after)
            )
        lines.append(
            ChangeLine(
                field=name,
                label=FIELD_LABELS.get(name, name.replace("_", " ").capitalize()),
                before=before_text,
                after=after_text,
            )
        )
    return lines


@dataclass(frozen=True)
class TimelineEntry:
    revision: PositionRevision
    lines: list[ChangeLine]
    sources: list[Source]


def timeline(
    revisions: Iterable[PositionRevision],
    *,
    issues: Mapping[int, tuple[Issue, gaps.Scale]],
    sources: Mapping[int, Source],
    compact: bool = False,
    catalogue: Catalogue | None = None,
) -> list[TimelineEntry]:
    """Revisions with what each changed, and the sources each version cited (when the
    change itself does not already list them)."""
    out = []
    for r in revisions:
        issue, scale = issues[r.issue_id]
        lines = change_lines(
            r, issue=issue, scale=scale, sources=sources, compact=compact, catalogue=catalogue
        )
        listed = any(line.field == "sources" for line in lines)
        cited = (
            []
            if listed
            else [sources[i] for i in (r.snapshot or {}).get("sources", []) if i in sources]
        )
        out.append(TimelineEntry(revision=r, lines=lines, sources=cited))
    return out


@dataclass(frozen=True)
class MatrixCell:
    acceptable: bool
    demand: bool


@dataclass(frozen=True)
class MatrixRow:
    key: str
    label: str
    cells: tuple[MatrixCell | None, ...]
    in_zone: bool
    bridging: bool
    nearest: bool  # the option the blocking parties would have to accept

    @property
    def accepted_by(self) -> int:
        return sum(1 for c in self.cells if c and c.acceptable)


def option_matrix(
    *,
    scale: gaps.Scale,
    cells: Sequence[PositionView | None],
    summary: SummaryView | None,
) -> list[MatrixRow]:
    """Options x principals for a categorical issue: who accepts and who demands what."""
    figures = summary.figures if summary else {}
    zone = set((figures.get("zone") or {}).get("options") or ())
    bridging = (figures.get("bridging") or {}).get("point")
    nearest = (figures.get("blocking") or {}).get("option")
    rows = []
    for option in scale.options:
        rows.append(
            MatrixRow(
                key=option.key,
                label=option.label,
                cells=tuple(
                    None
                    if cell is None
                    else MatrixCell(
                        acceptable=option.key in cell.acceptable,
                        demand=cell.demand == option.key,
                    )
                    for cell in cells
                ),
                in_zone=option.key in zone,
                bridging=option.key == bridging,
                nearest=option.key == nearest,
            )
        )
    return rows


def concession_text(issue: Issue, share: float, amount: float | None) -> str:
    """What a party would have to give to reach the bridging point."""
    if not share:
        return "no concession needed"
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        return "would have to accept it"
    percent = "under 1%" if share < 0.01 else f"{share * 100:.0f}%"
    return f"would concede {percent} of the scale ({amount_text(issue, amount)})"


def amount_text(issue: Issue, amount: float | None) -> str:
    """A distance on the issue's scale, in its unit: '20 days', 'two steps', '1 party'."""
    if amount is None:
        return ""
    if issue.scale_kind == ScaleKind.NUMERIC:
        number = f"{int(amount):,}" if amount == int(amount) else f"{amount:,.2f}".rstrip("0")
        unit = issue.unit
        if amount == 1 and unit.endswith("s") and " " not in unit:
            unit = unit[:-1]
        return f"{number} {unit}".strip()
    count = round(amount)
    if issue.scale_kind == ScaleKind.ORDINAL:
        return f"{count} step" if count == 1 else f"{count} steps"
    return f"{count} party" if count == 1 else f"{count} parties"
