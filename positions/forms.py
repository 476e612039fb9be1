"""The position form: widgets that fit the issue's scale; the services do the validating.

Fields parse what the browser sends and nothing more: whether a value lies on the scale,
whether the demand is acceptable, whether a note was given, is decided by
positions.services, whose messages are put back on the fields, so the page and the API
can never disagree about what is valid.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from issues.models import Issue, Layer, ScaleKind
from talks.models import TalkParty

from .models import Position, Source
from .services import LINKS_LIMIT, LinkInput, PositionInput, SourceInput, links_json

PRIORITY_CHOICES = [
    (1, "1 — marginal"),
    (2, "2 — low"),
    (3, "3 — moderate"),
    (4, "4 — high"),
    (5, "5 — vital"),
]
NEW_SOURCE_PREFIX = "new_source_"
LINK_BOUNDS = "Condition {n}: give both ends of the range on {issue}, as numbers."
_LINK_FIELD = re.compile(r"^link-(\d+)-issue$")


@dataclass(frozen=True)
class LinkOption:
    value: str  # "<issue key>:<option key>": one checkbox name serves every issue of a row
    label: str
    checked: bool


@dataclass(frozen=True)
class LinkGroup:
    key: str
    title: str
    options: tuple[LinkOption, ...]


@dataclass(frozen=True)
class LinkRow:
    """One "only if issue J lands within S" condition, as the form shows it."""

    index: int
    issue: str
    low: str
    high: str
    groups: tuple[LinkGroup, ...]

    @property
    def number(self) -> int:
        return self.index + 1

    def prefix(self) -> str:
        return f"link-{self.index}"


def number_text(value: float | None) -> str:
    """A number as the browser's number input takes it, without losing precision."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _parse_number(raw: str) -> float | str | None:
    """A number when the text is one; otherwise the text itself, for the service to refuse
    with its own message (so the page says what the API says)."""
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


