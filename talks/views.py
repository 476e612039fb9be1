"""Pages of a talk: the list of talks, the dashboard, the issue page, members.

Each page reads through selectors and talks.dashboard (the read the API renders too) and
writes through services. The dashboard and the issue page have a live twin that htmx polls
with a conditional GET: its ETag comes from the talk's revision token (renewed after every
commit that changes what the pages show), the layer, the role and the filters, so an
unchanged page costs the sign-in and membership lookups and nothing else.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_etags, urlencode
from django.views.decorators.http import require_GET, require_POST, require_safe
from django_htmx.http import HttpResponseClientRefresh

from audit.selectors import STAFF_PERMISSION
from audit.services import audit_assessed_read
from issues import gaps
from issues.models import ScaleKind
from issues.selectors import gap_history, issue_scale
from positions import proposal_presenters
from positions.selectors import (
    issue_revisions,
    proposal_list_for_member,
    proposal_terms_on_issue,
    source_list_for_talk,
    talk_revisions,
)

from . import charts, presenters, selectors, services
from .access import (
    LayerChoice,
    analyst_talk,
    form_page,
    layer_for,
    member_talk,
    visible_layers,
)
from .dashboard import Dashboard, talk_dashboard
from .forms import (
    MemberAddForm,
    MemberRoleForm,
    TimeFrame,
    ViewFilterForm,
    add_service_errors,
    time_frame,
)
from .models import Membership, Talk

CHANGES_SHOWN = 50
TIMELINE_SHOWN = 100
PROPOSALS_SHOWN = 5


@require_safe
@login_required
def talk_list(request: HttpRequest) -> HttpResponse:
    talks = list(selectors.talk_list_for_user(user=request.user))
    can_audit = any(t.my_role == Membership.Role.ANALYST for t in talks) or (
        request.user.is_staff and request.user.has_perm(STAFF_PERMISSION)
    )
    return render(request, "talks/talk_list.html", {"talks": talks, "can_audit": can_audit})


# --- Dashboard and issue page -----------------------------------------------------------------


@dataclass(frozen=True)
class PageState:
    """The filters of a page, resolved for this user."""

    layer: LayerChoice
    frame: TimeFrame
    form: ViewFilterForm

    def query(self, **overrides: Any) -> str:
        """The page's query string with some filters changed (for the layer toggle)."""
        params = {
            "layer": self.layer.layer,
            "round": self.frame.round.number if self.frame.round else "",
            "since": self.form.data.get("since", ""),
        }
        params.update(overrides)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _page_state(request: HttpRequest, talk: Talk, membership: Membership) -> PageState:
    form = ViewFilterForm(request.GET, rounds=selectors.talk_rounds(talk=talk))
    layer = layer_for(membership, request.GET.get("layer"))
    return PageState(layer=layer, frame=time_frame(form), form=form)


def _etag(request: HttpRequest, talk: Talk, membership: Membership, kind: str) -> str:
    """Changes with the talk's revision token, what the user may see and the filters.

    Read before the page's data, so an ETag is never newer than what it is sent with.
    """
    token = services.talk_revision(talk_id=talk.pk, layers=visible_layers(membership))
    layer = layer_for(membership, request.GET.get("layer")).layer
    filters = f"{request.GET.get('round', '')}|{request.GET.get('since', '')}"
    key = f"{kind}|{token}|{membership.role}|{layer}|{filters}|{timezone.localdate()}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def _live_url(request: HttpRequest, name: str, *args: str) -> str:
    """The live twin of a page, with the page's own filters (so their ETags agree)."""
    query = request.GET.urlencode()
    return reverse(name, args=args) + (f"?{query}" if query else "")


def _not_modified(request: HttpRequest, etag: str) -> bool:
    return etag in parse_etags(request.headers.get("If-None-Match", ""))


def live_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A polled fragment: outside a transaction (it only reads), and when the session has
    ended or access was withdrawn, htmx is told to reload the whole page, which then
    shows the sign-in page or the 404 instead of swapping one into the fragment."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            if request.htmx:
                return HttpResponseClientRefresh()
            return redirect_to_login(request.get_full_path())
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if request.htmx:
                return HttpResponseClientRefresh()
            raise

    return transaction.non_atomic_requests(require_GET(wrapper))


