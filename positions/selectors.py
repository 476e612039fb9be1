"""Reads of positions, their revisions and sources, scoped to one talk."""

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from issues import evaluation, gaps
from issues.models import Issue
from issues.selectors import talk_gap_inputs
from talks.models import Membership, Talk, TalkParty
from talks.selectors import layer_visibility_q

from .models import Position, PositionRevision, Proposal, ProposalRevision, ProposalTerm, Source


def position_list_for_talk(
    *, talk: Talk, layers: Collection[str], include_deleted: bool = False
) -> QuerySet[Position]:
    """The talk's positions on the given layers, with what a listing shows."""
    qs = Position.objects.filter(issue__talk=talk, layer__in=layers)
    if not include_deleted:
        qs = qs.current()
    return qs.select_related(
        "issue", "party", "demand_option", "red_line_option", "updated_by"
    ).prefetch_related("acceptable_options", "sources")


def position_revisions(*, position: Position) -> QuerySet[PositionRevision]:
    """A position's history, newest first."""
    return (
        PositionRevision.objects.filter(position=position).select_related("by").order_by("-version")
    )


def talk_revisions(
    *,
    talk: Talk,
    layers: Collection[str],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[PositionRevision]:
    """Every recorded change of the talk's positions on the layers, newest first."""
    qs = PositionRevision.objects.filter(issue__talk=talk, layer__in=layers)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    return qs.select_related("issue", "party", "by").order_by("-created_at", "-pk")


def issue_revisions(
    *, issue: Issue, layers: Collection[str], until: dt.datetime | None = None
) -> QuerySet[PositionRevision]:
    """Every recorded change of the issue's positions on the layers, newest first."""
    qs = PositionRevision.objects.filter(issue=issue, layer__in=layers)
    if until is not None:
        qs = qs.filter(created_at__lte=until)
    return qs.select_related("party", "by").order_by("-created_at", "-pk")


def source_list_for_talk(*, talk: Talk) -> QuerySet[Source]:
    return Source.objects.filter(talk=talk).order_by("-published_on", "title")


# --- Across every talk a user may read (the API's lists) ------------------------------------

LayersByTalk = Mapping[int, Collection[str]]


def position_list_visible(
    *, layers_by_talk: LayersByTalk, include_deleted: bool = False
) -> QuerySet[Position]:
    """Positions on the talks and layers in `layers_by_talk`, with what a listing shows."""
    qs = Position.objects.filter(
        layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id")
    )
    if not include_deleted:
        qs = qs.current()
    return qs.select_related(
        "issue__talk", "party", "demand_option", "red_line_option", "updated_by"
    ).prefetch_related("acceptable_options", "sources")


def position_revisions_as_of_visible(
    *, layers_by_talk: LayersByTalk, as_of: dt.datetime
) -> QuerySet[PositionRevision]:
    """The latest revision at `as_of` of every position then standing (deleted ones left out)."""
    latest = (
        PositionRevision.objects.filter(position=OuterRef("position"), created_at__lte=as_of)
        .order_by("-version")
        .values("version")[:1]
    )
    return (
        PositionRevision.objects.filter(
            layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id"),
            created_at__lte=as_of,
            version=Subquery(latest),
        )
        .exclude(action=PositionRevision.Action.DELETE)
        .select_related("issue__talk", "party", "by")
    )


def revision_list_visible(*, layers_by_talk: LayersByTalk) -> QuerySet[PositionRevision]:
    """Every recorded change on the talks and layers in `layers_by_talk`, each with its
    author's user name as `by_username`."""
    return (
        PositionRevision.objects.filter(
            layer_visibility_q(layers_by_talk=layers_by_talk, talk_field="issue__talk_id")
        )
        .select_related("issue__talk", "party")
        .annotate(by_username=F("by__username"))
    )


def position_revision_rows(*, position: Position) -> QuerySet[PositionRevision]:
    """A position's history, newest first, for the API: each revision with its author's user
    name as `by_username` (not the whole user row: a page is 50 revisions)."""
    return (
        position_revisions(position=position)
        .select_related(None)
        .annotate(by_username=F("by__username"))
    )


def source_list_for_talks(*, talk_ids: Collection[int]) -> QuerySet[Source]:
    return Source.objects.filter(talk_id__in=talk_ids).select_related("talk", "created_by")


def position_get_for_talk(*, talk: Talk, pk: int) -> Position | None:
    """One position of the talk (withdrawn ones included), with its issue's options."""
    return (
        Position.objects.filter(pk=pk, issue__talk=talk)
        .select_related("issue", "party", "demand_option", "red_line_option", "updated_by")
        .prefetch_related("issue__options", "acceptable_options", "sources")
        .first()
    )


# --- Proposals ----------------------------------------------------------------------------

VIEWER_PROPOSAL_STATUSES = (Proposal.Status.SHARED,)


def _viewer_only(role: str | None) -> bool:
    return role == Membership.Role.VIEWER


def proposal_list_for_member(*, talk: Talk, membership: Membership) -> QuerySet[Proposal]:
    """The talk's proposals this member may read: viewers see shared ones only."""
    qs = Proposal.objects.filter(talk=talk).select_related(
        "talk", "mediator", "created_by", "updated_by", "superseded_by", "copied_from"
    )
    if _viewer_only(membership.role):
        qs = qs.filter(status__in=VIEWER_PROPOSAL_STATUSES)
    return qs.order_by("-updated_at", "-pk")


def _with_content(qs: QuerySet[Proposal]) -> QuerySet[Proposal]:
    return qs.prefetch_related(
        "phases",
        Prefetch("terms", queryset=ProposalTerm.objects.select_related("issue", "value_option")),
    )


def proposal_get_for_member(*, talk: Talk, membership: Membership, pk: int) -> Proposal:
    """One proposal the member may read, with its phases and terms; 404 otherwise."""
    readable = _with_content(proposal_list_for_member(talk=talk, membership=membership))
    proposal = readable.filter(pk=pk).first()
    if proposal is None:
        raise Http404("No such proposal.")
    return proposal


def proposal_list_visible(*, roles: Mapping[int, str]) -> QuerySet[Proposal]:
    """Proposals of every talk in `roles` (talk id -> role), shared ones only where the
    role is viewer; with what a listing shows."""
    viewing = sorted(t for t, r in roles.items() if _viewer_only(r))
    full = sorted(t for t, r in roles.items() if not _viewer_only(r))
    condition = Q(talk_id__in=full) | Q(talk_id__in=viewing, status__in=VIEWER_PROPOSAL_STATUSES)
    return _with_content(
        Proposal.objects.filter(condition).select_related(
            "talk", "mediator", "created_by", "updated_by", "superseded_by", "copied_from"
        )
    )


def proposal_revisions(
    *, proposal: Proposal, role: str | None = None
) -> QuerySet[ProposalRevision]:
    """A proposal's history, newest first. A viewer sees only the versions that were shared:
    what the mediators drafted before is theirs."""
    qs = ProposalRevision.objects.filter(proposal=proposal)
    if _viewer_only(role):
        qs = qs.filter(snapshot__status__in=VIEWER_PROPOSAL_STATUSES)
    return qs.select_related("by").order_by("-version")


def proposal_revision_snapshot(
    *, proposal: Proposal, version: int, role: str | None = None
) -> dict[str, Any] | None:
    """The proposal as saved at `version`, if the member may read that version."""
    revision = proposal_revisions(proposal=proposal, role=role).filter(version=version).first()
    return None if revision is None else dict(revision.snapshot)


def proposals_on_issue(*, issue: Issue, membership: Membership) -> QuerySet[Proposal]:
    """Proposals (readable by the member) with a term on `issue`; each carries those terms
    in `issue_terms`, by phase."""
    return (
        proposal_list_for_member(talk=issue.talk, membership=membership)
        .filter(pk__in=ProposalTerm.objects.filter(issue=issue).values("proposal_id"))
        .prefetch_related(
            Prefetch(
                "terms",
                queryset=ProposalTerm.objects.filter(issue=issue)
                .select_related("issue", "value_option")
                .order_by("phase"),
                to_attr="issue_terms",
            )
        )
    )


def proposal_terms_on_issue(*, issue: Issue, membership: Membership) -> QuerySet[ProposalTerm]:
    """The terms readable proposals set on `issue`, with their proposals (one query)."""
    terms = ProposalTerm.objects.filter(issue=issue)
    if _viewer_only(membership.role):
        terms = terms.filter(proposal__status__in=VIEWER_PROPOSAL_STATUSES)
    return terms.select_related("proposal__mediator", "value_option", "issue").order_by(
        "-proposal__updated_at", "proposal_id", "phase"
    )


def terms_of(snapshot: Mapping[str, Any]) -> tuple[evaluation.Term, ...]:
    """A proposal snapshot's terms as engine input."""
    return tuple(
        evaluation.Term(issue_key=t["issue"], phase=int(t["phase"]), value=t["value"])
        for t in snapshot.get("terms", [])
    )


def talk_conditions(*, talk_id: int, layer: str) -> list[evaluation.Condition]:
    """The principals' structured linkages on one layer, as engine conditions."""
    principals = TalkParty.objects.filter(talk_id=talk_id, role=TalkParty.Role.PRINCIPAL)
    rows = (
        Position.objects.current()
        .filter(
            issue__talk_id=talk_id,
            layer=layer,
            party_id__in=principals.values("party_id"),
        )
        .exclude(links=[])
        .select_related("party", "issue")
    )
    conditions = []
    for position in rows:
        for link in position.links or []:
            within: tuple[float, float] | frozenset[str]
            if "options" in link:
                within = frozenset(link["options"])
            else:
                within = (float(link["low"]), float(link["high"]))
            conditions.append(
                evaluation.Condition(
                    party=position.party.name,
                    issue_key=position.issue.key,
                    on_issue_key=link["issue"],
                    within=within,
                )
            )
    return conditions


@dataclass(frozen=True)
class PackageInputs:
    """What evaluating any package of a talk on one layer needs: read once, evaluate many."""

    issues: tuple[gaps.IssueInput, ...]
    conditions: tuple[evaluation.Condition, ...]

    def split(
        self, terms: Sequence[evaluation.Term]
    ) -> tuple[list[evaluation.Term], list[tuple[evaluation.Term, str]]]:
        """The terms the engine can evaluate, and the others with the reason: an issue removed
        or a scale changed since the term was set (an old version can hold either)."""
        by_key = {issue.key: issue for issue in self.issues}
        valid: list[evaluation.Term] = []
        invalid: list[tuple[evaluation.Term, str]] = []
        seen: set[tuple[str, int]] = set()
        for term in terms:
            issue = by_key.get(term.issue_key)
            if issue is None:
                invalid.append((term, evaluation.UNKNOWN_ISSUE))
                continue
            problems = evaluation.validate_term(issue.scale, term.phase, term.value)
            if problems:
                invalid.append((term, problems.get("value") or problems["phase"]))
                continue
            if (term.issue_key, term.phase) in seen:
                invalid.append((term, evaluation.DUPLICATE_TERM))
                continue
            seen.add((term.issue_key, term.phase))
            valid.append(term)
        return valid, invalid

    def evaluate(self, terms: Sequence[evaluation.Term]) -> evaluation.PackageEvaluation:
        valid, _ = self.split(terms)
        return evaluation.evaluate_package(self.issues, valid, self.conditions)


def package_inputs(*, talk: Talk, layer: str) -> PackageInputs:
    """The talk's current positions and linkages on one layer, as engine input (fixed
    queries). A linkage that no longer fits its issue's scale is left out."""
    issues = talk_gap_inputs(talk_id=talk.pk, layer=layer)
    by_key = {issue.key: issue for issue in issues}
    conditions = tuple(
        c
        for c in talk_conditions(talk_id=talk.pk, layer=layer)
        if c.issue_key in by_key
        and c.on_issue_key in by_key
        and not evaluation.validate_condition(by_key[c.on_issue_key].scale, c.within)
    )
    return PackageInputs(issues=tuple(issues), conditions=conditions)


def package_evaluate(
    *, talk: Talk, terms: Sequence[evaluation.Term], layer: str
) -> evaluation.PackageEvaluation:
    """Evaluate a package against the talk's current positions on one layer."""
    return package_inputs(talk=talk, layer=layer).evaluate(terms)


def proposal_compare(
    *, before: Mapping[str, Any], after: Mapping[str, Any], issue_order: Sequence[str]
) -> dict[str, Any]:
    """Two proposal snapshots side by side: changed fields, phases and every term."""
    fields = {
        name: [before.get(name), after.get(name)]
        for name in ("title", "summary", "mediator", "status")
        if before.get(name) != after.get(name)
    }
    old_phases = {ph["number"]: ph for ph in before.get("phases", [])}
    new_phases = {ph["number"]: ph for ph in after.get("phases", [])}
    phases = [
        {"number": n, "before": old_phases.get(n), "after": new_phases.get(n)}
        for n in sorted(old_phases.keys() | new_phases.keys())
        if old_phases.get(n) != new_phases.get(n)
    ]
    terms = evaluation.compare_packages(terms_of(before), terms_of(after), issue_order)
    return {"fields": fields, "phases": phases, "terms": terms}
