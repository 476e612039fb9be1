"""Filters and related fields whose choices are the objects of the user's own talks.

Another talk's slug or id is refused with the very message a nonexistent one gets, so a
filter or a body can never tell a stranger that a talk (or its issue, party) exists.
"""

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers

from issues.models import Issue
from talks.models import Party, Talk

from .access import access_for
from .errors import BadQuery


def visible_talks(request: Any) -> QuerySet[Talk]:
    if request is None:
        return Talk.objects.none()
    return Talk.objects.filter(pk__in=access_for(request).talk_ids)


def visible_issues(request: Any) -> QuerySet[Issue]:
    if request is None:
        return Issue.objects.none()
    return Issue.objects.filter(talk_id__in=access_for(request).talk_ids)


def visible_parties(request: Any) -> QuerySet[Party]:
    if request is None:
        return Party.objects.none()
    return Party.objects.filter(talk_roles__talk_id__in=access_for(request).talk_ids).distinct()


EMPTY_FILTER = "Give a value, or leave the parameter out."
BOOLEAN_INVALID = "Give true or false."


class StrictBooleanField(forms.Field):
    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if value not in ("true", "false"):
            raise forms.ValidationError(BOOLEAN_INVALID, code="invalid")
        return value == "true"


class StrictBooleanFilter(django_filters.BooleanFilter):
    """true or false and nothing else (django-filter's own reads 'null' as no filter)."""

    field_class = StrictBooleanField


class TalkFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", visible_talks)
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("label", "The talk's slug.")
        super().__init__(*args, **kwargs)


class IssueFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", visible_issues)
        kwargs.setdefault("label", "The issue's id.")
        super().__init__(*args, **kwargs)


class PartyFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", visible_parties)
        kwargs.setdefault("label", "The party's id.")
        super().__init__(*args, **kwargs)


ISSUE_KEY_UNKNOWN = "Select a valid choice. That choice is not one of the available choices."


class IssueKeyFilter(django_filters.CharFilter):
    """An issue by its key (keys are unique per talk: combine with `talk` to pick one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label", "The issue's key (combine with talk).")
        super().__init__(*args, **kwargs)

    def filter(self, qs: Any, value: Any) -> Any:
        if value in (None, ""):
            return qs
        request = getattr(self.parent, "request", None)
        if not visible_issues(request).filter(key=value).exists():
            raise BadQuery({self.field_name_param: [ISSUE_KEY_UNKNOWN]})
        return qs.filter(**{self.field_name: value})

    @property
    def field_name_param(self) -> str:
        return next(name for name, f in self.parent.filters.items() if f is self)


class PartyNameFilter(django_filters.ModelChoiceFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", visible_parties)
        kwargs.setdefault("to_field_name", "name")
        kwargs.setdefault("label", "The party's name, e.g. Israel.")
        super().__init__(*args, **kwargs)


class ViewFilterBackend(DjangoFilterBackend):
    """Lets a view choose its FilterSet per request (e.g. another one for `as_of`), and
    answers a bad filter value as a query error."""

    def filter_queryset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = self.get_filterset_class(view, queryset)
        if filterset is not None:
            empty = [k for k in filterset.base_filters if request.query_params.get(k) == ""]
            if empty:
                raise BadQuery({name: [EMPTY_FILTER] for name in empty})
        try:
            return super().filter_queryset(request, queryset, view)
        except serializers.ValidationError as exc:
            raise BadQuery(exc.detail) from exc

    def get_filterset_class(self, view: Any, queryset: Any = None) -> Any:
        choose = getattr(view, "get_filterset_class", None)
        if choose is None:
            return super().get_filterset_class(view, queryset)
        return choose()


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary key among the objects of the requesting user's talks."""

    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        self.choices_for = choices
        kwargs.setdefault("queryset", Talk.objects.none())  # replaced per request below
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.choices_for(self.context.get("request"))


class VisibleSlugField(serializers.SlugRelatedField):
    def __init__(self, *, choices: Any, **kwargs: Any) -> None:
        self.choices_for = choices
        kwargs.setdefault("queryset", Talk.objects.none())
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.choices_for(self.context.get("request"))