def _live(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def _record_assessed_read(request: HttpRequest, talk: Talk, state: PageState, what: str) -> None:
    """Every response that shows the assessed layer is in the audit log (SECURITY.md)."""
    if state.layer.is_assessed:
        audit_assessed_read(user=request.user, talk=talk, what=what)


def _issue_scales(board: Dashboard) -> dict[int, tuple[Any, Any]]:
    return {row.issue.pk: (row.issue, issue_scale(issue=row.issue)) for row in board.rows}


def _dashboard_context(
    talk: Talk, membership: Membership, state: PageState, etag: str, live_url: str
) -> dict[str, Any]:
    board = talk_dashboard(talk=talk, layer=state.layer.layer, as_of=state.frame.as_of)
    rows_by_key = {row.issue.key: row for row in board.rows}
    revisions = list(
        talk_revisions(
            talk=talk,
            layers=[state.layer.layer],
            since=state.frame.since,
            until=state.frame.as_of,
        )[: CHANGES_SHOWN + 1]
    )
    sources = {s.pk: s for s in source_list_for_talk(talk=talk)}
    scales = _issue_scales(board)
    changes = presenters.timeline(
        revisions[:CHANGES_SHOWN],
        issues=scales,
        sources=sources,
        compact=True,
        catalogue={issue.key: (issue, scale) for issue, scale in scales.values()},
    )
    proposals = list(
        proposal_list_for_member(talk=talk, membership=membership)[: PROPOSALS_SHOWN + 1]
    )
    return {
        "talk": talk,
        "membership": membership,
        "state": state,
        "board": board,
        "proposals": proposals[:PROPOSALS_SHOWN],
        "more_proposals": len(proposals) > PROPOSALS_SHOWN,
        "table": [(row, list(zip(board.principals, row.cells, strict=True))) for row in board.rows],
        "blocking": [(b, rows_by_key.get(b.key)) for b in board.rollup.blocking],
        "zone_rows": [rows_by_key[k] for k in board.rollup.with_zone if k in rows_by_key],
        "insufficient_rows": [
            rows_by_key[k] for k in board.rollup.insufficient if k in rows_by_key
        ],
        "uncomputed_rows": [row for row in board.rows if not (row.summary and row.summary.figures)],
        "changes": changes,
        "more_changes": len(revisions) > CHANGES_SHOWN,
        "etag": etag,
        "live_url": live_url,
        "poll_seconds": settings.LIVE_POLL_SECONDS,
    }


@require_safe
@login_required
def talk_dashboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    etag = _etag(request, talk, membership, "dashboard")
    state = _page_state(request, talk, membership)
    context = _dashboard_context(
        talk, membership, state, etag, _live_url(request, "talks:dashboard_live", slug)
    )
    _record_assessed_read(request, talk, state, "dashboard")
    return render(request, "talks/dashboard.html", context)


@live_view
def talk_dashboard_live(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    etag = _etag(request, talk, membership, "dashboard")
    if _not_modified(request, etag):
        return _live(HttpResponseNotModified(), etag)
    state = _page_state(request, talk, membership)
    context = _dashboard_context(
        talk, membership, state, etag, _live_url(request, "talks:dashboard_live", slug)
    )
    _record_assessed_read(request, talk, state, "dashboard (live update)")
    return _live(render(request, "talks/_dashboard_live.html", context), etag)


def _issue_context(
    talk: Talk,
    membership: Membership,
    key: str,
    state: PageState,
    etag: str,
    live_url: str,
) -> dict[str, Any]:
    board = talk_dashboard(
        talk=talk, layer=state.layer.layer, as_of=state.frame.as_of, issue_keys=[key]
    )
    if not board.rows:
        raise Http404("No such issue.")
    row = board.rows[0]
    issue = row.issue
    scale = issue_scale(issue=issue)
    principals = [p.name for p in board.principals]
    sources = {s.pk: s for s in source_list_for_talk(talk=talk)}
    history = gap_history(issue_id=issue.pk, layer=state.layer.layer)
    if state.frame.as_of is not None:
        history = history.filter(computed_at__lte=state.frame.as_of)
    spark = charts.sparkline(history=[(h.computed_at, h.status, h.gap) for h in history])
    revisions = list(
        issue_revisions(issue=issue, layers=[state.layer.layer], until=state.frame.as_of)[
            : TIMELINE_SHOWN + 1
        ]
    )
    catalogue = {
        other.key: (other, issue_scale(issue=other))
        for other in selectors.issue_list_for_talk(talk=talk)
    }
    entries = presenters.timeline(
        revisions[:TIMELINE_SHOWN],
        issues={issue.pk: (issue, scale)},
        sources=sources,
        catalogue=catalogue,
    )
    figures = row.summary.figures if row.summary else {}
    concessions = (figures.get("bridging") or {}).get("concessions") or []
    chart = matrix = None
    if issue.scale_kind == ScaleKind.CATEGORICAL:
        matrix = presenters.option_matrix(scale=scale, cells=row.cells, summary=row.summary)
    else:
        chart = charts.scale_chart(
            title=issue.title,
            scale=scale,
            principals=principals,
            cells=row.cells,
            summary=row.summary,
        )
    bridging_point = (figures.get("bridging") or {}).get("point")
    blocking = figures.get("blocking") or {}
    issue_proposals = proposal_presenters.issue_proposals(
        issue=issue,
        principals=principals,
        positions=[
            gaps.PartyPosition(
                party=cell.party,
                demand=cell.demand,
                red_line=cell.red_line,
                acceptable=frozenset(cell.acceptable),
                priority=cell.priority,
            )
            for cell in row.cells
            if cell
        ],
        terms=proposal_terms_on_issue(issue=issue, membership=membership),
    )
    return {
        "issue_proposals": issue_proposals,
        "talk": talk,
        "membership": membership,
        "state": state,
        "board": board,
        "row": row,
        "issue": issue,
        "summary": row.summary,
        "party_cells": list(zip(board.principals, row.cells, strict=True)),
        "cell_links": {
            cell.party_id: [presenters.link_text(link, catalogue) for link in cell.links]
            for cell in row.cells
            if cell
        },
        "cell_sources": {
            cell.party_id: [sources[i] for i in cell.source_ids if i in sources]
            for cell in row.cells
            if cell
        },
        "chart": chart,
        "matrix": matrix,
        "spark": spark,
        "timeline": entries,
        "more_timeline": len(revisions) > TIMELINE_SHOWN,
        "bridging_label": (
            presenters.field_text(
                "demand", bridging_point, issue=issue, scale=scale, sources=sources
            )
            if bridging_point is not None
            else ""
        ),
        "concessions": [
            {
                "party": c["party"],
                "text": presenters.concession_text(issue, c.get("share", 0), c.get("amount")),
            }
            for c in concessions
        ],
        "nearest_label": presenters.field_text(
            "demand", blocking.get("option"), issue=issue, scale=scale, sources=sources
        )
        if blocking.get("option")
        else "",
        "blocking_amount": presenters.amount_text(issue, blocking.get("amount"))
        if blocking
        else "",
        "pairwise": figures.get("pairwise") or [] if len(principals) > 2 else [],
        "etag": etag,
        "live_url": live_url,
        "poll_seconds": settings.LIVE_POLL_SECONDS,
    }


@require_safe
@login_required
def issue_page(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    etag = _etag(request, talk, membership, f"issue:{key}")
    state = _page_state(request, talk, membership)
    context = _issue_context(
        talk, membership, key, state, etag, _live_url(request, "talks:issue_live", slug, key)
    )
    _record_assessed_read(request, talk, state, f"issue {key}")
    return render(request, "talks/issue.html", context)


@live_view
def issue_live(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    talk, membership = member_talk(request, slug)
    etag = _etag(request, talk, membership, f"issue:{key}")
    if _not_modified(request, etag):
        return _live(HttpResponseNotModified(), etag)
    state = _page_state(request, talk, membership)
    context = _issue_context(
        talk, membership, key, state, etag, _live_url(request, "talks:issue_live", slug, key)
    )
    _record_assessed_read(request, talk, state, f"issue {key} (live update)")
    return _live(render(request, "talks/_issue_live.html", context), etag)


# --- Members ----------------------------------------------------------------------------------


def _members_page(
    request: HttpRequest,
    talk: Talk,
    membership: Membership,
    *,
    add_form: MemberAddForm | None = None,
    role_errors: dict[int, str] | None = None,
) -> HttpResponse:
    members = selectors.talk_members(talk=talk)
    return render(
        request,
        "talks/members.html",
        {
            "talk": talk,
            "membership": membership,
            "members": members,
            "add_form": add_form or MemberAddForm(),
            "roles": Membership.Role.choices,
            "role_errors": role_errors or {},
        },
    )


@form_page
@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    if request.method != "POST":
        return _members_page(request, talk, membership)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            services.membership_add(
                talk=talk, user=form.user, role=form.cleaned_data["role"], by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc, aliases={"user": "username"})
        else:
            messages.success(
                request,
                f"{form.user.get_username()} can now open this talk as "
                f"{form.cleaned_data['role']}.",
            )
            return redirect("talks:members", slug=talk.slug)
    return _members_page(request, talk, membership, add_form=form)


@require_POST
@login_required
def member_role(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=pk, talk=talk)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, talk, membership, role_errors={pk: form.errors["role"][0]})
    try:
        services.membership_set_role(
            membership=target, role=form.cleaned_data["role"], by=request.user
        )
    except ValidationError as exc:
        return _members_page(request, talk, membership, role_errors={pk: " ".join(exc.messages)})
    messages.success(
        request, f"{target.user.get_username()} is now {form.cleaned_data['role']} in this talk."
    )
    if target.pk == membership.pk and form.cleaned_data["role"] != Membership.Role.ANALYST:
        return redirect(talk.get_absolute_url())
    return redirect("talks:members", slug=talk.slug)


@require_POST
@login_required
def member_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    talk, membership = analyst_talk(request, slug)
    target = get_object_or_404(Membership.objects.select_related("user"), pk=pk, talk=talk)
    try:
        services.membership_remove(membership=target, by=request.user)
    except ValidationError as exc:
        return _members_page(request, talk, membership, role_errors={pk: " ".join(exc.messages)})
    messages.success(request, f"{target.user.get_username()} no longer has access to this talk.")
    if target.pk == membership.pk:
        return redirect("talks:list")
    return redirect("talks:members", slug=talk.slug)
