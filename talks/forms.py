"""Forms of the talk pages: the view filters and the member management forms.

Writes go through talks.services; a form only parses input and carries the service's
messages back to the fields.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from issues.models import Layer

from .models import Membership, Round

NO_SUCH_USER = "There is no user called '{username}'."
DEFAULT_SINCE_DAYS = 7


class ViewFilterForm(forms.Form):
    """What a dashboard or issue page shows: layer, a moment in time, changes since when."""

    layer = forms.ChoiceField(choices=Layer.choices, required=False)
    round = forms.TypedChoiceField(
        coerce=int,
        required=False,
        empty_value=None,
        label="Positions as of",
        help_text="The end of a round shows positions as they stood then.",
    )
    since = forms.DateField(
        required=False,
        label="Changes since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, rounds: Sequence[Round], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rounds = {r.number: r for r in rounds}
        self.fields["round"].choices = [("", "Now (live)")] + [
            (r.number, round_label(r)) for r in rounds
        ]


def round_label(r: Round) -> str:
    where = f", {r.place}" if r.place else ""
    if r.ends_on:
        return f"End of round {r.number}{where} ({r.ends_on:%-d %b %Y})"
    return f"Round {r.number}{where} (under way)"


@dataclass(frozen=True)
class TimeFrame:
    """The moment a page shows (None: now, live) and the window of its changes panel."""

    round: Round | None
    as_of: dt.datetime | None
    since: dt.datetime
    since_date: dt.date

    @property
    def live(self) -> bool:
        return self.as_of is None


def end_of_day(day: dt.date) -> dt.datetime:
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(day, dt.time.max, tzinfo=tz)


def start_of_day(day: dt.date) -> dt.datetime:
    tz = timezone.get_current_timezone()
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def time_frame(form: ViewFilterForm) -> TimeFrame:
    """Filtering by round means time travel to the round's last day: the dashboard shows
    positions and summaries as they stood when it closed, and the changes panel lists what
    moved during the round. A round still under way, or ending today or later, is now."""
    data = form.cleaned_data if form.is_valid() else {}
    today = timezone.localdate()
    chosen = form.rounds.get(data.get("round")) if data.get("round") is not None else None
    as_of = None
    if chosen is not None and chosen.ends_on is not None and chosen.ends_on < today:
        as_of = end_of_day(chosen.ends_on)
    since_date = data.get("since")
    if since_date is None:
        if chosen is not None:
            since_date = chosen.starts_on
        else:
            since_date = today - dt.timedelta(days=DEFAULT_SINCE_DAYS)
    return TimeFrame(
        round=chosen, as_of=as_of, since=start_of_day(since_date), since_date=since_date
    )


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(NO_SUCH_USER.format(username=username))
        self.user = user
        return username


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


def add_service_errors(
    form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's per-field messages on the form's fields (or on top of the form),
    keeping everything the user typed."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        name = (aliases or {}).get(name, name)
        field = name if name in form.fields else None
        for message in errors:
            form.add_error(field, message)
