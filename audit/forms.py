"""The audit log's filters."""

import datetime as dt
from typing import Any

from django import forms
from django.apps import apps
from django.utils import timezone

from .context import Interface
from .models import AuditAction
from .selectors import AuditScope, Cursor

UNTIL_BEFORE_SINCE = "The end date is before the start date."
BAD_CURSOR = "This page link is not valid: start again from the newest events."

# Kinds of object the log names, with what people call them.
OBJECT_TYPES = (
    "talks.talk",
    "talks.membership",
    "talks.party",
    "talks.talkparty",
    "talks.round",
    "issues.issue",
    "issues.issueoption",
    "positions.position",
    "positions.source",
    "positions.proposal",
    "auth.user",
    "knox.authtoken",
)


def _object_type_choices() -> list[tuple[str, str]]:
    choices = []
    for label in OBJECT_TYPES:
        app_label, model_name = label.split(".")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        choices.append((label, str(model._meta.verbose_name).capitalize()))
    return choices


def _any(choices: Any) -> list[tuple[str, str]]:
    return [("", "Any"), *choices]


class AuditFilterForm(forms.Form):
    talk = forms.ChoiceField(required=False)
    user = forms.CharField(required=False, max_length=150, label="User")
    interface = forms.ChoiceField(required=False, choices=_any(Interface.choices))
    action = forms.ChoiceField(required=False, choices=_any(AuditAction.choices))
    object_type = forms.ChoiceField(required=False, label="Kind of object")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    request_id = forms.CharField(required=False, max_length=64, label="Request id")
    object_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)
    after = forms.CharField(required=False, max_length=80, widget=forms.HiddenInput)

    def __init__(self, *args: Any, scope: AuditScope, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scope = scope
        # Only the reader's own talks: any other slug, real or not, is the same unknown choice.
        self.fields["talk"].choices = _any((t.slug, t.title) for t in scope.talks)
        self.fields["object_type"].choices = _any(_object_type_choices())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", UNTIL_BEFORE_SINCE)
        for name in ("before", "after"):
            text = data.get(name)
            if text:
                try:
                    data[name] = Cursor.parse(text)
                except ValueError:
                    self.add_error(None, BAD_CURSOR)
            else:
                data[name] = None
        return data

    def filters(self) -> dict[str, Any]:
        """The selector's arguments, within the reader's scope."""
        data = self.cleaned_data
        talk_ids = self.scope.talk_ids
        if data.get("talk"):
            talk_ids = [t.pk for t in self.scope.talks if t.slug == data["talk"]]
        return {
            "talk_ids": talk_ids,
            "username": data.get("user") or None,
            "interface": data.get("interface") or None,
            "action": data.get("action") or None,
            "object_type": data.get("object_type") or None,
            "object_id": data.get("object_id") or None,
            "request_id": data.get("request_id") or None,
            "since": _start_of(data.get("since")),
            "until": _start_of(data["until"] + dt.timedelta(days=1)) if data.get("until") else None,
        }

    def query(self, **overrides: Any) -> str:
        """The filters as a query string, with some changed (for links)."""
        from django.utils.http import urlencode

        data = {name: self.data.get(name, "") for name in self.fields}
        data.update(overrides)
        return urlencode({k: v for k, v in data.items() if v not in ("", None)})


def _start_of(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
