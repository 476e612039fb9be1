"""Forms of the proposal pages. They parse what the browser sends; whether it makes a valid
proposal is for positions.services to say, whose messages go back next to the fields."""

from collections.abc import Sequence
from typing import Any

from django import forms

from issues.models import Issue, Layer, ScaleKind
from talks.models import TalkParty

from .forms import _parse_number
from .models import Proposal

TERM_ACTIONS = (("set", "Set"), ("clear", "Clear"))
PHASE_ACTIONS = (("add", "Add"), ("save", "Save"), ("remove", "Remove"))


class _Versioned(forms.Form):
    """Every write names the version it was made on, and the layer the page shows."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    layer = forms.ChoiceField(choices=Layer.choices, required=False, widget=forms.HiddenInput)


class ProposalDetailsForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    mediator = forms.TypedChoiceField(coerce=int, label="Mediating party")
    summary = forms.CharField(
        required=False,
        max_length=5000,
        label="Summary",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The idea of the package, in a few sentences.",
    )

    def __init__(self, *args: Any, mediators: Sequence[TalkParty], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mediator"].choices = [("", "— choose —")] + [
            (tp.party_id, tp.party.name) for tp in mediators
        ]


class ProposalDetailsEditForm(_Versioned, ProposalDetailsForm):
    pass


class SuggestForm(forms.Form):
    mediator = forms.TypedChoiceField(coerce=int, label="On behalf of")
    layer = forms.ChoiceField(
        choices=Layer.choices,
        initial=Layer.DECLARED,
        label="From the positions",
        help_text="Each issue at the bridging point of these positions.",
    )

    def __init__(
        self, *args: Any, mediators: Sequence[TalkParty], layers: Sequence[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mediator"].choices = [(tp.party_id, tp.party.name) for tp in mediators]
        self.fields["layer"].choices = [(k, v) for k, v in Layer.choices if k in layers]


class TermForm(_Versioned):
    issue = forms.SlugField(max_length=80)
    phase = forms.IntegerField(min_value=1)
    value = forms.CharField(required=False, max_length=60, strip=True)
    action = forms.ChoiceField(choices=TERM_ACTIONS, required=False)

    def term_value(self, issue: Issue) -> float | str | None:
        """The value to set: a number on a numeric issue (text that is not one is left for
        the service to refuse), an option key otherwise; None to clear the term."""
        raw = self.cleaned_data.get("value") or ""
        if self.cleaned_data.get("action") == "clear" or not raw:
            return None
        if issue.scale_kind == ScaleKind.NUMERIC:
            return _parse_number(raw)
        return raw


class PhaseForm(_Versioned):
    action = forms.ChoiceField(choices=PHASE_ACTIONS)
    number = forms.IntegerField(min_value=1, required=False)
    title = forms.CharField(required=False, max_length=200, label="Title")
    trigger = forms.CharField(
        required=False,
        max_length=2000,
        label="Trigger",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What opens this phase, e.g. 'Every living hostage released.'",
    )


class StatusForm(_Versioned):
    status = forms.ChoiceField(choices=Proposal.Status.choices)
    superseded_by = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Superseded by"
    )
    note = forms.CharField(
        required=False,
        max_length=2000,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why, for the record (optional).",
    )

    def __init__(self, *args: Any, successors: Sequence[Proposal] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["superseded_by"].choices = [("", "— choose —")] + [
            (p.pk, f"{p.title} ({p.get_status_display().lower()})") for p in successors
        ]


class CopyForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
    title = forms.CharField(required=False, max_length=200)


class CompareForm(forms.Form):
    """Another proposal, or two versions of this one (the later one defaults to the
    current version, the earlier one to the version before it)."""

    with_ = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Proposal")
    version = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Version")
    against = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="with")

    def __init__(
        self,
        *args: Any,
        others: Sequence[Proposal],
        versions: Sequence[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["with_"].choices = [("", "— another proposal —")] + [
            (p.pk, f"{p.title} ({p.status}, v{p.version})") for p in others
        ]
        version_choices = [(v, f"version {v}") for v in versions]
        self.fields["version"].choices = [("", "—"), *version_choices]
        self.fields["against"].choices = [("", "—"), *version_choices]

    def add_prefix(self, field_name: str) -> str:
        # The form reads ?with=, as the API does; `with` is a keyword in Python.
        return "with" if field_name == "with_" else super().add_prefix(field_name)