class PositionForm(forms.Form):
    party = forms.TypedChoiceField(coerce=int, label="Party")
    layer = forms.ChoiceField(
        choices=Layer.choices,
        label="Layer",
        help_text="Declared: what the party says in public. Assessed: your estimate of its "
        "real limits.",
    )
    priority = forms.TypedChoiceField(
        choices=PRIORITY_CHOICES,
        coerce=int,
        initial=3,
        label="Priority",
        help_text="How much the party cares about this issue.",
    )
    rationale = forms.CharField(
        required=False,
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why you place the party here.",
    )
    conditions = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the party ties this position to, in words.",
    )
    # Where the messages about linked conditions go; the rows themselves are read from the
    # posted data (see `link_rows`).
    links = forms.Field(required=False, widget=forms.HiddenInput, label="Linked conditions")
    confidence = forms.ChoiceField(
        choices=Position.Confidence.choices, initial=Position.Confidence.MEDIUM
    )
    status = forms.ChoiceField(
        choices=Position.Status.choices, initial=Position.Status.STATED, label="Basis"
    )
    sources = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Cited",
    )
    new_source_title = forms.CharField(required=False, max_length=300, label="Title")
    new_source_url = forms.CharField(
        required=False,
        max_length=1000,
        label="Address (URL)",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    new_source_publisher = forms.CharField(required=False, max_length=200, label="Publisher")
    new_source_published_on = forms.DateField(
        required=False, label="Published on", widget=forms.DateInput(attrs={"type": "date"})
    )
    new_source_reliability = forms.ChoiceField(
        choices=Source.Reliability.choices,
        initial=Source.Reliability.UNKNOWN,
        required=False,
        label="Reliability",
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Change note",
        help_text="Required: what changed and why. Kept with this version for good.",
    )
    based_on_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: Any,
        issue: Issue,
        sources: Iterable[Source],
        parties: Sequence[TalkParty] | None = None,
        link_issues: Sequence[Issue] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.issue = issue
        self.creating = parties is not None
        # The talk's other issues, which a condition can point at (options prefetched).
        self.link_issues = [other for other in link_issues if other.pk != issue.pk]
        options = [(o.key, o.label) for o in issue.options.all()]
        kind = issue.scale_kind
        if kind == ScaleKind.NUMERIC:
            bounds = f"from {number_text(issue.scale_min)} to {number_text(issue.scale_max)}"
            unit = f" {issue.unit}" if issue.unit else ""
            maximum = (
                f" ({number_text(issue.scale_max)} means {issue.max_label})"
                if issue.max_label
                else ""
            )
            attrs = {
                "min": number_text(issue.scale_min),
                "max": number_text(issue.scale_max),
                "step": "any",
                "inputmode": "decimal",
                "class": "number",
            }
            self.fields["demand"] = forms.CharField(
                required=False,
                label="Demand",
                widget=forms.NumberInput(attrs=attrs),
                help_text=f"The outcome the party asks for: a number {bounds}{unit}{maximum}.",
            )
            self.fields["red_line"] = forms.CharField(
                required=False,
                label="Red line",
                widget=forms.NumberInput(attrs=attrs),
                help_text=f"The worst the party would accept, {bounds}{unit}.",
            )
        elif kind == ScaleKind.ORDINAL:
            choices = [("", "— choose —"), *options]
            self.fields["demand"] = forms.ChoiceField(
                required=False,
                choices=choices,
                label="Demand",
                help_text="The outcome the party asks for. Options run from least to most.",
            )
            self.fields["red_line"] = forms.ChoiceField(
                required=False,
                choices=choices,
                label="Red line",
                help_text="The furthest the party would go from its demand.",
            )
        else:
            self.fields["demand"] = forms.ChoiceField(
                required=False,
                choices=[("", "— choose —"), *options],
                label="Demand",
                help_text="The outcome the party asks for.",
            )
            self.fields["acceptable"] = forms.MultipleChoiceField(
                required=False,
                choices=options,
                widget=forms.CheckboxSelectMultiple,
                label="Acceptable options (red line)",
                help_text="Every option the party could live with, its demand included.",
            )
        self.fields["sources"].choices = [(s.pk, _source_label(s)) for s in sources]
        if self.creating:
            self.fields["party"].choices = [("", "— choose —")] + [
                (tp.party_id, f"{tp.party.name} ({tp.get_role_display().lower()})")
                for tp in parties or ()
            ]
        else:
            del self.fields["party"]
            del self.fields["layer"]
        self.order_fields(
            [
                "party",
                "layer",
                "demand",
                "red_line",
                "acceptable",
                "priority",
                "confidence",
                "status",
                "rationale",
                "conditions",
                "sources",
            ]
        )

    @property
    def new_source_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.fields if n.startswith(NEW_SOURCE_PREFIX)]

    @property
    def new_source_has_errors(self) -> bool:
        return any(self[n].errors for n in self.fields if n.startswith(NEW_SOURCE_PREFIX))

    def _link_source(self) -> Mapping[str, Any]:
        return self.data if self.is_bound else (self.initial or {})

    @property
    def link_rows(self) -> list[LinkRow]:
        """The condition rows to show: those given, and one blank row to add another."""
        source = self._link_source()
        indexes = sorted(int(m.group(1)) for key in source if (m := _LINK_FIELD.match(str(key))))
        count = min(LINKS_LIMIT, (max(indexes) + 1 if indexes else 0) + 1)
        rows = []
        for i in range(count):
            chosen = set(_getlist(source, f"link-{i}-options"))
            rows.append(
                LinkRow(
                    index=i,
                    issue=str(source.get(f"link-{i}-issue") or ""),
                    low=str(source.get(f"link-{i}-low") or ""),
                    high=str(source.get(f"link-{i}-high") or ""),
                    groups=tuple(
                        LinkGroup(
                            key=other.key,
                            title=other.title,
                            options=tuple(
                                LinkOption(
                                    value=f"{other.key}:{o.key}",
                                    label=o.label,
                                    checked=f"{other.key}:{o.key}" in chosen,
                                )
                                for o in other.options.all()
                            ),
                        )
                        for other in self.link_issues
                        if other.has_options
                    ),
                )
            )
        return rows

    def clean_links(self) -> tuple[LinkInput, ...]:
        kinds = {other.key: other for other in self.link_issues}
        links = []
        for row in self.link_rows:
            if not row.issue:
                continue
            other = kinds.get(row.issue)
            if other is not None and other.is_numeric:
                low, high = _parse_number(row.low), _parse_number(row.high)
                if not isinstance(low, float) or not isinstance(high, float):
                    raise forms.ValidationError(LINK_BOUNDS.format(n=row.number, issue=other.title))
                links.append(LinkInput(issue=row.issue, within=(low, high)))
            else:
                # An issue key the talk does not have is left for the service to refuse.
                keys = frozenset(
                    value.split(":", 1)[1]
                    for value in _getlist(self.data, f"{row.prefix()}-options")
                    if value.startswith(f"{row.issue}:")
                )
                links.append(LinkInput(issue=row.issue, within=keys))
        return tuple(links)

    def position_input(self, source_ids: Sequence[int] = ()) -> PositionInput:
        data = self.cleaned_data
        kind = self.issue.scale_kind
        if kind == ScaleKind.NUMERIC:
            demand = _parse_number(data.get("demand", ""))
            red_line = _parse_number(data.get("red_line", ""))
        else:
            demand = data.get("demand") or None
            red_line = (data.get("red_line") or None) if kind == ScaleKind.ORDINAL else None
        return PositionInput(
            demand=demand,
            red_line=red_line,
            acceptable=frozenset(data.get("acceptable") or ()),
            priority=data["priority"],
            rationale=data.get("rationale", ""),
            conditions=data.get("conditions", ""),
            links=data.get("links") or (),
            confidence=data["confidence"],
            status=data["status"],
            source_ids=tuple(dict.fromkeys([*data.get("sources", []), *source_ids])),
        )

    def new_source_input(self) -> SourceInput | None:
        """The source typed into the form, or None when none was."""
        data = self.cleaned_data
        typed = {
            n: data.get(NEW_SOURCE_PREFIX + n)
            for n in ("title", "url", "publisher", "published_on")
        }
        if not any(typed.values()):
            return None
        return SourceInput(
            title=(typed["title"] or "").strip(),
            url=(typed["url"] or "").strip(),
            publisher=(typed["publisher"] or "").strip(),
            published_on=typed["published_on"],
            reliability=data.get(NEW_SOURCE_PREFIX + "reliability") or Source.Reliability.UNKNOWN,
        )

    def add_service_errors(self, exc: ValidationError, *, prefix: str = "") -> None:
        """A service's per-field messages, next to the fields they are about."""
        aliases = {"source": "sources", "red_line_option": "red_line"}
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for name, errors in exc.message_dict.items():
            field = prefix + aliases.get(name, name)
            for message in errors:
                self.add_error(field if field in self.fields else None, message)


