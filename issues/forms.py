"""Forms for managing a talk's issues and their options; issues.services validates and saves."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from . import gaps
from .models import Issue, ScaleKind
from .services import IssueChanges, OptionInput

OPTION_LINE_EMPTY = "Line {n} has no label."
PRIORITY_CHOICES = [(n, str(n)) for n in range(1, 6)]


def _float_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class IssueForm(forms.Form):
    """Create (with key, scale kind and options) or edit an issue."""

    key = forms.SlugField(
        max_length=60, help_text="Short name used in addresses and the API, e.g. 'withdrawal'."
    )
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False, max_length=10000, widget=forms.Textarea(attrs={"rows": 3})
    )
    priority = forms.TypedChoiceField(
        choices=PRIORITY_CHOICES,
        coerce=int,
        initial=3,
        help_text="How much the issue weighs in the talk (blocking issues are ranked by it).",
    )
    order = forms.IntegerField(min_value=0, initial=0, help_text="Position on the dashboard.")
    scale_kind = forms.ChoiceField(choices=ScaleKind.choices, label="Scale")
    scale_min = forms.FloatField(required=False, label="Minimum", help_text="Numeric scales.")
    scale_max = forms.FloatField(required=False, label="Maximum", help_text="Numeric scales.")
    unit = forms.CharField(
        required=False, max_length=60, help_text="Numeric scales, e.g. 'days' or 'trucks/day'."
    )
    max_label = forms.CharField(
        required=False,
        max_length=60,
        label="Name of the maximum",
        help_text="Optional, e.g. 'permanent' for a ceasefire's length.",
    )
    options = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Options",
        help_text="Ordinal and categorical scales: one option per line, in scale order "
        "(least to most for ordinal). Write 'key | label' to choose the key.",
    )
    based_on_version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, issue: Issue | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.issue = issue
        if issue is not None:
            # The key and the scale kind are fixed once created; options are managed one by
            # one below the form.
            for name in ("key", "scale_kind", "options"):
                del self.fields[name]
            if issue.scale_kind != ScaleKind.NUMERIC:
                for name in ("scale_min", "scale_max", "unit", "max_label"):
                    del self.fields[name]
        else:
            del self.fields["based_on_version"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = self.issue.scale_kind if self.issue else data.get("scale_kind")
        if kind == ScaleKind.NUMERIC and "scale_min" in self.fields:
            scale = gaps.Scale(
                kind=gaps.ScaleKind.NUMERIC,
                minimum=data.get("scale_min"),
                maximum=data.get("scale_max"),
            )
            names = {"minimum": "scale_min", "maximum": "scale_max"}
            for name, message in gaps.validate_scale(scale).items():
                if names.get(name) in self.fields and names[name] not in self.errors:
                    self.add_error(names[name], message)
        return data

    def option_inputs(self) -> list[OptionInput]:
        lines = [line.strip() for line in self.cleaned_data.get("options", "").splitlines()]
        out = []
        for n, line in enumerate(lines, start=1):
            if not line:
                continue
            key, sep, label = line.partition("|")
            if not sep:
                key, label = "", key
            key, label = key.strip(), label.strip()
            if not label:
                raise ValidationError({"options": OPTION_LINE_EMPTY.format(n=n)})
            out.append(OptionInput(key=key or slugify(label)[:60], label=label))
        return out

    def changes(self) -> IssueChanges:
        data = self.cleaned_data
        issue = self.issue

        def value(name: str, default: Any) -> Any:
            # A field the form does not show keeps the issue's value.
            if name in self.fields:
                return data.get(name, default)
            return getattr(issue, name, default) if issue is not None else default

        return IssueChanges(
            title=data["title"],
            description=data.get("description", ""),
            priority=data["priority"],
            order=data["order"],
            scale_min=value("scale_min", None),
            scale_max=value("scale_max", None),
            unit=value("unit", ""),
            max_label=value("max_label", ""),
        )


def issue_initial(issue: Issue) -> dict[str, Any]:
    return {
        "title": issue.title,
        "description": issue.description,
        "priority": issue.priority,
        "order": issue.order,
        "scale_min": _float_text(issue.scale_min),
        "scale_max": _float_text(issue.scale_max),
        "unit": issue.unit,
        "max_label": issue.max_label,
        "based_on_version": issue.version,
    }


class OptionAddForm(forms.Form):
    key = forms.SlugField(max_length=60, help_text="e.g. 'phased'")
    label = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=5000)
    before = forms.ChoiceField(required=False, label="Place")
    based_on_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, issue: Issue, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "add")
        super().__init__(*args, **kwargs)
        self.fields["before"].choices = [("", "at the end")] + [
            (o.key, f"before “{o.label}”") for o in issue.options.all()
        ]


class OptionEditForm(forms.Form):
    label = forms.CharField(max_length=200)
    description = forms.CharField(required=False, max_length=5000)
    based_on_version = forms.IntegerField(widget=forms.HiddenInput)


class OptionActionForm(forms.Form):
    """Move or delete: only the version the page showed."""

    based_on_version = forms.IntegerField(widget=forms.HiddenInput)
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")], required=False)
