from django import forms

from .services import api_token_max_days


def _lifetimes() -> list[tuple[int, str]]:
    top = api_token_max_days()
    days = sorted({d for d in (7, 30, top) if d <= top})
    return [(d, f"{d} days") for d in days]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        label="What is it for?",
        help_text="e.g. 'nightly export' or 'reporting notebook'.",
    )
    days = forms.TypedChoiceField(coerce=int, label="Lasts", choices=())
    read_only = forms.BooleanField(
        required=False,
        label="Read-only",
        help_text="It can read, but any change it attempts is refused.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = _lifetimes()
        self.fields["days"].choices = choices
        self.fields["days"].initial = choices[-1][0]


class TokenRevokeForm(forms.Form):
    key = forms.CharField(max_length=25)