def _getlist(source: Mapping[str, Any], key: str) -> list[str]:
    if hasattr(source, "getlist"):
        return [str(v) for v in source.getlist(key)]
    value = source.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _source_label(source: Source) -> str:
    parts = [source.title]
    if source.publisher:
        parts.append(source.publisher)
    if source.published_on:
        parts.append(f"{source.published_on:%-d %b %Y}")
    return " — ".join(parts)


def form_data_from_input(issue: Issue, data: PositionInput) -> dict[str, Any]:
    """A PositionInput as the form's field values (for initial data and re-binding)."""
    if issue.scale_kind == ScaleKind.NUMERIC:
        demand: Any = number_text(data.demand) if isinstance(data.demand, float | int) else ""
        red_line: Any = number_text(data.red_line) if isinstance(data.red_line, float | int) else ""
    else:
        demand = data.demand or ""
        red_line = data.red_line or ""
    values: dict[str, Any] = {
        "demand": demand,
        "priority": data.priority,
        "rationale": data.rationale,
        "conditions": data.conditions,
        "confidence": data.confidence,
        "status": data.status,
        "sources": list(data.source_ids),
    }
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        values["acceptable"] = sorted(data.acceptable)
    else:
        values["red_line"] = red_line
    for i, link in enumerate(links_json(data.links)):
        values[f"link-{i}-issue"] = link["issue"]
        if "options" in link:
            values[f"link-{i}-options"] = [f"{link['issue']}:{key}" for key in link["options"]]
        else:
            values[f"link-{i}-low"] = number_text(link["low"])
            values[f"link-{i}-high"] = number_text(link["high"])
    return values


def rebind(post: QueryDict, issue: Issue, data: PositionInput, *, version: int) -> QueryDict:
    """The posted form with its position fields replaced by `data` and a new version:
    the change note and a typed new source stay as they were typed."""
    values = post.copy()
    for key in [k for k in values if k.startswith("link-")]:
        del values[key]
    for key, value in form_data_from_input(issue, data).items():
        if isinstance(value, list):
            values.setlist(key, [str(v) for v in value])
        else:
            values[key] = str(value)
    values["based_on_version"] = str(version)
    return values
