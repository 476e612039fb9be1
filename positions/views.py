"""Analysts' pages for positions: create, edit (conflict-safe), withdraw.

Every write goes through positions.services. An edit carries the version it was based on;
when someone saved the position meanwhile the service refuses it, and the page shows their
version beside the editor's, field by field, with a form holding the editor's changes on
top of theirs (positions.conflicts).

A form shown again with its errors, or with a conflict, is an ordinary page (200): the
page itself says what went wrong, and a 4xx document would be logged by the browser as a
failed load.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from audit.services import audit_assessed_read
from issues.models import Issue, Layer
from issues.selectors import issue_scale
from talks import presenters
from talks.access import analyst_talk
from talks.models import Membership, Talk
from talks.selectors import issue_get_for_talk, issue_list_for_talk, talk_parties

from . import conflicts, selectors
from .forms import PositionForm, form_data_from_input, rebind
from .models import Interface, Position, PositionRevision
from .services import (
    PositionConflict,
    PositionInput,
    position_create,
    position_delete,
    position_input_from,
    position_snapshot,
    position_update,
    position_validate,
    source_create,
)


def _issue_url(talk: Talk, issue: Issue, layer: str) -> str:
    url = reverse("talks:issue", args=[talk.slug, issue.key])
    return f"{url}?{urlencode({'layer': layer})}" if layer != Layer.DECLARED else url


def _save(request: HttpRequest, form: PositionForm, write) -> Position:
    """Validate the position and the typed new source together, then write both or neither.

    Raises ValidationError with every message at once (position fields and new-source
    fields), or PositionConflict from the write.
    """
    note = form.cleaned_data.get("note", "")
    with transaction.atomic():
        errors: dict[str, list[str]] = {}
        try:
            position_validate(issue=form.issue, data=form.position_input(), note=note)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        new_ids: list[int] = []
        typed = form.new_source_input()
        if typed is not None:
            try:
                source = source_create(talk=form.issue.talk, data=typed, by=request.user)
            except ValidationError as exc:
                errors.update({f"new_source_{k}": v for k, v in exc.message_dict.items()})
            else:
                new_ids.append(source.pk)
        if errors:
            raise ValidationError(errors)
        return write(form.position_input(new_ids), note)


def _form(
    issue: Issue, talk: Talk, *, data: Any = None, initial: Any = None, creating: bool = False
) -> PositionForm:
    return PositionForm(
        data,
        initial=initial,
        issue=issue,
        sources=selectors.source_list_for_talk(talk=talk),
        parties=list(talk_parties(talk=talk)) if creating else None,
        link_issues=list(issue_list_for_talk(talk=talk)),
    )


def _form_page(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    form: PositionForm,
    *,
    position: Position | None = None,
) -> HttpResponse:
    return render(
        request,
        "positions/position_form.html",
        {
            "talk": talk,
            "membership": membership,
            "issue": form.issue,
            "position": position,
            "form": form,
        },
    )


def _saved(request: HttpRequest, position: Position, verb: str) -> HttpResponse:
    messages.success(
        request,
        f"{verb} {position.party.name}'s {position.layer} position on {position.issue.title} "
        f"(version {position.version}). The gap summary is being recomputed.",
    )
    return redirect(_issue_url(position.issue.talk, position.issue, position.layer))


@login_required
def position_new(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    issue = issue_get_for_talk(talk=talk, key=key)
    if request.method != "POST":
        initial = {
            "party": request.GET.get("party", ""),
            "layer": request.GET.get("layer") or Layer.DECLARED,
            "priority": issue.priority,
        }
        form = _form(issue, talk, initial=initial, creating=True)
        return _form_page(request, talk, membership, form)

    form = _form(issue, talk, data=request.POST, creating=True)
    if form.is_valid():
        party = next(
            (
                tp.party
                for tp in talk_parties(talk=talk)
                if tp.party_id == form.cleaned_data["party"]
            ),
            None,
        )
        if party is None:
            form.add_error("party", "Choose one of the talk's parties.")
        else:

            def write(data: PositionInput, note: str) -> Position:
                return position_create(
                    issue=issue,
                    party=party,
                    layer=form.cleaned_data["layer"],
                    data=data,
                    by=request.user,
                    via=Interface.WEB,
                    note=note,
                )

            try:
                position = _save(request, form, write)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return _saved(request, position, "Recorded")
    return _form_page(request, talk, membership, form)


def _position(talk: Talk, pk: int) -> Position:
    position = selectors.position_get_for_talk(talk=talk, pk=pk)
    if position is None:
        raise Http404("No such position.")
    return position


def _record_assessed_read(request: HttpRequest, position: Position, what: str) -> None:
    """A page showing an assessed position's saved values is in the audit log (SECURITY.md)."""
    if position.layer == Layer.ASSESSED:
        audit_assessed_read(
            user=request.user,
            talk=position.issue.talk,
            what=f"{what}: {position.party.name} on {position.issue.key}",
        )


def _create_again_url(talk: Talk, position: Position) -> str:
    url = reverse("talks:position_new", args=[talk.slug, position.issue.key])
    return f"{url}?{urlencode({'party': position.party_id, 'layer': position.layer})}"


