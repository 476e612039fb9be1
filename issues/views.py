"""Analysts' pages for a talk's issues and their options, on issues.services.

Every change carries the issue version the page showed. If the issue changed meanwhile the
service refuses it, nothing is saved, and the page says so with the current state beside
what was typed.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from talks.access import analyst_talk
from talks.forms import add_service_errors
from talks.models import Membership, Talk
from talks.selectors import issue_get_for_talk, issue_list_for_talk

from . import services
from .forms import IssueForm, OptionActionForm, OptionAddForm, OptionEditForm, issue_initial
from .models import Issue, IssueOption
from .services import IssueConflict

CONFLICT = (
    "Someone else changed this issue while you were looking at it (it is now at version "
    "{current}; you saw version {based_on}). Nothing was saved: check the current state "
    "below and try again."
)


@login_required
def issue_manage(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    issues = issue_list_for_talk(talk=talk)
    return render(
        request,
        "issues/manage.html",
        {"talk": talk, "membership": membership, "issues": issues},
    )


@login_required
def issue_new(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    form = IssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            issue = services.issue_create(
                talk=talk,
                key=data["key"],
                title=data["title"],
                scale_kind=data["scale_kind"],
                description=data.get("description", ""),
                priority=data["priority"],
                order=data["order"],
                scale_min=data.get("scale_min"),
                scale_max=data.get("scale_max"),
                unit=data.get("unit", ""),
                max_label=data.get("max_label", ""),
                options=form.option_inputs(),
                by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created the issue “{issue.title}”.")
            return redirect("talks:issue", slug=talk.slug, key=issue.key)
    return render(
        request,
        "issues/issue_form.html",
        {"talk": talk, "membership": membership, "form": form},
    )


def _edit_page(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    issue: Issue,
    *,
    form: IssueForm | None = None,
    add_form: OptionAddForm | None = None,
    option_errors: dict[str, list[str]] | None = None,
    conflict: str = "",
    theirs: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    options = list(issue.options.order_by("order"))
    return render(
        request,
        "issues/issue_edit.html",
        {
            "talk": talk,
            "membership": membership,
            "issue": issue,
            "form": form or IssueForm(initial=issue_initial(issue), issue=issue),
            "options": options,
            "add_form": add_form
            or OptionAddForm(initial={"based_on_version": issue.version}, issue=issue),
            "option_errors": option_errors or {},
            "conflict": conflict,
            "theirs": theirs or [],
        },
    )


def _fresh(talk: Talk, key: str) -> Issue:
    return issue_get_for_talk(talk=talk, key=key)


@login_required
def issue_edit(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    issue = _fresh(talk, key)
    if request.method != "POST":
        return _edit_page(request, talk, membership, issue)
    form = IssueForm(request.POST, issue=issue)
    if not form.is_valid():
        return _edit_page(request, talk, membership, issue, form=form)
    based_on = form.cleaned_data.get("based_on_version") or issue.version
    try:
        saved = services.issue_update(
            issue=issue, based_on_version=based_on, changes=form.changes(), by=request.user
        )
    except IssueConflict as exc:
        current = _fresh(talk, key)
        data = request.POST.copy()
        data["based_on_version"] = str(current.version)
        retry = IssueForm(data, issue=current)
        retry.is_valid()
        theirs = []
        mine = form.changes()
        for name in ("title", "description", "priority", "order", "scale_min", "scale_max"):
            if name not in retry.fields:
                continue
            theirs.append(
                {
                    "label": retry.fields[name].label or name.replace("_", " ").capitalize(),
                    "theirs": getattr(current, name),
                    "yours": getattr(mine, name),
                    "differs": getattr(current, name) != getattr(mine, name),
                }
            )
        for name in ("unit", "max_label"):
            if name not in retry.fields:
                continue
            theirs.append(
                {
                    "label": retry.fields[name].label or name.capitalize(),
                    "theirs": getattr(current, name),
                    "yours": getattr(mine, name),
                    "differs": getattr(current, name) != getattr(mine, name),
                }
            )
        return _edit_page(
            request,
            talk,
            membership,
            current,
            form=retry,
            conflict=CONFLICT.format(current=exc.current_version, based_on=based_on)
            + " The form holds your values on top of the new version.",
            theirs=theirs,
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _edit_page(request, talk, membership, issue, form=form)
    if saved.version == based_on:
        messages.info(request, "Nothing changed.")
    else:
        messages.success(request, f"Saved “{saved.title}” (version {saved.version}).")
    return redirect("talks:issue_edit", slug=talk.slug, key=saved.key)


def _option(issue: Issue, option_key: str) -> IssueOption:
    option = next((o for o in issue.options.all() if o.key == option_key), None)
    if option is None:
        raise Http404("No such option.")
    return option


def _options_url(talk: Talk, issue: Issue) -> str:
    return reverse("talks:issue_edit", args=[talk.slug, issue.key]) + "#options"


@require_POST
@login_required
def option_add(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    issue = _fresh(talk, key)
    form = OptionAddForm(request.POST, issue=issue)
    if not form.is_valid():
        return _edit_page(request, talk, membership, issue, add_form=form)
    data = form.cleaned_data
    try:
        services.issue_option_add(
            issue=issue,
            based_on_version=data["based_on_version"],
            option=services.OptionInput(
                key=data["key"], label=data["label"], description=data.get("description", "")
            ),
            before_key=data.get("before") or None,
            by=request.user,
        )
    except IssueConflict as exc:
        current = _fresh(talk, key)
        retry_data = request.POST.copy()
        retry_data["add-based_on_version"] = str(current.version)
        retry = OptionAddForm(retry_data, issue=current)
        retry.is_valid()
        return _edit_page(
            request,
            talk,
            membership,
            current,
            add_form=retry,
            conflict=CONFLICT.format(
                current=exc.current_version, based_on=data["based_on_version"]
            ),
        )
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _edit_page(request, talk, membership, issue, add_form=form)
    messages.success(request, f"Added the option “{data['label']}”.")
    return redirect(_options_url(talk, issue))


def _option_action(
    request: HttpRequest, slug: str, key: str, option_key: str, form_class: type, act
) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    issue = _fresh(talk, key)
    option = _option(issue, option_key)
    form = form_class(request.POST)
    if not form.is_valid():
        errors = [f"{f}: {' '.join(e)}" for f, e in form.errors.items()]
        return _edit_page(request, talk, membership, issue, option_errors={option_key: errors})
    try:
        message = act(issue, option, form.cleaned_data)
    except IssueConflict as exc:
        return _edit_page(
            request,
            talk,
            membership,
            _fresh(talk, key),
            conflict=CONFLICT.format(
                current=exc.current_version, based_on=form.cleaned_data["based_on_version"]
            ),
        )
    except ValidationError as exc:
        return _edit_page(
            request,
            talk,
            membership,
            issue,
            option_errors={option_key: exc.messages},
        )
    if message:
        messages.success(request, message)
    return redirect(_options_url(talk, issue))


@require_POST
@login_required
def option_edit(request: HttpRequest, slug: str, key: str, option_key: str) -> HttpResponse:
    def act(issue: Issue, option: IssueOption, data: dict[str, Any]) -> str:
        services.issue_option_update(
            option=option,
            based_on_version=data["based_on_version"],
            label=data["label"],
            description=data.get("description", ""),
            by=request.user,
        )
        return f"Saved the option “{data['label']}”."

    return _option_action(request, slug, key, option_key, OptionEditForm, act)


@require_POST
@login_required
def option_move(request: HttpRequest, slug: str, key: str, option_key: str) -> HttpResponse:
    def act(issue: Issue, option: IssueOption, data: dict[str, Any]) -> str:
        keys = [o.key for o in issue.options.all()]
        at = keys.index(option.key)
        to = at - 1 if data.get("direction") == "up" else at + 1
        if not 0 <= to < len(keys):
            return ""
        keys[at], keys[to] = keys[to], keys[at]
        services.issue_options_reorder(
            issue=issue, based_on_version=data["based_on_version"], keys=keys, by=request.user
        )
        return f"Moved “{option.label}” {data.get('direction') or 'down'}."

    return _option_action(request, slug, key, option_key, OptionActionForm, act)


@require_POST
@login_required
def option_delete(request: HttpRequest, slug: str, key: str, option_key: str) -> HttpResponse:
    def act(issue: Issue, option: IssueOption, data: dict[str, Any]) -> str:
        services.issue_option_delete(
            option=option, based_on_version=data["based_on_version"], by=request.user
        )
        return f"Removed the option “{option.label}”."

    return _option_action(request, slug, key, option_key, OptionActionForm, act)
