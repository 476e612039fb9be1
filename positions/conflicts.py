"""What to show, and what to offer, when an edit was based on an old version.

Three versions meet: the one the editor opened (base), the one saved meanwhile (theirs)
and the one the editor submitted (yours). The re-apply form holds yours on top of theirs:
every field the editor changed keeps the editor's value, every field only they changed
keeps theirs. Nothing typed is lost, and their edits are not undone by fields the editor
never touched.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from issues.models import ScaleKind

from .services import LinkInput, PositionInput, links_json

COMPARED = (
    "demand",
    "red_line",
    "acceptable",
    "priority",
    "confidence",
    "status",
    "rationale",
    "conditions",
    "links",
    "sources",
)
_INPUT_FIELD = {"sources": "source_ids"}


def comparable(kind: str, data: PositionInput) -> dict[str, Any]:
    """A PositionInput as values that compare equal when they would save the same."""

    def value(v: Any) -> Any:
        if v is None or v == "":
            return None
        return float(v) if kind == ScaleKind.NUMERIC else str(v)

    return {
        "demand": value(data.demand),
        "red_line": None if kind == ScaleKind.CATEGORICAL else value(data.red_line),
        "acceptable": sorted(data.acceptable) if kind == ScaleKind.CATEGORICAL else [],
        "priority": int(data.priority),
        "confidence": data.confidence,
        "status": data.status,
        "rationale": data.rationale.strip(),
        "conditions": data.conditions.strip(),
        "links": links_json(data.links),
        "sources": sorted(data.source_ids),
    }


def input_from_snapshot(snapshot: Mapping[str, Any]) -> PositionInput:
    """A stored revision snapshot (positions.services.position_snapshot) as input."""
    return PositionInput(
        demand=snapshot.get("demand"),
        red_line=snapshot.get("red_line"),
        acceptable=frozenset(snapshot.get("acceptable") or ()),
        priority=int(snapshot.get("priority", 3)),
        rationale=snapshot.get("rationale", ""),
        conditions=snapshot.get("conditions", ""),
        links=tuple(LinkInput.from_json(link) for link in snapshot.get("links") or ()),
        confidence=snapshot.get("confidence", "medium"),
        status=snapshot.get("status", "stated"),
        source_ids=tuple(snapshot.get("sources") or ()),
    )


@dataclass(frozen=True)
class FieldComparison:
    field: str
    you_changed: bool
    they_changed: bool
    differs: bool  # your value and theirs differ

    @property
    def kept(self) -> str:
        """Whose value the re-apply form holds."""
        return "yours" if self.you_changed else "theirs"

    @property
    def both_changed(self) -> bool:
        return self.you_changed and self.they_changed and self.differs


@dataclass(frozen=True)
class Merge:
    merged: PositionInput
    fields: dict[str, FieldComparison]

    @property
    def both_changed(self) -> list[str]:
        return [f for f, c in self.fields.items() if c.both_changed]


def merge(
    *,
    kind: str,
    base: PositionInput | None,
    theirs: PositionInput,
    yours: PositionInput,
    new_source: bool = False,
) -> Merge:
    """Yours on top of theirs. Without the base version, every field is taken as yours.

    `new_source` says the editor also typed a new source: the sources field counts as
    changed; the sources they picked stay picked unless the editor changed the picks too.
    """
    b = comparable(kind, base) if base is not None else None
    t = comparable(kind, theirs)
    y = comparable(kind, yours)
    merged = theirs
    fields = {}
    for name in COMPARED:
        changed_value = b is None or y[name] != b[name]
        typed_source = name == "sources" and new_source
        fields[name] = FieldComparison(
            field=name,
            you_changed=changed_value or typed_source,
            they_changed=b is not None and t[name] != b[name],
            differs=y[name] != t[name] or typed_source,
        )
        if changed_value:
            attr = _INPUT_FIELD.get(name, name)
            merged = replace(merged, **{attr: getattr(yours, attr)})
    if kind == ScaleKind.CATEGORICAL:
        merged = replace(merged, red_line=None)
    return Merge(merged=merged, fields=fields)