@login_required
def position_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    position = _position(talk, pk)
    issue = position.issue
    if position.is_deleted and request.method != "POST":
        messages.info(request, "This position was withdrawn. Record it again to bring it back.")
        return redirect(_create_again_url(talk, position))
    if request.method != "POST":
        initial = {
            **form_data_from_input(issue, position_input_from(position)),
            "based_on_version": position.version,
        }
        form = _form(issue, talk, initial=initial)
        _record_assessed_read(request, position, "position editor")
        return _form_page(request, talk, membership, form, position=position)

    form = _form(issue, talk, data=request.POST)
    if form.is_valid():
        based_on = form.cleaned_data.get("based_on_version") or position.version

        def write(data: PositionInput, note: str) -> Position:
            return position_update(
                position=position,
                based_on_version=based_on,
                data=data,
                by=request.user,
                via=Interface.WEB,
                note=note,
            )

        try:
            saved = _save(request, form, write)
        except PositionConflict as exc:
            return _conflict_page(request, talk, membership, form, exc)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if saved.version == based_on:
                messages.info(request, "Nothing changed: the position was left as it was.")
                return redirect(_issue_url(talk, issue, saved.layer))
            return _saved(request, saved, "Saved")
    return _form_page(request, talk, membership, form, position=position)


def _conflict_page(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    form: PositionForm,
    exc: PositionConflict,
) -> HttpResponse:
    current = exc.position
    issue = form.issue
    _record_assessed_read(request, current, "position conflict")
    scale = issue_scale(issue=issue)
    sources = {s.pk: s for s in selectors.source_list_for_talk(talk=talk)}
    base_revision = PositionRevision.objects.filter(
        position=current, version=exc.based_on_version
    ).first()
    base = conflicts.input_from_snapshot(base_revision.snapshot) if base_revision else None
    theirs = conflicts.input_from_snapshot(position_snapshot(current))
    yours = form.position_input()
    typed_source = form.new_source_input()
    result = conflicts.merge(
        kind=issue.scale_kind,
        base=base,
        theirs=theirs,
        yours=yours,
        new_source=typed_source is not None,
    )
    values = {
        "base": conflicts.comparable(issue.scale_kind, base) if base else None,
        "theirs": conflicts.comparable(issue.scale_kind, theirs),
        "yours": conflicts.comparable(issue.scale_kind, yours),
    }
    shown = [
        name
        for name in conflicts.COMPARED
        if not (name == "red_line" and issue.scale_kind == "categorical")
        and not (name == "acceptable" and issue.scale_kind != "categorical")
    ]
    rows = []
    for name in shown:

        def text(which: str, name: str = name) -> str:
            snapshot = values[which]
            if snapshot is None:
                return ""
            return presenters.field_text(
                name, snapshot[name], issue=issue, scale=scale, sources=sources
            )

        yours_text = text("yours")
        if name == "sources" and typed_source is not None:
            added = f"new: {typed_source.title or typed_source.url}"
            yours_text = added if yours_text == "—" else f"{yours_text}; {added}"
        rows.append(
            {
                "name": name,
                "label": presenters.FIELD_LABELS[name],
                "base": text("base"),
                "theirs": text("theirs"),
                "yours": yours_text,
                "comparison": result.fields[name],
            }
        )
    their_revisions = list(
        selectors.position_revisions(position=current).filter(version__gt=exc.based_on_version)
    )[::-1]
    withdrawn = current.is_deleted
    data = rebind(request.POST, issue, result.merged, version=current.version)
    if withdrawn:
        data["party"] = str(current.party_id)
        data["layer"] = current.layer
        data.pop("based_on_version", None)
    reapply = _form(issue, talk, data=data, creating=withdrawn)
    reapply.is_valid()  # bound, so it shows the values; valid, so it shows no errors
    return render(
        request,
        "positions/conflict.html",
        {
            "talk": talk,
            "membership": membership,
            "issue": issue,
            "position": current,
            "rows": rows,
            "both_changed": [presenters.FIELD_LABELS[f] for f in result.both_changed],
            "their_revisions": their_revisions,
            "based_on_version": exc.based_on_version,
            "has_base": base is not None,
            "withdrawn": withdrawn,
            "form": reapply,
            "action": (
                reverse("talks:position_new", args=[talk.slug, issue.key])
                if withdrawn
                else reverse("talks:position_edit", args=[talk.slug, current.pk])
            ),
        },
    )


@login_required
def position_withdraw(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    position = _position(talk, pk)
    if position.is_deleted:
        messages.info(request, "This position was already withdrawn.")
        return redirect(_issue_url(talk, position.issue, position.layer))
    context: dict[str, Any] = {
        "talk": talk,
        "membership": membership,
        "issue": position.issue,
        "position": position,
        "version": position.version,
        "note": "",
        "error": "",
        "conflict": None,
    }
    if request.method != "POST":
        return render(request, "positions/withdraw.html", context)
    note = request.POST.get("note", "")
    context["note"] = note
    try:
        based_on = int(request.POST.get("based_on_version", ""))
    except ValueError:
        based_on = position.version
    try:
        position_delete(
            position=position,
            based_on_version=based_on,
            by=request.user,
            via=Interface.WEB,
            note=note,
        )
    except PositionConflict as exc:
        context["conflict"] = exc
        context["position"] = exc.position
        _record_assessed_read(request, exc.position, "position withdrawal conflict")
        context["version"] = exc.current_version
        context["their_revisions"] = list(
            selectors.position_revisions(position=exc.position).filter(version__gt=based_on)
        )[::-1]
        if exc.position.is_deleted:
            messages.info(request, "Someone else withdrew this position meanwhile.")
            return redirect(_issue_url(talk, position.issue, position.layer))
        return render(request, "positions/withdraw.html", context)
    except ValidationError as exc:
        context["error"] = " ".join(exc.message_dict.get("note", exc.messages))
        return render(request, "positions/withdraw.html", context)
    messages.success(
        request,
        f"Withdrew {position.party.name}'s {position.layer} position on {position.issue.title}. "
        "Its history is kept.",
    )
    return redirect(_issue_url(talk, position.issue, position.layer))
