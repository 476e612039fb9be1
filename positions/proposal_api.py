"""Mediators' proposals for scripts: drafting, terms, evaluation, comparison, history.

Same rules as the rest of the API (api.base): membership decides what exists; viewers read
shared proposals only and their evaluation on the declared layer only; mediators and
analysts write. Every change names the version it edits in If-Match (428 without, 412 with
the current proposal when stale), and goes through positions.services, whose per-field
messages become 400s. A proposal is never deleted: withdraw it by its status.
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.access import access_for
from api.base import ApiViewSet
from api.conditional import content_etag, if_match_version, version_etag
from api.errors import BadQuery
from api.filters import PartyFilter, TalkFilter, VisibleSlugField, visible_talks
from api.schema import (
    CREATE_ERRORS,
    IF_MATCH,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    READ_ERRORS,
    WRITE_ERRORS,
    example,
    list_and_retrieve,
)
from issues.models import Layer
from talks.models import Membership, Talk

from . import selectors
from .api import ScaleValueField
from .models import Interface, Proposal, ProposalRevision
from .proposal_presenters import term_label
from .selectors import package_inputs, proposal_compare, terms_of
from .services import (
    PHASES_LIMIT,
    VERSION_NOT_FOUND,
    PhaseInput,
    ProposalConflict,
    ProposalInput,
    TermInput,
    proposal_copy,
    proposal_create,
    proposal_input_from,
    proposal_snapshot,
    proposal_suggest,
    proposal_term_remove,
    proposal_term_set,
    proposal_update,
)

LAYER_UNKNOWN = "Choose a layer: declared or assessed."
FIXED_TALK = "A proposal stays with its talk."
COMPARE_EITHER = "Compare with another proposal (with=) or two versions (version=, against=)."
NUMBER_INVALID = "Enter a whole number from 1 up."
TERMS_PER_PROPOSAL = 500

# --- Representations ------------------------------------------------------------------------


class PhaseSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=PHASES_LIMIT)
    title = serializers.CharField(required=False, allow_blank=True, default="")
    trigger = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="What opens the phase, e.g. 'Every living hostage released.'",
    )


class TermSerializer(serializers.Serializer):
    issue = serializers.SlugField(max_length=80, help_text="The issue's key.")
    phase = serializers.IntegerField(min_value=1, max_value=PHASES_LIMIT, default=1)
    value = ScaleValueField(help_text="A number on a numeric issue; an option key otherwise.")


class TermOutSerializer(TermSerializer):
    label = serializers.CharField(help_text="The value as people say it, e.g. '42 days'.")


def _proposal_record(p: Proposal, viewer: bool = False) -> dict[str, Any]:
    snap = proposal_snapshot(p)
    source = p.copied_from
    # A viewer is not told of a draft, even by its id.
    copied_from = source.pk if source and (not viewer or source.status == "shared") else None
    labels = {(t.issue.key, t.phase): term_label(t) for t in p.terms.all()}
    return {
        "id": p.pk,
        "talk": p.talk.slug,
        "title": p.title,
        "summary": p.summary,
        "mediator": p.mediator_id,
        "mediator_name": p.mediator.name,
        "status": p.status,
        "superseded_by": p.superseded_by_id,
        "copied_from": copied_from,
        "phases": snap["phases"],
        "terms": [{**t, "label": labels[(t["issue"], t["phase"])]} for t in snap["terms"]],
        "version": p.version,
        "created_at": p.created_at,
        "created_by": p.created_by.get_username() if p.created_by_id else None,
        "updated_at": p.updated_at,
        "updated_by": p.updated_by.get_username() if p.updated_by_id else None,
    }


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    talk = serializers.SlugField(help_text="The talk's slug.")
    title = serializers.CharField()
    summary = serializers.CharField(allow_blank=True)
    mediator = serializers.IntegerField(help_text="The mediating party's id.")
    mediator_name = serializers.CharField()
    status = serializers.ChoiceField(Proposal.Status.choices)
    superseded_by = serializers.IntegerField(
        allow_null=True, help_text="Set on a superseded proposal: the one that replaces it."
    )
    copied_from = serializers.IntegerField(
        allow_null=True, help_text="The proposal this draft was copied from, if any."
    )
    phases = PhaseSerializer(many=True)
    terms = TermOutSerializer(many=True)
    version = serializers.IntegerField(help_text="Send it back as If-Match to change the row.")
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(allow_null=True)

    def to_representation(self, instance: Any) -> Any:
        if isinstance(instance, Proposal):
            request = self.context.get("request")
            role = access_for(request).role(instance.talk_id) if request else None
            instance = _proposal_record(instance, viewer=role == Membership.Role.VIEWER)
        return super().to_representation(instance)


PROPOSAL_EXAMPLE = {
    "id": 3,
    "talk": "gaza-ceasefire",
    "title": "Phased framework",
    "summary": "A truce and partial withdrawal first, then a permanent ceasefire.",
    "mediator": 3,
    "mediator_name": "Egypt",
    "status": "shared",
    "superseded_by": None,
    "copied_from": None,
    "phases": [
        {"number": 1, "title": "Truce", "trigger": "Signature, and the first releases."},
        {"number": 2, "title": "Permanent ceasefire", "trigger": "Every hostage released."},
    ],
    "terms": [
        {"issue": "withdrawal", "phase": 1, "value": "phased", "label": "a phased withdrawal"},
        {"issue": "ceasefire", "phase": 1, "value": 42.0, "label": "42 days"},
        {"issue": "ceasefire", "phase": 2, "value": 365.0, "label": "permanent"},
    ],
    "version": 4,
    "created_at": "2026-10-10T08:00:00Z",
    "created_by": "mediator",
    "updated_at": "2026-10-14T09:30:00Z",
    "updated_by": "mediator",
}


class _ProposalContentSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True, trim_whitespace=False)
    summary = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    mediator = serializers.IntegerField(
        min_value=1, max_value=2**53, help_text="The id of one of the talk's mediating parties."
    )
    status = serializers.ChoiceField(Proposal.Status.choices, required=False)
    superseded_by = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=2**53,
        help_text="With status superseded: the draft or shared proposal that replaces it.",
    )
    phases = PhaseSerializer(many=True, required=False, max_length=PHASES_LIMIT * 5)
    terms = TermSerializer(many=True, required=False, max_length=TERMS_PER_PROPOSAL)
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Change note, kept with the new version.",
    )


class ProposalCreateSerializer(_ProposalContentSerializer):
    talk = VisibleSlugField(
        choices=visible_talks,
        slug_field="slug",
        queryset=Talk.objects.none(),
        error_messages={"does_not_exist": "Unknown talk: {value}."},
    )


class ProposalUpdateSerializer(_ProposalContentSerializer):
    talk = serializers.CharField(required=False, help_text="Cannot change.")


class SuggestSerializer(serializers.Serializer):
    talk = VisibleSlugField(
        choices=visible_talks,
        slug_field="slug",
        queryset=Talk.objects.none(),
        error_messages={"does_not_exist": "Unknown talk: {value}."},
    )
    mediator = serializers.IntegerField(min_value=1, max_value=2**53)
    layer = serializers.ChoiceField(
        Layer.choices,
        default=Layer.DECLARED,
        help_text="Whose limits the bridging points come from (assessed: analysts and mediators).",
    )
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CopySerializer(serializers.Serializer):
    title = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Default: the title with ' (revised)'.",
    )
    version = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31, help_text="Default: the current version."
    )


class TermValueSerializer(serializers.Serializer):
    value = ScaleValueField()
    note = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


def _input_from(base: ProposalInput, data: dict[str, Any]) -> ProposalInput:
    changes: dict[str, Any] = {}
    for name in ("title", "summary", "status"):
        if name in data:
            changes[name] = data[name]
    if "mediator" in data:
        changes["mediator_id"] = data["mediator"]
    if "superseded_by" in data:
        changes["superseded_by_id"] = data["superseded_by"]
    if "phases" in data:
        changes["phases"] = tuple(PhaseInput(**ph) for ph in data["phases"])
    if "terms" in data:
        changes["terms"] = tuple(TermInput(**t) for t in data["terms"])
    return base.with_changes(**changes)


# --- Evaluation and comparison --------------------------------------------------------------


@extend_schema_field(
    {
        "type": "array",
        "items": {"oneOf": [{"type": "number"}, {"type": "string"}]},
        "description": "A (low, high) range on a numeric issue; option keys otherwise.",
    }
)
class WithinField(serializers.ListField):
    pass


class ConditionSerializer(serializers.Serializer):
    party = serializers.CharField()
    issue_key = serializers.SlugField(help_text="The issue whose position carries it.")
    on_issue_key = serializers.SlugField(help_text="The issue it depends on.")
    within = WithinField()


class VerdictSerializer(serializers.Serializer):
    issue_key = serializers.SlugField()
    phase = serializers.IntegerField()
    value = ScaleValueField()
    party = serializers.CharField()
    accepted = serializers.BooleanField()
    beyond = serializers.FloatField(help_text="How far past the red line, as a share (0 to 1).")
    beyond_amount = serializers.FloatField(
        help_text="The same in the scale's unit (option steps on an ordered scale)."
    )
    concession = serializers.FloatField(help_text="Distance from the party's demand (share).")
    concession_amount = serializers.FloatField()


class SatisfactionSerializer(serializers.Serializer):
    party = serializers.CharField()
    satisfaction = serializers.FloatField(
        allow_null=True,
        help_text="Priority-weighted share of its demands kept, 0 to 1 (null: no term "
        "concerns it).",
    )
    terms = serializers.IntegerField()


class ConditionCheckSerializer(serializers.Serializer):
    condition = ConditionSerializer()
    phase = serializers.IntegerField()
    against_phase = serializers.IntegerField(allow_null=True)
    value = ScaleValueField(allow_null=True, help_text="The term in force on the other issue.")
    met = serializers.BooleanField()
    miss = serializers.FloatField()
    miss_amount = serializers.FloatField()


class BlockerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(["term", "condition"])
    party = serializers.CharField()
    issue_key = serializers.SlugField()
    phase = serializers.IntegerField()
    miss = serializers.FloatField()
    miss_amount = serializers.FloatField()
    on_issue_key = serializers.SlugField(allow_null=True)


class NotEvaluatedSerializer(serializers.Serializer):
    issue_key = serializers.SlugField()
    phase = serializers.IntegerField()
    value = ScaleValueField()
    reason = serializers.CharField()


class EvaluationSerializer(serializers.Serializer):
    proposal = serializers.IntegerField()
    version = serializers.IntegerField()
    layer = serializers.ChoiceField(Layer.choices)
    acceptable = serializers.BooleanField(
        help_text="Every term acceptable to every principal and no condition broken."
    )
    verdicts = VerdictSerializer(many=True)
    satisfaction = SatisfactionSerializer(many=True)
    conditions = ConditionCheckSerializer(many=True)
    blocking = BlockerSerializer(many=True, help_text="What stops it, the furthest miss first.")
    not_evaluated = NotEvaluatedSerializer(
        many=True,
        help_text="Terms left out: their issue was removed, or its scale changed since.",
    )


EVALUATION_EXAMPLE = {
    "proposal": 3,
    "version": 4,
    "layer": "declared",
    "acceptable": False,
    "verdicts": [
        {
            "issue_key": "prisoners",
            "phase": 1,
            "value": 30.0,
            "party": "Hamas",
            "accepted": False,
            "beyond": 0.133333,
            "beyond_amount": 20.0,
            "concession": 0.466667,
            "concession_amount": 70.0,
        }
    ],
    "satisfaction": [{"party": "Hamas", "satisfaction": 0.42, "terms": 7}],
    "conditions": [
        {
            "condition": {
                "party": "Hamas",
                "issue_key": "ceasefire",
                "on_issue_key": "withdrawal",
                "within": ["complete"],
            },
            "phase": 2,
            "against_phase": 2,
            "value": "full-security",
            "met": False,
            "miss": 0.25,
            "miss_amount": 1.0,
        }
    ],
    "blocking": [
        {
            "kind": "condition",
            "party": "Hamas",
            "issue_key": "ceasefire",
            "phase": 2,
            "miss": 0.25,
            "miss_amount": 1.0,
            "on_issue_key": "withdrawal",
        }
    ],
    "not_evaluated": [],
}


class SuggestedSerializer(ProposalSerializer):
    evaluation = EvaluationSerializer(help_text="The draft evaluated on the layer it came from.")


class SideSerializer(serializers.Serializer):
    proposal = serializers.IntegerField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.ChoiceField(Proposal.Status.choices)


class PhaseChangeSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    before = PhaseSerializer(allow_null=True)
    after = PhaseSerializer(allow_null=True)


class TermChangeSerializer(serializers.Serializer):
    issue_key = serializers.SlugField()
    phase = serializers.IntegerField()
    before = ScaleValueField(allow_null=True)
    after = ScaleValueField(allow_null=True)
    change = serializers.ChoiceField(["same", "changed", "added", "removed"])


class ComparisonSerializer(serializers.Serializer):
    before = SideSerializer()
    after = SideSerializer()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField(allow_null=True)),
        help_text="Title, summary, mediator or status where they differ: [before, after].",
    )
    phases = PhaseChangeSerializer(many=True, help_text="Phases that differ.")
    terms = TermChangeSerializer(many=True, help_text="Every (issue, phase) either one sets.")


COMPARISON_EXAMPLE = {
    "before": {"proposal": 3, "version": 3, "title": "Phased framework", "status": "draft"},
    "after": {"proposal": 3, "version": 4, "title": "Phased framework", "status": "shared"},
    "fields": {"status": ["draft", "shared"]},
    "phases": [],
    "terms": [
        {
            "issue_key": "prisoners",
            "phase": 1,
            "before": 30.0,
            "after": 45.0,
            "change": "changed",
        },
        {"issue_key": "aid", "phase": 1, "before": "joint", "after": "joint", "change": "same"},
    ],
}

REVISION_EXAMPLE = {
    "id": 17,
    "proposal": 3,
    "version": 4,
    "snapshot": {"title": "Phased framework", "status": "shared", "terms": []},
    "changes": {"status": ["draft", "shared"]},
    "note": "Carried to both delegations.",
    "by": "mediator",
    "via": "web",
    "created_at": "2026-10-14T09:30:00Z",
}


class ProposalRevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    proposal = serializers.IntegerField(source="proposal_id")
    version = serializers.IntegerField()
    snapshot = serializers.JSONField(help_text="The proposal as saved by this version.")
    changes = serializers.JSONField(help_text="Field: [before, after], for what changed.")
    note = serializers.CharField(allow_blank=True)
    by = serializers.SerializerMethodField()
    via = serializers.ChoiceField(Interface.choices)
    created_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_by(self, revision: ProposalRevision) -> str | None:
        return revision.by.get_username() if revision.by_id else None


# --- Filters and parameters -----------------------------------------------------------------


class ProposalFilter(django_filters.FilterSet):
    talk = TalkFilter(field_name="talk")
    status = django_filters.ChoiceFilter(choices=Proposal.Status.choices)
    mediator = PartyFilter(field_name="mediator", label="The mediating party's id.")

    class Meta:
        model = Proposal
        fields: list[str] = []


LAYER_PARAM = OpenApiParameter(
    "layer",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=Layer.values,
    description="The positions to evaluate against (default declared; assessed: analysts "
    "and mediators only).",
)
VERSION_PARAM = OpenApiParameter(
    "version",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="An earlier version of the proposal (default: the current one).",
)
WITH_PARAM = OpenApiParameter(
    "with",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="Another proposal's id: compare the two current versions.",
)
AGAINST_PARAM = OpenApiParameter(
    "against",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="With version=: the later version (default: the current one).",
)


def _positive_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 2**31:
        raise BadQuery({name: [NUMBER_INVALID]})
    return int(raw)


# --- Proposals ------------------------------------------------------------------------------


@extend_schema_view(
    **list_and_retrieve(
        ProposalSerializer,
        "A proposal",
        PROPOSAL_EXAMPLE,
        list_summary="List proposals",
        retrieve_summary="Get a proposal",
        list_description=(
            "The proposals of every talk you belong to (viewers: the shared ones only), most "
            "recently changed first."
        ),
    ),
    create=extend_schema(
        summary="Draft a proposal",
        description="Mediators and analysts. Starts as a draft (or shared), at version 1.",
        request=ProposalCreateSerializer,
        responses={201: ProposalSerializer, **CREATE_ERRORS},
        examples=[
            example(
                "Two phases",
                {
                    "talk": "gaza-ceasefire",
                    "title": "Phased framework",
                    "mediator": 3,
                    "phases": [
                        {"number": 1, "title": "Truce", "trigger": "Signature"},
                        {"number": 2, "title": "Settlement", "trigger": "Every hostage home"},
                    ],
                    "terms": [
                        {"issue": "ceasefire", "phase": 1, "value": 42},
                        {"issue": "withdrawal", "phase": 1, "value": "phased"},
                        {"issue": "ceasefire", "phase": 2, "value": 365},
                    ],
                    "note": "First draft for the Cairo round.",
                },
                request=True,
            ),
            example("Drafted", PROPOSAL_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Replace a proposal",
        description=(
            "Fields left out take their defaults (one untitled phase, no terms). Needs "
            "If-Match. A withdrawn or superseded proposal can no longer change."
        ),
        request=ProposalUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: ProposalSerializer, **WRITE_ERRORS},
        examples=[
            example(
                "Replace",
                {
                    "title": "Phased framework",
                    "mediator": 3,
                    "terms": [{"issue": "prisoners", "phase": 1, "value": 45}],
                },
                request=True,
            ),
            example("Replaced", PROPOSAL_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a proposal",
        description=(
            "Fields left out keep their values; `phases` and `terms`, when given, replace "
            "the whole list. Share it, withdraw it, or mark it superseded (naming its "
            "successor) by its `status`. Needs If-Match."
        ),
        request=ProposalUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: ProposalSerializer, **WRITE_ERRORS},
        examples=[
            example(
                "Share it", {"status": "shared", "note": "Carried to both sides."}, request=True
            ),
            example(
                "Superseded",
                {"status": "superseded", "superseded_by": 5, "note": "Replaced by the revision."},
                request=True,
            ),
            example("Changed", PROPOSAL_EXAMPLE),
        ],
    ),
)
class ProposalViewSet(ApiViewSet):
    serializer_class = ProposalSerializer
    filterset_class = ProposalFilter
    ordering_fields = ("id", "updated_at", "created_at", "title")
    ordering = ("-updated_at",)
    extra_query_params = {
        "evaluation": frozenset({"layer", "version"}),
        "compare": frozenset({"with", "version", "against"}),
    }

    def get_queryset(self) -> QuerySet[Proposal]:
        return selectors.proposal_list_visible(roles=self.access.roles)

    def _get(self, pk: int) -> Proposal:
        proposal = self.get_queryset().filter(pk=pk).first()
        if proposal is None:
            raise NotFound()
        return proposal

    def current_instance(self, instance: Any) -> Proposal:
        return self._get(instance.pk)

    def _answer(self, proposal: Proposal, code: int = status.HTTP_200_OK, **headers: str):
        current = self._get(proposal.pk)
        return Response(
            self.get_serializer(current).data,
            status=code,
            headers={"ETag": version_etag(current.version), **headers},
        )

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, pk: int) -> Response:
        proposal = self._get(pk)
        return self.conditional(self.get_serializer(proposal).data, version_etag(proposal.version))

    def create(self, request: Request) -> Response:
        form = ProposalCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        talk = data["talk"]
        self.access.require_proposal_write(talk.pk)
        base = ProposalInput(title=data["title"], mediator_id=data["mediator"])
        proposal = proposal_create(
            talk=talk,
            data=_input_from(base, data),
            by=request.user,
            via=Interface.API,
            note=data.get("note", ""),
        )
        return self._answer(
            proposal,
            status.HTTP_201_CREATED,
            Location=request.build_absolute_uri(f"{proposal.pk}/"),
        )

    def _editable(self, pk: int) -> tuple[Proposal, int]:
        """The checks every write makes, in order: 404 unseen, 403 role, 428, 412."""
        proposal = self._get(pk)
        self.access.require_proposal_write(proposal.talk_id)
        based_on = if_match_version(self.request)
        if proposal.version != based_on:
            raise ProposalConflict(instance=proposal, based_on_version=based_on)
        return proposal, based_on

    def _save(self, request: Request, pk: int, *, partial: bool) -> Response:
        proposal, based_on = self._editable(pk)
        form = ProposalUpdateSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "talk" in data and data["talk"] != proposal.talk.slug:
            raise serializers.ValidationError({"talk": [FIXED_TALK]})
        if partial:
            base = proposal_input_from(proposal)
        else:
            # A replacement keeps the proposal's status unless it names another.
            base = ProposalInput(
                title=data["title"], mediator_id=data["mediator"], status=proposal.status
            )
        updated = proposal_update(
            proposal=proposal,
            based_on_version=based_on,
            data=_input_from(base, data),
            by=request.user,
            via=Interface.API,
            note=data.get("note", ""),
        )
        return self._answer(updated)

    def update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=True)

    @extend_schema(
        summary="Set one term",
        description=(
            "Adds or changes the proposal's term on an issue in a phase. Answers with the "
            "proposal and its new ETag. Needs If-Match."
        ),
        request=TermValueSerializer,
        parameters=[IF_MATCH],
        responses={200: ProposalSerializer, **WRITE_ERRORS},
        examples=[
            example("A number", {"value": 45}, request=True),
            example("An option", {"value": "full-security"}, request=True),
            example("The proposal", PROPOSAL_EXAMPLE),
        ],
    )
    def term_set(self, request: Request, pk: int, issue_key: str, phase: int) -> Response:
        proposal, based_on = self._editable(pk)
        form = TermValueSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        updated = proposal_term_set(
            proposal=proposal,
            based_on_version=based_on,
            term=TermInput(issue=issue_key, phase=phase, value=form.validated_data["value"]),
            by=request.user,
            via=Interface.API,
            note=form.validated_data.get("note", ""),
        )
        return self._answer(updated)

    @extend_schema(
        summary="Remove one term",
        description="Answers with the proposal and its new ETag. Needs If-Match.",
        request=None,
        parameters=[IF_MATCH],
        responses={200: ProposalSerializer, **WRITE_ERRORS},
        examples=[example("The proposal", PROPOSAL_EXAMPLE)],
    )
    def term_remove(self, request: Request, pk: int, issue_key: str, phase: int) -> Response:
        proposal, based_on = self._editable(pk)
        updated = proposal_term_remove(
            proposal=proposal,
            based_on_version=based_on,
            issue=issue_key,
            phase=phase,
            by=request.user,
            via=Interface.API,
        )
        return self._answer(updated)

    @extend_schema(
        summary="Copy a proposal into a new draft",
        description=(
            "Mediators and analysts. The new draft holds the proposal's phases and terms "
            "(of its current version, or of `version`) and names it in `copied_from`."
        ),
        request=CopySerializer,
        responses={201: ProposalSerializer, **CREATE_ERRORS, 404: READ_ERRORS[404]},
        examples=[
            example("Revise it", {"title": "Phased framework, second draft"}, request=True),
            example("From an earlier version", {"version": 2}, request=True),
            example("The new draft", {**PROPOSAL_EXAMPLE, "status": "draft", "copied_from": 3}),
        ],
    )
    def copy(self, request: Request, pk: int) -> Response:
        proposal = self._get(pk)
        self.access.require_proposal_write(proposal.talk_id)
        form = CopySerializer(data=request.data)
        form.is_valid(raise_exception=True)
        copied = proposal_copy(
            proposal=proposal,
            by=request.user,
            via=Interface.API,
            title=form.validated_data.get("title", ""),
            version=form.validated_data.get("version"),
        )
        location = request.build_absolute_uri(f"../../{copied.pk}/")
        return self._answer(copied, status.HTTP_201_CREATED, Location=location)

    @extend_schema(
        summary="Suggest a package",
        description=(
            "Mediators and analysts. Drafts a proposal with one phase-1 term per issue at "
            "its bridging point on the layer (the point that asks the least "
            "priority-weighted concession of the principals), and answers with the draft "
            "and its evaluation on that layer."
        ),
        request=SuggestSerializer,
        responses={201: SuggestedSerializer, **CREATE_ERRORS},
        examples=[
            example(
                "From the assessed limits",
                {"talk": "gaza-ceasefire", "mediator": 3, "layer": "assessed"},
                request=True,
            ),
            example("The draft", {**PROPOSAL_EXAMPLE, "evaluation": EVALUATION_EXAMPLE}),
        ],
    )
    def suggest(self, request: Request) -> Response:
        form = SuggestSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        talk = data["talk"]
        self.access.require_proposal_write(talk.pk)
        proposal = proposal_suggest(
            talk=talk,
            layer=data["layer"],
            mediator_id=data["mediator"],
            by=request.user,
            via=Interface.API,
            title=data.get("title", ""),
        )
        current = self._get(proposal.pk)
        body = dict(self.get_serializer(current).data)
        body["evaluation"] = self._evaluation(current, data["layer"], None)
        self._record_evaluation(current, data["layer"])
        return Response(
            body,
            status=status.HTTP_201_CREATED,
            headers={
                "ETag": version_etag(current.version),
                "Location": request.build_absolute_uri(f"../{current.pk}/"),
            },
        )

    def _layer(self, proposal: Proposal) -> str:
        layer = self.request.query_params.get("layer", Layer.DECLARED)
        if layer not in Layer.values:
            raise BadQuery({"layer": [LAYER_UNKNOWN]})
        self.access.require_read(proposal.talk_id, layer)
        return layer

    def _snapshot(self, proposal: Proposal, version: int | None, param: str) -> dict[str, Any]:
        if version is None or version == proposal.version:
            return proposal_snapshot(proposal)
        snap = selectors.proposal_revision_snapshot(
            proposal=proposal, version=version, role=self.access.role(proposal.talk_id)
        )
        if snap is None:
            raise BadQuery({param: [VERSION_NOT_FOUND.format(version=version)]})
        return snap

    def _evaluation(self, proposal: Proposal, layer: str, version: int | None) -> dict[str, Any]:
        snap = self._snapshot(proposal, version, "version")
        inputs = package_inputs(talk=proposal.talk, layer=layer)
        terms = terms_of(snap)
        _, invalid = inputs.split(terms)
        return {
            "proposal": proposal.pk,
            "version": version or proposal.version,
            "layer": layer,
            **inputs.evaluate(terms).to_dict(),
            "not_evaluated": [
                {"issue_key": t.issue_key, "phase": t.phase, "value": t.value, "reason": reason}
                for t, reason in invalid
            ],
        }

    def _record_evaluation(self, proposal: Proposal, layer: str) -> None:
        if layer == Layer.ASSESSED:
            self.record_assessed_read([proposal.talk_id], f"evaluation of proposal {proposal.pk}")

    @extend_schema(
        summary="Evaluate a proposal",
        description=(
            "Every term against every principal's position on the layer (accepted, or how "
            "far beyond the red line, in shares of the scale and in its unit), each "
            "party's weighted satisfaction, every linked condition checked across the "
            "package and its phases, and the verdict with what blocks it. Evaluated "
            "against the positions as they stand now."
        ),
        parameters=[LAYER_PARAM, VERSION_PARAM, IF_NONE_MATCH],
        responses={200: EvaluationSerializer, 304: NOT_MODIFIED, **READ_ERRORS},
        examples=[example("An evaluation", EVALUATION_EXAMPLE)],
    )
    def evaluation(self, request: Request, pk: int) -> Response:
        proposal = self._get(pk)
        layer = self._layer(proposal)
        data = self._evaluation(proposal, layer, _positive_int(request, "version"))
        response = self.conditional(data, content_etag(data))
        if response.status_code == status.HTTP_200_OK:
            self._record_evaluation(proposal, layer)  # a 304 shows nothing new
        return response

    @extend_schema(
        summary="Compare two proposals, or two versions of one",
        description=(
            "Term by term: every (issue, phase) either side sets, marked same, changed, "
            "added or removed; and the fields and phases that differ. `with=<id>` compares "
            "this proposal with another; `version=<n>&against=<m>` two of its versions. "
            "Without either: the version before the current one against the current one."
        ),
        parameters=[WITH_PARAM, VERSION_PARAM, AGAINST_PARAM, IF_NONE_MATCH],
        responses={200: ComparisonSerializer, 304: NOT_MODIFIED, **READ_ERRORS},
        examples=[example("Two versions", COMPARISON_EXAMPLE)],
    )
    def compare(self, request: Request, pk: int) -> Response:
        proposal = self._get(pk)
        other_id = _positive_int(request, "with")
        version = _positive_int(request, "version")
        against = _positive_int(request, "against")
        if other_id is not None and (version is not None or against is not None):
            raise BadQuery({"with": [COMPARE_EITHER]})
        if other_id is not None:
            other = self.get_queryset().filter(pk=other_id, talk_id=proposal.talk_id).first()
            if other is None:
                raise BadQuery({"with": [f"No proposal {other_id} in this talk."]})
            before, after = (proposal, proposal.version), (other, other.version)
            old, new = proposal_snapshot(proposal), proposal_snapshot(other)
        else:
            role = self.access.role(proposal.talk_id)
            versions = list(
                selectors.proposal_revisions(proposal=proposal, role=role).values_list(
                    "version", flat=True
                )
            )
            against = against or (versions[0] if versions else proposal.version)
            if version is None:
                earlier = [v for v in versions if v < against]
                version = earlier[0] if earlier else against
            old = self._snapshot(proposal, version, "version")
            new = self._snapshot(proposal, against, "against")
            before, after = (proposal, version), (proposal, against)
        issue_order = list(
            proposal.talk.issues.order_by("order", "key").values_list("key", flat=True)
        )
        diff = proposal_compare(before=old, after=new, issue_order=issue_order)
        data = {
            "before": _side(before, old),
            "after": _side(after, new),
            "fields": diff["fields"],
            "phases": diff["phases"],
            "terms": [
                {
                    "issue_key": c.issue_key,
                    "phase": c.phase,
                    "before": c.before,
                    "after": c.after,
                    "change": str(c.kind),
                }
                for c in diff["terms"]
            ],
        }
        return self.conditional(data, content_etag(data))


def _side(side: tuple[Proposal, int], snap: dict[str, Any]) -> dict[str, Any]:
    proposal, version = side
    return {
        "proposal": proposal.pk,
        "version": version,
        "title": snap["title"],
        "status": snap["status"],
    }


@extend_schema_view(
    list=extend_schema(
        summary="A proposal's revision history",
        description=(
            "Every saved version, newest first, with who, when, through which interface, "
            "what changed and the note. Viewers see the versions that were shared."
        ),
        responses={200: ProposalRevisionSerializer(many=True), **READ_ERRORS},
        examples=[example("A revision", REVISION_EXAMPLE)],
    )
)
class ProposalRevisionViewSet(ApiViewSet):
    queryset = ProposalRevision.objects.none()  # tells the schema the model
    serializer_class = ProposalRevisionSerializer
    ordering_fields = ("version", "created_at")
    ordering = ("-version",)

    def list(self, request: Request, proposal_pk: int) -> Response:
        proposal = (
            selectors.proposal_list_visible(roles=self.access.roles).filter(pk=proposal_pk).first()
        )
        if proposal is None:
            raise NotFound()
        revisions = selectors.proposal_revisions(
            proposal=proposal, role=self.access.role(proposal.talk_id)
        )
        return self.page_of(self.filter_queryset(revisions))


__all__ = ["ProposalRevisionViewSet", "ProposalViewSet"]
