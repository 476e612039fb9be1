"""Pages of mediators' proposals: the list, the proposal with its evaluation, the builder,
the comparison.

Every member reads proposals (viewers: the shared ones, on the declared layer only);
mediators and analysts draft and change them, through positions.services. The builder's
forms post through htmx and get the builder back, re-evaluated; without script they post
as usual. Each carries the version it was made on: when someone saved meanwhile, the
builder comes back with their version and a banner holding the change that was not saved,
ready to apply on top. Errors and conflicts are ordinary pages (200): the page says what
went wrong, and htmx swaps only successful answers.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh

from audit.services import audit_assessed_read
from issues import evaluation
from issues.models import Issue, Layer, ScaleKind
from issues.selectors import issue_scale
from talks.access import LayerChoice, form_page, layer_for, member_talk, proposer_talk
from talks.models import Membership, Talk, TalkParty
from talks.selectors import issue_list_for_talk, talk_parties

from . import proposal_presenters as present
from . import selectors
from .forms import number_text
from .models import Interface, Proposal, ProposalRevision
from .proposal_forms import (
    CompareForm,
    CopyForm,
    PhaseForm,
    ProposalDetailsEditForm,
    ProposalDetailsForm,
    StatusForm,
    SuggestForm,
    TermForm,
)
from .services import (
    OPEN_STATUSES,
    PhaseInput,
    ProposalConflict,
    ProposalInput,
    TermInput,
    proposal_copy,
    proposal_create,
    proposal_input_from,
    proposal_phase_remove,
    proposal_phase_set,
    proposal_snapshot,
    proposal_suggest,
    proposal_term_remove,
    proposal_term_set,
    proposal_update,
)

REVISIONS_SHOWN = 50
FORM_INVALID = "The form was incomplete; nothing was saved. Reload the page and try again."

# --- Shared pieces --------------------------------------------------------------------------


def _mediators(talk: Talk) -> list[TalkParty]:
    return list(talk_parties(talk=talk).filter(role=TalkParty.Role.MEDIATOR))


def _layer(membership: Membership, requested: str | None) -> LayerChoice:
    return layer_for(membership, requested)


def _record_read(request: HttpRequest, talk: Talk, layer: LayerChoice, what: str) -> None:
    """A page showing an evaluation on the assessed layer is in the audit log (SECURITY.md)."""
    if layer.is_assessed:
        audit_assessed_read(user=request.user, talk=talk, what=what)


def _with_layer(url: str, layer: str) -> str:
    return f"{url}?{urlencode({'layer': layer})}" if layer != Layer.DECLARED else url


def _layer_links(path: str, params: QueryDict | None = None) -> dict[str, str]:
    """The same page on each layer, its other query parameters kept."""
    links = {}
    for layer in Layer.values:
        query = params.copy() if params is not None else QueryDict(mutable=True)
        query["layer"] = layer
        links[layer] = f"{path}?{query.urlencode()}"
    return links


def _phases(snapshot: Mapping[str, Any]) -> list[tuple[int, str, str]]:
    return [(ph["number"], ph["title"], ph["trigger"]) for ph in snapshot.get("phases", [])]


@dataclass(frozen=True)
class Evaluated:
    grid: present.Grid
    not_evaluated: list[str]


def _evaluate(
    talk: Talk,
    snapshot: Mapping[str, Any],
    layer: str,
    catalogue: present.Catalogue,
    inputs: selectors.PackageInputs | None = None,
) -> Evaluated:
    inputs = inputs or selectors.package_inputs(talk=talk, layer=layer)
    terms = selectors.terms_of(snapshot)
    valid, invalid = inputs.split(terms)
    principals = inputs.issues[0].principals if inputs.issues else ()
    grid = present.evaluation_grid(
        result=inputs.evaluate(valid),
        principals=principals,
        phases=_phases(snapshot),
        catalogue=catalogue,
    )
    skipped = [
        f"{present.value_text(catalogue, t.issue_key, t.value)} on "
        f"{catalogue[t.issue_key][0].title if t.issue_key in catalogue else t.issue_key} "
        f"(phase {t.phase}): {reason}"
        for t, reason in invalid
    ]
    return Evaluated(grid=grid, not_evaluated=skipped)


def _proposal(talk: Talk, membership: Membership, pk: int) -> Proposal:
    return selectors.proposal_get_for_member(talk=talk, membership=membership, pk=pk)


# --- The list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedProposal:
    proposal: Proposal
    phases: int
    terms: int
    acceptable: bool
    blockers: int


@require_safe
@login_required
def proposal_list(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    layer = _layer(membership, request.GET.get("layer"))
    statuses = dict(Proposal.Status.choices)
    wanted = request.GET.get("status") or ""
    proposals = selectors.proposal_list_for_member(talk=talk, membership=membership)
    if wanted in statuses:
        proposals = proposals.filter(status=wanted)
    rows = list(proposals.prefetch_related("phases", "terms__issue", "terms__value_option"))
    inputs = selectors.package_inputs(talk=talk, layer=layer.layer)
    listed = []
    for proposal in rows:
        result = inputs.evaluate(selectors.terms_of(proposal_snapshot(proposal)))
        listed.append(
            ListedProposal(
                proposal=proposal,
                phases=len(proposal.phases.all()),
                terms=len(proposal.terms.all()),
                acceptable=result.acceptable,
                blockers=len(result.blocking),
            )
        )
    mediators = _mediators(talk)
    _record_read(request, talk, layer, "proposals")
    return render(
        request,
        "positions/proposals/list.html",
        {
            "talk": talk,
            "membership": membership,
            "layer": layer,
            "listed": listed,
            "status_filter": wanted if wanted in statuses else "",
            "statuses": Proposal.Status.choices
            if membership.can_see_assessed
            else [("shared", statuses["shared"])],
            "suggest_form": _suggest_form(membership, mediators),
            "has_mediators": bool(mediators),
        },
    )


def _suggest_form(
    membership: Membership, mediators: Sequence[TalkParty], data: Any = None
) -> SuggestForm | None:
    if not membership.can_write_proposals or not mediators:
        return None
    layers = [Layer.DECLARED, Layer.ASSESSED] if membership.can_see_assessed else [Layer.DECLARED]
    return SuggestForm(data, mediators=mediators, layers=layers)


@form_page
@login_required
def proposal_new(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = proposer_talk(request, slug)
    mediators = _mediators(talk)
    if request.method != "POST":
        initial = {"mediator": mediators[0].party_id} if len(mediators) == 1 else {}
        form = ProposalDetailsForm(initial=initial, mediators=mediators)
    else:
        form = ProposalDetailsForm(request.POST, mediators=mediators)
        if form.is_valid():
            data = form.cleaned_data
            try:
                proposal = proposal_create(
                    talk=talk,
                    data=ProposalInput(
                        title=data["title"],
                        mediator_id=data["mediator"],
                        summary=data.get("summary", ""),
                    ),
                    by=request.user,
                    via=Interface.WEB,
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"Drafted “{proposal.title}”. Now set its terms.")
                return redirect("talks:proposal_builder", slug=talk.slug, pk=proposal.pk)
    return render(
        request,
        "positions/proposals/new.html",
        {
            "talk": talk,
            "membership": membership,
            "form": form,
            "suggest_form": _suggest_form(membership, mediators),
        },
    )


def _add_errors(form: Any, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.message_dict.items():
        for message in errors:
            form.add_error(name if name in form.fields else None, message)


@require_POST
@login_required
def proposal_suggest_view(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = proposer_talk(request, slug)
    mediators = _mediators(talk)
    form = _suggest_form(membership, mediators, request.POST)
    if form is not None and form.is_valid():
        try:
            proposal = proposal_suggest(
                talk=talk,
                layer=form.cleaned_data["layer"],
                mediator_id=form.cleaned_data["mediator"],
                by=request.user,
                via=Interface.WEB,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Suggested “{proposal.title}”: each issue at its bridging point. Edit it "
                "before you share it.",
            )
            url = reverse("talks:proposal_builder", args=[talk.slug, proposal.pk])
            return redirect(_with_layer(url, form.cleaned_data["layer"]))
    else:
        messages.error(request, "Choose a mediating party and a layer to suggest a package.")
    return redirect("talks:proposals", slug=talk.slug)


# --- The proposal page ---------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionEntry:
    revision: ProposalRevision
    fields: list[str]
    terms: list[str]


FIELD_NAMES = {
    "title": "title",
    "summary": "summary",
    "mediator": "mediating party",
    "status": "status",
    "superseded_by": "successor",
    "phases": "phases",
}


def _revision_entries(
    revisions: Sequence[ProposalRevision], catalogue: present.Catalogue
) -> list[RevisionEntry]:
    order = list(catalogue)
    entries = []
    for revision in revisions:
        changes = revision.changes or {}
        # A first version (a draft, or a copy) changed nothing: it set everything.
        fields = (
            [] if revision.version == 1 else [FIELD_NAMES[k] for k in FIELD_NAMES if k in changes]
        )
        terms = []
        if "terms" in changes:
            before, after = changes["terms"]
            for change in evaluation.compare_packages(
                selectors.terms_of({"terms": before or []}),
                selectors.terms_of({"terms": after or []}),
                order,
            ):
                if change.kind == evaluation.ChangeKind.SAME:
                    continue
                terms.append(present.change_text(catalogue, change))
        entries.append(RevisionEntry(revision=revision, fields=fields, terms=terms))
    return entries


@require_safe
@login_required
def proposal_page(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    proposal = _proposal(talk, membership, pk)
    layer = _layer(membership, request.GET.get("layer"))
    issues = list(issue_list_for_talk(talk=talk))
    catalogue = present.catalogue_of(issues)
    snapshot = proposal_snapshot(proposal)
    evaluated = _evaluate(talk, snapshot, layer.layer, catalogue)
    revisions = list(
        selectors.proposal_revisions(proposal=proposal, role=membership.role)[: REVISIONS_SHOWN + 1]
    )
    _record_read(request, talk, layer, f"proposal {proposal.pk}")
    return render(
        request,
        "positions/proposals/proposal.html",
        {
            "talk": talk,
            "membership": membership,
            "proposal": proposal,
            "layer": layer,
            "evaluated": evaluated,
            "grid": evaluated.grid,
            "phases": proposal.phases.all(),
            "revisions": _revision_entries(revisions[:REVISIONS_SHOWN], catalogue),
            "more_revisions": len(revisions) > REVISIONS_SHOWN,
            "layer_links": _layer_links(request.path, request.GET),
            "editable": membership.can_write_proposals and proposal.status in OPEN_STATUSES,
            "copy_form": CopyForm() if membership.can_write_proposals else None,
            "compare_form": _compare_form(talk, membership, proposal, None),
        },
    )


def _compare_form(talk: Talk, membership: Membership, proposal: Proposal, data: Any) -> CompareForm:
    others = [
        p
        for p in selectors.proposal_list_for_member(talk=talk, membership=membership)
        if p.pk != proposal.pk
    ]
    versions = list(
        selectors.proposal_revisions(proposal=proposal, role=membership.role).values_list(
            "version", flat=True
        )
    )
    return CompareForm(data, others=others, versions=versions)


# --- The builder ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EditorCell:
    phase: int
    value: str  # as the widget shows it
    label: str  # as people say it, "" when unset
    is_set: bool
    error: str = ""
    inherited: str = ""  # unset here: the earlier term still in force, in words


@dataclass(frozen=True)
class EditorRow:
    issue: Issue
    options: list[tuple[str, str]]
    cells: list[EditorCell]

    @property
    def numeric(self) -> bool:
        return self.issue.scale_kind == ScaleKind.NUMERIC


@dataclass
class Conflict:
    """Someone saved the proposal after the version a change was made on."""

    attempted: str  # what the editor tried, in words
    based_on: int
    current: int
    action: str  # where the change posts
    fields: list[tuple[str, str]]  # the change as it was posted, to post again on top
    their_revisions: list[ProposalRevision] = field(default_factory=list)


@dataclass
class BuilderState:
    """What went wrong with the last change, shown by the builder."""

    conflict: Conflict | None = None
    errors: list[str] = field(default_factory=list)
    cell_errors: dict[tuple[str, int], str] = field(default_factory=dict)
    typed: dict[tuple[str, int], str] = field(default_factory=dict)
    details_form: ProposalDetailsEditForm | None = None
    phase_errors: dict[int | str, str] = field(default_factory=dict)
    status_form: StatusForm | None = None
    saved: str = ""


def _editor_rows(
    issues: Sequence[Issue], snapshot: Mapping[str, Any], state: BuilderState
) -> list[EditorRow]:
    numbers = [ph["number"] for ph in snapshot["phases"]]
    values = {(t["issue"], t["phase"]): t["value"] for t in snapshot["terms"]}
    rows = []
    for issue in issues:
        scale = issue_scale(issue=issue)
        cells = []
        in_force = ""
        for n in numbers:
            key = (issue.key, n)
            saved = values.get(key)
            if key in state.typed:
                shown = state.typed[key]
            elif saved is None:
                shown = ""
            elif issue.scale_kind == ScaleKind.NUMERIC:
                shown = number_text(float(saved))
            else:
                shown = str(saved)
            label = present.value_text({issue.key: (issue, scale)}, issue.key, saved)
            cells.append(
                EditorCell(
                    phase=n,
                    value=shown,
                    label="" if saved is None else label,
                    is_set=saved is not None,
                    error=state.cell_errors.get(key, ""),
                    inherited="" if saved is not None else in_force,
                )
            )
            if saved is not None:
                in_force = f"phase {n}'s {label} holds"
        rows.append(
            EditorRow(
                issue=issue,
                options=[(o.key, o.label) for o in issue.options.all()],
                cells=cells,
            )
        )
    return rows


def _successors(talk: Talk, membership: Membership, proposal: Proposal) -> list[Proposal]:
    return [
        p
        for p in selectors.proposal_list_for_member(talk=talk, membership=membership)
        if p.pk != proposal.pk and p.status in OPEN_STATUSES
    ]


def _builder_context(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    proposal: Proposal,
    layer: LayerChoice,
    state: BuilderState,
) -> dict[str, Any]:
    issues = list(issue_list_for_talk(talk=talk))
    catalogue = present.catalogue_of(issues)
    snapshot = proposal_snapshot(proposal)
    mediators = _mediators(talk)
    details = state.details_form or ProposalDetailsEditForm(
        initial={
            "title": proposal.title,
            "mediator": proposal.mediator_id,
            "summary": proposal.summary,
            "version": proposal.version,
            "layer": layer.layer,
        },
        mediators=mediators,
    )
    successors = _successors(talk, membership, proposal)
    status_form = state.status_form or StatusForm(
        initial={"version": proposal.version, "layer": layer.layer}, successors=successors
    )
    open_ = proposal.status in OPEN_STATUSES
    builder_url = reverse("talks:proposal_builder", args=[talk.slug, proposal.pk])
    return {
        "builder_url": _with_layer(builder_url, layer.layer),
        "layer_links": _layer_links(builder_url),
        "talk": talk,
        "membership": membership,
        "proposal": proposal,
        "layer": layer,
        "state": state,
        "open": open_,
        "rows": _editor_rows(issues, snapshot, state) if open_ else [],
        "phases": snapshot["phases"],
        "evaluated": (evaluated := _evaluate(talk, snapshot, layer.layer, catalogue)),
        "grid": evaluated.grid,
        "details_form": details,
        "status_form": status_form,
        "successors": successors,
        "can_share": proposal.status == Proposal.Status.DRAFT,
        "copy_form": CopyForm(),
    }


def _builder(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    pk: int,
    layer: LayerChoice,
    state: BuilderState,
    *,
    what: str = "proposal builder",
) -> HttpResponse:
    proposal = _proposal(talk, membership, pk)  # read again: what is saved now
    context = _builder_context(request, talk, membership, proposal, layer, state)
    _record_read(request, talk, layer, f"{what} {proposal.pk}")
    template = (
        "positions/proposals/_builder.html" if request.htmx else "positions/proposals/builder.html"
    )
    return render(request, template, context)


@require_safe
@login_required
def proposal_builder(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = proposer_talk(request, slug)
    layer = _layer(membership, request.GET.get("layer"))
    return _builder(request, talk, membership, pk, layer, BuilderState())


def _after_write(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    pk: int,
    layer: LayerChoice,
    state: BuilderState,
) -> HttpResponse:
    """htmx: the builder, re-evaluated. Without script: back to the builder when the change
    was saved (post, redirect, get), or the builder with what went wrong."""
    failed = state.conflict or state.errors or state.cell_errors or state.phase_errors
    failed = failed or (state.details_form is not None) or (state.status_form is not None)
    if request.htmx or failed:
        return _builder(
            request, talk, membership, pk, layer, state, what="proposal builder (update)"
        )
    if state.saved:
        messages.success(request, state.saved)
    url = reverse("talks:proposal_builder", args=[talk.slug, pk])
    return redirect(_with_layer(url, layer.layer))


def _conflict(
    request: HttpRequest, proposal_pk: int, exc: ProposalConflict, attempted: str
) -> Conflict:
    posted: QueryDict = request.POST
    fields = [
        (key, value)
        for key in posted
        if key not in ("csrfmiddlewaretoken", "version")
        for value in posted.getlist(key)
    ]
    their = list(
        ProposalRevision.objects.filter(proposal_id=proposal_pk, version__gt=exc.based_on_version)
        .select_related("by")
        .order_by("version")
    )
    return Conflict(
        attempted=attempted,
        based_on=exc.based_on_version,
        current=exc.current_version,
        action=request.path,
        fields=fields,
        their_revisions=their,
    )


def builder_write(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A POST of the builder. When the session has ended, htmx is told to reload the page
    (which then shows the sign-in page) rather than swap the sign-in page into the builder."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.htmx:
                return HttpResponseClientRefresh()
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return require_POST(wrapper)


def _writable(request: HttpRequest, slug: str, pk: int) -> tuple[Talk, Membership, Proposal]:
    talk, membership = proposer_talk(request, slug)
    return talk, membership, _proposal(talk, membership, pk)


@builder_write
def proposal_term(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership, proposal = _writable(request, slug, pk)
    form = TermForm(request.POST)
    layer = _layer(membership, request.POST.get("layer"))
    state = BuilderState()
    if not form.is_valid():
        state.errors.append(FORM_INVALID)
        return _after_write(request, talk, membership, pk, layer, state)
    data = form.cleaned_data
    issue = next((i for i in issue_list_for_talk(talk=talk) if i.key == data["issue"]), None)
    if issue is None:
        raise Http404("No such issue.")
    key = (issue.key, data["phase"])
    value = form.term_value(issue)
    catalogue = {issue.key: (issue, issue_scale(issue=issue))}
    saved = {(t["issue"], t["phase"]): t["value"] for t in proposal_snapshot(proposal)["terms"]}
    if value is None:
        attempted = f"Clear {issue.title}, phase {data['phase']}"
    else:
        problems = evaluation.validate_term(issue_scale(issue=issue), data["phase"], value)
        if problems:
            state.cell_errors[key] = problems.get("value") or problems["phase"]
            state.typed[key] = data.get("value") or ""
            return _after_write(request, talk, membership, pk, layer, state)
        attempted = (
            f"Set {issue.title}, phase {data['phase']}, to "
            f"{present.value_text(catalogue, issue.key, value)}"
        )
    try:
        if value is None:
            if key in saved:
                proposal_term_remove(
                    proposal=proposal,
                    based_on_version=data["version"],
                    issue=issue.key,
                    phase=data["phase"],
                    by=request.user,
                    via=Interface.WEB,
                )
        else:
            proposal_term_set(
                proposal=proposal,
                based_on_version=data["version"],
                term=TermInput(issue=issue.key, phase=data["phase"], value=value),
                by=request.user,
                via=Interface.WEB,
            )
    except ProposalConflict as exc:
        now = {
            (t["issue"], t["phase"]): t["value"] for t in proposal_snapshot(exc.instance)["terms"]
        }
        if not _already(now.get(key), value):
            state.conflict = _conflict(request, pk, exc, attempted)
    except ValidationError as exc:
        about_terms = set(getattr(exc, "error_dict", {})) == {"terms"}
        if about_terms and data["phase"] in [ph.number for ph in proposal.phases.all()]:
            state.cell_errors[key] = " ".join(exc.messages)
            state.typed[key] = data.get("value") or ""
        else:  # a closed proposal, or a phase it does not have: no cell to show it at
            state.errors.extend(exc.messages)
    else:
        state.saved = f"{attempted}."
    return _after_write(request, talk, membership, pk, layer, state)


def _already(saved: Any, wanted: float | str | None) -> bool:
    """Whether the saved term is what the change asks for (the same change sent twice,
    e.g. by a change and a submit of one field, is no conflict)."""
    if saved is None or wanted is None:
        return saved is None and wanted is None
    if isinstance(saved, str) or isinstance(wanted, str):
        return str(saved) == str(wanted)
    return abs(float(saved) - float(wanted)) < 1e-9


@builder_write
def proposal_phase(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership, proposal = _writable(request, slug, pk)
    form = PhaseForm(request.POST)
    layer = _layer(membership, request.POST.get("layer"))
    state = BuilderState()
    if not form.is_valid():
        state.phase_errors = {
            k: " ".join(v) for k, v in form.errors.items() if k not in ("version", "layer")
        } or {"form": FORM_INVALID}
        return _after_write(request, talk, membership, pk, layer, state)
    data = form.cleaned_data
    action = data["action"]
    number = data.get("number")
    if action == "add":
        number = len(proposal.phases.all()) + 1
    phase_key: int | str = "add" if action == "add" or number is None else number
    attempted = {
        "add": f"Add phase {number}",
        "save": f"Change phase {number}",
        "remove": f"Remove phase {number} and its terms",
    }[action]
    try:
        if number is None:
            raise ValidationError({"phases": "Say which phase."})
        if action == "remove":
            proposal_phase_remove(
                proposal=proposal,
                based_on_version=data["version"],
                number=number,
                by=request.user,
                via=Interface.WEB,
            )
        else:
            proposal_phase_set(
                proposal=proposal,
                based_on_version=data["version"],
                phase=PhaseInput(number, data.get("title", ""), data.get("trigger", "")),
                by=request.user,
                via=Interface.WEB,
            )
    except ProposalConflict as exc:
        state.conflict = _conflict(request, pk, exc, attempted)
    except ValidationError as exc:
        state.phase_errors[phase_key] = " ".join(exc.messages)
    else:
        state.saved = f"{attempted}: done."
    return _after_write(request, talk, membership, pk, layer, state)


@builder_write
def proposal_details(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership, proposal = _writable(request, slug, pk)
    form = ProposalDetailsEditForm(request.POST, mediators=_mediators(talk))
    layer = _layer(membership, request.POST.get("layer"))
    state = BuilderState()
    if form.is_valid():
        data = form.cleaned_data
        try:
            proposal_update(
                proposal=proposal,
                based_on_version=data["version"],
                data=proposal_input_from(proposal).with_changes(
                    title=data["title"],
                    mediator_id=data["mediator"],
                    summary=data.get("summary", ""),
                ),
                by=request.user,
                via=Interface.WEB,
                note="Title, mediating party or summary changed.",
            )
        except ProposalConflict as exc:
            state.conflict = _conflict(request, pk, exc, "Change the title, party or summary")
        except ValidationError as exc:
            _add_errors(form, exc)
            state.details_form = form
        else:
            state.saved = "Details saved."
    else:
        state.details_form = form
    return _after_write(request, talk, membership, pk, layer, state)


@builder_write
def proposal_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership, proposal = _writable(request, slug, pk)
    form = StatusForm(request.POST, successors=_successors(talk, membership, proposal))
    layer = _layer(membership, request.POST.get("layer"))
    state = BuilderState()
    if form.is_valid():
        data = form.cleaned_data
        new = data["status"]
        try:
            proposal_update(
                proposal=proposal,
                based_on_version=data["version"],
                data=proposal_input_from(proposal).with_changes(
                    status=new,
                    superseded_by_id=data.get("superseded_by")
                    if new == Proposal.Status.SUPERSEDED
                    else None,
                ),
                by=request.user,
                via=Interface.WEB,
                note=data.get("note") or f"Status: {Proposal.Status(new).label.lower()}.",
            )
        except ProposalConflict as exc:
            label = Proposal.Status(new).label.lower()
            state.conflict = _conflict(request, pk, exc, f"Mark it {label}")
        except ValidationError as exc:
            _add_errors(form, exc)
            state.status_form = form
        else:
            state.saved = f"The proposal is now {Proposal.Status(new).label.lower()}."
    else:
        state.status_form = form
    return _after_write(request, talk, membership, pk, layer, state)


@require_POST
@login_required
def proposal_copy_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership, proposal = _writable(request, slug, pk)
    form = CopyForm(request.POST)
    version = None
    title = ""
    if form.is_valid():
        version = form.cleaned_data.get("version")
        title = form.cleaned_data.get("title") or ""
    if version is not None and not selectors.proposal_revision_snapshot(
        proposal=proposal, version=version, role=membership.role
    ):
        raise Http404("No such version.")
    try:
        copy = proposal_copy(
            proposal=proposal, by=request.user, via=Interface.WEB, title=title, version=version
        )
    except ValidationError as exc:
        messages.error(request, "Could not copy it: " + " ".join(exc.messages))
        return redirect("talks:proposal", slug=talk.slug, pk=proposal.pk)
    messages.success(
        request, f"Copied into a new draft, “{copy.title}”. The original stays as it was."
    )
    return redirect("talks:proposal_builder", slug=talk.slug, pk=copy.pk)


# --- The comparison -------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareRow:
    issue_title: str
    phase: int
    before: str
    after: str
    kind: str


@dataclass(frozen=True)
class Side:
    proposal: Proposal
    version: int
    snapshot: Mapping[str, Any]
    evaluated: Evaluated
    url: str


@require_safe
@login_required
def proposal_compare_view(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    proposal = _proposal(talk, membership, pk)
    layer = _layer(membership, request.GET.get("layer"))
    form = _compare_form(talk, membership, proposal, request.GET)
    form.is_valid()  # unknown choices are dropped below; the form shows the message
    chosen = getattr(form, "cleaned_data", {})
    issues = list(issue_list_for_talk(talk=talk))
    catalogue = present.catalogue_of(issues)
    inputs = selectors.package_inputs(talk=talk, layer=layer.layer)
    versions = [int(v) for v, _ in form.fields["version"].choices if v != ""]

    def side(of: Proposal, version: int, snapshot: Mapping[str, Any]) -> Side:
        evaluated = _evaluate(talk, snapshot, layer.layer, catalogue, inputs)
        link = reverse("talks:proposal", args=[talk.slug, of.pk])
        return Side(of, version, snapshot, evaluated, link)

    other_id = chosen.get("with_")
    if other_id is not None:
        other = _proposal(talk, membership, other_id)
        before = side(proposal, proposal.version, proposal_snapshot(proposal))
        after = side(other, other.version, proposal_snapshot(other))
    else:
        against = chosen.get("against") or (versions[0] if versions else proposal.version)
        version = chosen.get("version")
        if version is None:
            earlier = [v for v in versions if v < against]
            version = earlier[0] if earlier else against
        sides = []
        for v in (version, against):
            snap = (
                proposal_snapshot(proposal)
                if v == proposal.version
                else selectors.proposal_revision_snapshot(
                    proposal=proposal, version=v, role=membership.role
                )
            )
            if snap is None:
                raise Http404("No such version.")
            sides.append(side(proposal, v, snap))
        before, after = sides
    diff = selectors.proposal_compare(
        before=before.snapshot, after=after.snapshot, issue_order=list(catalogue)
    )
    rows = [
        CompareRow(
            issue_title=catalogue[c.issue_key][0].title
            if c.issue_key in catalogue
            else c.issue_key,
            phase=c.phase,
            before=present.value_text(catalogue, c.issue_key, c.before),
            after=present.value_text(catalogue, c.issue_key, c.after),
            kind=str(c.kind),
        )
        for c in diff["terms"]
    ]
    _record_read(request, talk, layer, f"comparison of proposal {proposal.pk}")
    return render(
        request,
        "positions/proposals/compare.html",
        {
            "talk": talk,
            "membership": membership,
            "proposal": proposal,
            "layer": layer,
            "form": form,
            "layer_links": _layer_links(request.path, request.GET),
            "before": before,
            "after": after,
            "sides": [(before, "before"), (after, "after")],
            "labels": ("Before", "After") if other_id is None else ("This one", "Compared with"),
            "columns": (
                f"{_short(before.snapshot['title'])} (v{before.version})",
                f"{_short(after.snapshot['title'])} (v{after.version})",
            )
            if other_id is not None
            else (f"Version {before.version}", f"Version {after.version}"),
            "rows": rows,
            "changed": sum(1 for r in rows if r.kind != "same"),
            "fields": [
                (FIELD_NAMES.get(name, name), values) for name, values in diff["fields"].items()
            ],
            "phase_changes": diff["phases"],
            "satisfaction": _satisfaction_pairs(before.evaluated.grid, after.evaluated.grid),
        },
    )


def _short(title: str) -> str:
    return title if len(title) <= 40 else title[:39] + "…"


def _satisfaction_pairs(before: present.Grid, after: present.Grid) -> list[tuple[str, Any, Any]]:
    old, new = dict(before.satisfaction), dict(after.satisfaction)
    return [(party, old.get(party), new.get(party)) for party in dict.fromkeys([*old, *new])]
