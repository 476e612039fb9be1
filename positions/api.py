"""Positions (both layers), their revision history, and sources, for scripts.

Reads are scoped by talk membership (api.access); writes go through positions.services,
which validate everything about the domain and raise per-field ValidationErrors or a
StaleVersion that the shared exception handler turns into 400 / 412.
"""

import math
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiViewSet
from api.conditional import if_match_version, version_etag
from api.csv_export import csv_response
from api.filters import (
    IssueFilter,
    IssueKeyFilter,
    PartyFilter,
    PartyNameFilter,
    TalkFilter,
    VisibleRelatedField,
    VisibleSlugField,
    visible_issues,
    visible_parties,
    visible_talks,
)
from api.schema import (
    AS_OF,
    CHANGE_NOTE,
    CREATE_ERRORS,
    FORMAT,
    IF_MATCH,
    LIST_ERRORS,
    READ_ERRORS,
    WRITE_ERRORS,
    example,
    list_and_retrieve,
)
from issues.models import Issue, Layer
from talks.models import Party, Talk

from . import selectors
from .models import Interface, Position, PositionRevision, Source
from .services import (
    LinkInput,
    PositionConflict,
    PositionInput,
    SourceConflict,
    SourceInput,
    position_create,
    position_delete,
    position_input_from,
    position_snapshot,
    position_update,
    source_create,
    source_delete,
    source_update,
)

FIXED_ON_POSITION = "A position's {field} cannot change: withdraw it and create another."
VALUE_TYPE = "Enter a number, or the key of one of the issue's options."
LINK_SHAPE = (
    "Give either `options` (on an issue with options) or `low` and `high` (on a numeric issue)."
)
LINK_BOUND = "Give both ends of the range."
NUMBER_FINITE = "Enter a finite number."

# --- Fields ---------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [{"type": "number"}, {"type": "string", "maxLength": 60}],
        "description": "A number on a numeric scale; an option key otherwise.",
    }
)
class ScaleValueField(serializers.Field):
    """A number or an option key; whether it fits the issue is the service's to say."""

    default_error_messages = {"invalid": VALUE_TYPE}

    def to_internal_value(self, data: Any) -> float | int | str:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            try:
                if math.isfinite(float(data)):
                    return data
            except OverflowError:
                pass
            self.fail("invalid")
        if isinstance(data, str) and len(data) <= 60 and "\x00" not in data:
            return data
        self.fail("invalid")
        raise AssertionError  # unreachable: fail() raises

    def to_representation(self, value: Any) -> Any:
        return value


class FiniteFloatField(serializers.FloatField):
    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            raise serializers.ValidationError(NUMBER_FINITE)
        return value


class LinkSerializer(serializers.Serializer):
    """ "This position holds only if issue `issue` lands within ...": a set of options or a
    range. Whether it fits that issue's scale is the service's to say."""

    issue = serializers.SlugField(max_length=80, help_text="The key of the issue it depends on.")
    options = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        max_length=200,
        help_text="Ordinal or categorical issue: the option keys it must land on.",
    )
    low = FiniteFloatField(required=False, help_text="Numeric issue: the lowest it may land at.")
    high = FiniteFloatField(required=False, help_text="Numeric issue: the highest.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        ranged = "low" in attrs or "high" in attrs
        if ranged == ("options" in attrs):
            raise serializers.ValidationError(LINK_SHAPE)
        for bound in ("low", "high"):
            if ranged and bound not in attrs:
                raise serializers.ValidationError({bound: [LINK_BOUND]})
        return attrs


def _link_input(link: dict[str, Any]) -> LinkInput:
    if "options" in link:
        return LinkInput(issue=link["issue"], within=frozenset(link["options"]))
    return LinkInput(issue=link["issue"], within=(link["low"], link["high"]))


# --- Representations ------------------------------------------------------------------------


def _position_record(p: Position) -> dict[str, Any]:
    snap = position_snapshot(p)
    return {
        "id": p.pk,
        "talk": p.issue.talk.slug,
        "issue": p.issue_id,
        "issue_key": p.issue.key,
        "party": p.party_id,
        "party_name": p.party.name,
        "layer": p.layer,
        **{k: snap[k] for k in _SNAPSHOT_FIELDS},
        "version": p.version,
        "updated_at": p.updated_at,
        "updated_by": p.updated_by.get_username() if p.updated_by_id else None,
        "updated_via": p.updated_via,
        "deleted_at": p.deleted_at,
    }


def _revision_as_position(r: PositionRevision) -> dict[str, Any]:
    snap = r.snapshot
    return {
        "id": r.position_id,
        "talk": r.issue.talk.slug,
        "issue": r.issue_id,
        "issue_key": r.issue.key,
        "party": r.party_id,
        "party_name": r.party.name,
        "layer": r.layer,
        **{k: snap.get(k) for k in _SNAPSHOT_FIELDS},
        "version": r.version,
        "updated_at": r.created_at,
        "updated_by": r.by.get_username() if r.by_id else None,
        "updated_via": r.via,
        "deleted_at": None,
    }


_SNAPSHOT_FIELDS = (
    "demand",
    "red_line",
    "acceptable",
    "priority",
    "rationale",
    "conditions",
    "links",
    "confidence",
    "status",
    "sources",
)


class PositionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    talk = serializers.SlugField(help_text="The talk's slug.")
    issue = serializers.IntegerField(help_text="The issue's id.")
    issue_key = serializers.SlugField()
    party = serializers.IntegerField(help_text="The party's id.")
    party_name = serializers.CharField()
    layer = serializers.ChoiceField(Layer.choices)
    demand = ScaleValueField()
    red_line = ScaleValueField(
        allow_null=True, help_text="Worst acceptable value; null on a categorical issue."
    )
    acceptable = serializers.ListField(
        child=serializers.SlugField(),
        help_text="Categorical issues: the option keys the party can accept (its red line).",
    )
    priority = serializers.IntegerField(help_text="How much the party cares, 1 to 5.")
    rationale = serializers.CharField(allow_blank=True)
    conditions = serializers.CharField(allow_blank=True)
    links = LinkSerializer(
        many=True,
        help_text="Linked conditions: the position holds only if each issue lands within.",
    )
    confidence = serializers.ChoiceField(Position.Confidence.choices)
    status = serializers.ChoiceField(Position.Status.choices)
    sources = serializers.ListField(child=serializers.IntegerField(), help_text="Source ids.")
    version = serializers.IntegerField(help_text="Send it back as If-Match to change the row.")
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(allow_null=True)
    updated_via = serializers.ChoiceField(Interface.choices)
    deleted_at = serializers.DateTimeField(
        allow_null=True, help_text="Set only on a withdrawn position (seen in a 412 body)."
    )

    def to_representation(self, instance: Any) -> Any:
        if isinstance(instance, Position):
            instance = _position_record(instance)
        elif isinstance(instance, PositionRevision):
            instance = _revision_as_position(instance)
        return super().to_representation(instance)


POSITION_EXAMPLE = {
    "id": 12,
    "talk": "gaza-ceasefire",
    "issue": 3,
    "issue_key": "prisoner-ratio",
    "party": 1,
    "party_name": "Israel",
    "layer": "declared",
    "demand": 10.0,
    "red_line": 30.0,
    "acceptable": [],
    "priority": 4,
    "rationale": "Public statements cap the ratio.",
    "conditions": "Only with a phased withdrawal.",
    "links": [{"issue": "withdrawal", "options": ["phased", "full-security"]}],
    "confidence": "medium",
    "status": "stated",
    "sources": [1],
    "version": 3,
    "updated_at": "2026-10-14T09:30:00Z",
    "updated_by": "analyst",
    "updated_via": "api",
    "deleted_at": None,
}


class _PositionContentSerializer(serializers.Serializer):
    """What a write may set; the service decides whether it fits the issue."""

    demand = ScaleValueField()
    red_line = ScaleValueField(required=False, allow_null=True)
    acceptable = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=200
    )
    priority = serializers.IntegerField(required=False)
    rationale = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    conditions = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    links = LinkSerializer(
        many=True,
        required=False,
        max_length=20,
        help_text="Linked conditions; replaces the position's (send [] to drop them all).",
    )
    confidence = serializers.ChoiceField(Position.Confidence.choices, required=False)
    status = serializers.ChoiceField(Position.Status.choices, required=False)
    sources = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**53),
        required=False,
        max_length=200,
    )
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Change note: what changed and why (required).",
    )


class PositionCreateSerializer(_PositionContentSerializer):
    issue = VisibleRelatedField(
        choices=visible_issues,
        queryset=Issue.objects.none(),
        error_messages={"does_not_exist": "Unknown issue: {pk_value}."},
    )
    party = VisibleRelatedField(
        choices=visible_parties,
        queryset=Party.objects.none(),
        error_messages={"does_not_exist": "Unknown party: {pk_value}."},
    )
    layer = serializers.ChoiceField(Layer.choices)


class PositionUpdateSerializer(_PositionContentSerializer):
    issue = serializers.IntegerField(required=False, help_text="Cannot change.")
    party = serializers.IntegerField(required=False, help_text="Cannot change.")
    layer = serializers.CharField(required=False, help_text="Cannot change.")


def _input_from(base: PositionInput, data: dict[str, Any]) -> PositionInput:
    changes: dict[str, Any] = {}
    for name in ("demand", "red_line", "priority", "rationale", "conditions"):
        if name in data:
            changes[name] = data[name]
    for name in ("confidence", "status"):
        if name in data:
            changes[name] = data[name]
    if "acceptable" in data:
        changes["acceptable"] = frozenset(data["acceptable"])
    if "links" in data:
        changes["links"] = tuple(_link_input(link) for link in data["links"])
    if "sources" in data:
        changes["source_ids"] = tuple(dict.fromkeys(data["sources"]))
    return base.with_changes(**changes)


# --- Filters --------------------------------------------------------------------------------


class _PositionFilterBase(django_filters.FilterSet):
    talk = TalkFilter(field_name="issue__talk")
    issue = IssueFilter(field_name="issue")
    issue_key = IssueKeyFilter(field_name="issue__key")
    party = PartyFilter(field_name="party")
    party_name = PartyNameFilter(field_name="party")
    layer = django_filters.ChoiceFilter(choices=Layer.choices)


class PositionFilter(_PositionFilterBase):
    updated_since = django_filters.IsoDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        label="Only positions changed at or after this moment (ISO 8601).",
    )

    class Meta:
        model = Position
        fields: list[str] = []


class PositionAsOfFilter(_PositionFilterBase):
    updated_since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = PositionRevision
        fields: list[str] = []


class RevisionFilter(_PositionFilterBase):
    action = django_filters.ChoiceFilter(choices=PositionRevision.Action.choices)
    since = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", label="Changes at or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", label="Changes before (ISO 8601)."
    )

    class Meta:
        model = PositionRevision
        fields: list[str] = []


# --- Positions ------------------------------------------------------------------------------


@extend_schema_view(
    **list_and_retrieve(
        PositionSerializer,
        "A position",
        POSITION_EXAMPLE,
        list_summary="List positions",
        retrieve_summary="Get a position",
        list_description=(
            "Current positions on every talk and layer you may read. With `as_of`, the "
            "positions as they stood then (withdrawn ones left out), from their revisions."
        ),
        list_parameters=[AS_OF, FORMAT],
        retrieve_parameters=[AS_OF],
    ),
    create=extend_schema(
        summary="Create a position",
        description=(
            "Analysts only. Creating the position of a party that withdrew one on the same "
            "issue and layer revives it with a new version."
        ),
        request=PositionCreateSerializer,
        responses={201: PositionSerializer, **CREATE_ERRORS},
        examples=[
            example(
                "Numeric issue",
                {
                    "issue": 3,
                    "party": 2,
                    "layer": "assessed",
                    "demand": 50,
                    "red_line": 25,
                    "priority": 4,
                    "confidence": "low",
                    "status": "assessment",
                    "note": "First estimate after the Doha round.",
                },
                request=True,
            ),
            example(
                "Categorical issue",
                {
                    "issue": 4,
                    "party": 2,
                    "layer": "declared",
                    "demand": "technocratic-committee",
                    "acceptable": ["technocratic-committee", "palestinian-authority"],
                    "note": "Stated in the Cairo communique.",
                },
                request=True,
            ),
            example("Created", POSITION_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Replace a position",
        description="Fields left out take their defaults. Needs If-Match.",
        request=PositionUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: PositionSerializer, **WRITE_ERRORS},
        examples=[
            example(
                "Replace",
                {"demand": 10, "red_line": 35, "priority": 4, "note": "Softer line reported."},
                request=True,
            ),
            example("Replaced", POSITION_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Change a position",
        description="Fields left out keep their values. Needs If-Match.",
        request=PositionUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: PositionSerializer, **WRITE_ERRORS},
        examples=[
            example("Move the red line", {"red_line": 35, "note": "Reported shift."}, request=True),
            example(
                "Link it to another issue",
                {
                    "links": [
                        {"issue": "withdrawal", "options": ["complete"]},
                        {"issue": "ceasefire", "low": 180, "high": 365},
                    ],
                    "note": "Hamas ties this to a complete withdrawal and a long ceasefire.",
                },
                request=True,
            ),
            example("Changed", POSITION_EXAMPLE),
        ],
    ),
    destroy=extend_schema(
        summary="Withdraw a position",
        description=(
            "The position leaves the current lists; its history stays. Needs If-Match and a "
            "change note (`?note=` or a JSON body with `note`)."
        ),
        parameters=[IF_MATCH, CHANGE_NOTE],
        request=None,
        responses={204: None, **WRITE_ERRORS},
    ),
)
class PositionViewSet(ApiViewSet):
    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    ordering_fields = ("id", "updated_at", "priority", "issue_id", "party_id", "layer")
    ordering = ("id",)
    csv_actions = frozenset({"list"})
    as_of_actions = frozenset({"list", "retrieve"})
    extra_query_params = {"destroy": frozenset({"note"})}

    def _as_of_listing(self) -> bool:
        request = getattr(self, "request", None)
        return (
            getattr(self, "action", None) == "list"
            and request is not None
            and request.query_params.get("as_of") is not None
        )

    @property
    def ordering_disabled(self) -> bool:
        # Rows as they stood then come from revisions: one fixed order (issue, party, layer).
        return self._as_of_listing()

    def get_filterset_class(self) -> type[django_filters.FilterSet]:
        return PositionAsOfFilter if self._as_of_listing() else PositionFilter

    def get_default_ordering(self) -> tuple[str, ...]:
        return ("issue_id", "party_id", "layer") if self._as_of_listing() else self.ordering

    def get_queryset(self) -> QuerySet[Any]:
        as_of = self.as_of() if self.action in self.as_of_actions else None
        if as_of is not None:
            return selectors.position_revisions_as_of_visible(
                layers_by_talk=self.access.layers_by_talk, as_of=as_of
            )
        return selectors.position_list_visible(layers_by_talk=self.access.layers_by_talk)

    def list(self, request: Request) -> Any:
        queryset = self.filter_queryset(self.get_queryset())
        if self.wants_csv():
            self.record_assessed_rows(queryset, "issue__talk_id", "positions CSV")
            rows = (PositionSerializer(p).data for p in queryset.iterator(chunk_size=500))
            return csv_response(
                columns=list(PositionSerializer().fields), rows=rows, filename="positions.csv"
            )
        return self.page_of(queryset, assessed_read="positions")

    def _get(self, pk: int) -> Any:
        queryset = self.get_queryset()
        key = "position_id" if queryset.model is PositionRevision else "pk"
        found = queryset.filter(**{key: pk}).first()
        if found is None:
            raise NotFound()
        return found

    def retrieve(self, request: Request, pk: int) -> Response:
        found = self._get(pk)
        data = PositionSerializer(found).data
        response = self.conditional(data, version_etag(found.version))
        if response.status_code == status.HTTP_200_OK and found.layer == Layer.ASSESSED:
            self.record_assessed_read([found.issue.talk_id], f"position {pk}")
        return response

    def create(self, request: Request) -> Response:
        form = PositionCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        issue = data["issue"]
        self.access.require_write(issue.talk_id)
        position = position_create(
            issue=issue,
            party=data["party"],
            layer=data["layer"],
            data=_input_from(PositionInput(demand=data["demand"]), data),
            by=request.user,
            via=Interface.API,
            note=data.get("note", ""),
        )
        current = self.current_instance(position)
        return Response(
            PositionSerializer(current).data,
            status=status.HTTP_201_CREATED,
            headers={
                "ETag": version_etag(current.version),
                "Location": request.build_absolute_uri(f"{current.pk}/"),
            },
        )

    def _editable(self, pk: int) -> tuple[Position, int]:
        """The position to change, after the checks every write of it makes, in order:
        404 unseen, 403 not an analyst, 428 no If-Match."""
        position = self._get(pk)
        self.access.require_write(position.issue.talk_id)
        return position, if_match_version(self.request)

    def _save(self, request: Request, pk: int, *, partial: bool) -> Response:
        position, based_on = self._editable(pk)
        if position.version != based_on:
            raise PositionConflict(position=position, based_on_version=based_on)
        form = PositionUpdateSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        fixed = {"issue": position.issue_id, "party": position.party_id, "layer": position.layer}
        errors = {
            name: [FIXED_ON_POSITION.format(field=name)]
            for name, value in fixed.items()
            if name in data and data[name] != value
        }
        if errors:
            raise serializers.ValidationError(errors)
        base = position_input_from(position) if partial else PositionInput(demand=data["demand"])
        updated = position_update(
            position=position,
            based_on_version=based_on,
            data=_input_from(base, data),
            by=request.user,
            via=Interface.API,
            note=data.get("note", ""),
        )
        current = self.current_instance(updated)
        return Response(
            PositionSerializer(current).data, headers={"ETag": version_etag(current.version)}
        )

    def update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        position, based_on = self._editable(pk)
        if position.version != based_on:
            raise PositionConflict(position=position, based_on_version=based_on)
        note = request.query_params.get("note")
        if note is None and isinstance(request.data, dict):
            note = request.data.get("note")
        if note is not None and not isinstance(note, str):
            raise serializers.ValidationError({"note": ["Give the change note as text."]})
        position_delete(
            position=position,
            based_on_version=based_on,
            by=request.user,
            via=Interface.API,
            note=note or "",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def current_instance(self, instance: Any) -> Position:
        return (
            selectors.position_list_visible(
                layers_by_talk=self.access.layers_by_talk, include_deleted=True
            )
            .filter(pk=instance.pk)
            .get()
        )

    def stale_representation(self, exc: Any) -> tuple[Any, str]:
        data, etag = super().stale_representation(exc)
        if data["layer"] == Layer.ASSESSED:
            self.record_assessed_read([exc.instance.issue.talk_id], f"position {data['id']}")
        return data, etag


# --- Revisions ------------------------------------------------------------------------------


class RevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField(source="position_id")
    talk = serializers.SlugField(source="issue.talk.slug")
    issue = serializers.IntegerField(source="issue_id")
    issue_key = serializers.SlugField(source="issue.key")
    party = serializers.IntegerField(source="party_id")
    party_name = serializers.CharField(source="party.name")
    layer = serializers.ChoiceField(Layer.choices)
    version = serializers.IntegerField()
    action = serializers.ChoiceField(PositionRevision.Action.choices)
    snapshot = serializers.JSONField(help_text="The position as saved by this revision.")
    changes = serializers.JSONField(help_text="Field: [before, after], for what changed.")
    note = serializers.CharField()
    by = serializers.SerializerMethodField()
    via = serializers.ChoiceField(Interface.choices)
    created_at = serializers.DateTimeField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_by(self, revision: PositionRevision) -> str | None:
        return revision.by_username  # annotated by the selectors

    def to_representation(self, revision: PositionRevision) -> dict[str, Any]:
        # A page is 50 revisions: built directly rather than field by field, to the same
        # result (the fields above describe it for the schema and name the CSV columns).
        return {
            "id": revision.id,
            "position": revision.position_id,
            "talk": revision.issue.talk.slug,
            "issue": revision.issue_id,
            "issue_key": revision.issue.key,
            "party": revision.party_id,
            "party_name": revision.party.name,
            "layer": revision.layer,
            "version": revision.version,
            "action": revision.action,
            "snapshot": revision.snapshot,
            "changes": revision.changes,
            "note": revision.note,
            "by": revision.by_username,
            "via": revision.via,
            "created_at": self.fields["created_at"].to_representation(revision.created_at),
        }


REVISION_EXAMPLE = {
    "id": 40,
    "position": 12,
    "talk": "gaza-ceasefire",
    "issue": 3,
    "issue_key": "prisoner-ratio",
    "party": 1,
    "party_name": "Israel",
    "layer": "declared",
    "version": 3,
    "action": "update",
    "snapshot": {"demand": 10.0, "red_line": 30.0, "priority": 4},
    "changes": {"red_line": [25.0, 30.0]},
    "note": "Reported shift after the Doha round.",
    "by": "analyst",
    "via": "api",
    "created_at": "2026-10-14T09:30:00Z",
}


def _revision_csv(queryset: QuerySet[PositionRevision], filename: str) -> Any:
    rows = (RevisionSerializer(r).data for r in queryset.iterator(chunk_size=500))
    return csv_response(columns=list(RevisionSerializer().fields), rows=rows, filename=filename)


@extend_schema_view(
    list=extend_schema(
        summary="A position's revision history",
        description="Every saved state of the position, newest first (withdrawn ones too).",
        parameters=[FORMAT],
        responses={200: RevisionSerializer(many=True), **READ_ERRORS},
        examples=[example("A revision", REVISION_EXAMPLE)],
    )
)
class PositionRevisionViewSet(ApiViewSet):
    queryset = PositionRevision.objects.none()  # tells the schema the model
    serializer_class = RevisionSerializer
    ordering_fields = ("version", "created_at")
    ordering = ("-version",)
    csv_actions = frozenset({"list"})

    def list(self, request: Request, position_pk: int) -> Any:
        # One row by its key, checked against the user's roles: not the listing's
        # visibility query, whose prefetches a page of revisions does not use. Another
        # talk's position costs the same one query as a missing one, and gets the same 404.
        # (Not filtered by the user's talks in SQL: a list of a few hundred talk ids costs
        # the planner more than the lookup itself.)
        access = self.access
        position = (
            Position.objects.select_related("issue__talk", "party")
            .filter(pk=position_pk)
            .order_by()
            .first()
        )
        if position is None or not access.can_read(position.issue.talk_id, position.layer):
            raise NotFound()
        queryset = self.filter_queryset(selectors.position_revision_rows(position=position))
        if position.layer == Layer.ASSESSED:
            self.record_assessed_read(
                [position.issue.talk_id], f"revisions of position {position.pk}"
            )
        if self.wants_csv():
            return _revision_csv(
                queryset.select_related("issue__talk", "party"),
                f"position-{position.pk}-revisions.csv",
            )
        page = self.paginate_queryset(queryset)
        for revision in page:
            # Every row is of this position: its issue, talk and party are shared, not
            # joined and built again for each row.
            revision.issue = position.issue
            revision.party = position.party
        data = self.get_serializer(page, many=True).data
        return self.get_paginated_response(data)


@extend_schema_view(
    list=extend_schema(
        summary="Every change of every position",
        description=(
            "The revisions of all positions you may read (filter by talk, issue, party, "
            "layer, action and time): what moved, who moved it, and why."
        ),
        parameters=[FORMAT],
        responses={200: RevisionSerializer(many=True), **LIST_ERRORS},
        examples=[example("A revision", REVISION_EXAMPLE)],
    )
)
class RevisionViewSet(ApiViewSet):
    serializer_class = RevisionSerializer
    filterset_class = RevisionFilter
    ordering_fields = ("created_at", "version")
    ordering = ("-created_at",)
    csv_actions = frozenset({"list"})

    def get_queryset(self) -> QuerySet[PositionRevision]:
        return selectors.revision_list_visible(layers_by_talk=self.access.layers_by_talk)

    def list(self, request: Request) -> Any:
        queryset = self.filter_queryset(self.get_queryset())
        if self.wants_csv():
            self.record_assessed_rows(queryset, "issue__talk_id", "revisions CSV")
            return _revision_csv(queryset, "revisions.csv")
        return self.page_of(queryset, assessed_read="revisions")


# --- Sources --------------------------------------------------------------------------------


class SourceSerializer(serializers.ModelSerializer):
    talk = serializers.SlugField(source="talk.slug")
    url = serializers.CharField(help_text="Where it was published (a URL), or empty.")
    created_by = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = (
            "id",
            "talk",
            "title",
            "url",
            "publisher",
            "published_on",
            "reliability",
            "notes",
            "version",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields

    @extend_schema_field({"type": "string", "nullable": True})
    def get_created_by(self, source: Source) -> str | None:
        return source.created_by.get_username() if source.created_by_id else None


class _SourceContentSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True)
    url = serializers.CharField(required=False, allow_blank=True)
    publisher = serializers.CharField(required=False, allow_blank=True)
    published_on = serializers.DateField(required=False, allow_null=True)
    reliability = serializers.ChoiceField(Source.Reliability.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class SourceCreateSerializer(_SourceContentSerializer):
    talk = VisibleSlugField(
        choices=visible_talks,
        slug_field="slug",
        queryset=Talk.objects.none(),
        error_messages={"does_not_exist": "Unknown talk: {value}."},
    )


class SourceUpdateSerializer(_SourceContentSerializer):
    talk = serializers.CharField(required=False, help_text="Cannot change.")


SOURCE_EXAMPLE = {
    "id": 1,
    "talk": "gaza-ceasefire",
    "title": "Withdrawal dispute stalls the talks",
    "url": "https://news.example.org/gaza-talks",
    "publisher": "Example News",
    "published_on": "2026-10-15",
    "reliability": "medium",
    "notes": "",
    "version": 1,
    "created_by": "analyst",
    "created_at": "2026-10-15T08:00:00Z",
    "updated_at": "2026-10-15T08:00:00Z",
}


class SourceFilter(django_filters.FilterSet):
    talk = TalkFilter(field_name="talk")
    reliability = django_filters.ChoiceFilter(choices=Source.Reliability.choices)

    class Meta:
        model = Source
        fields: list[str] = []


def _source_input(base: SourceInput, data: dict[str, Any]) -> SourceInput:
    from dataclasses import replace

    names = ("title", "url", "publisher", "published_on", "reliability", "notes")
    return replace(base, **{n: data[n] for n in names if n in data})


@extend_schema_view(
    **list_and_retrieve(
        SourceSerializer,
        "A source",
        SOURCE_EXAMPLE,
        list_summary="List sources",
        retrieve_summary="Get a source",
    ),
    create=extend_schema(
        summary="Add a source",
        description="Analysts only.",
        request=SourceCreateSerializer,
        responses={201: SourceSerializer, **CREATE_ERRORS},
        examples=[
            example(
                "New source",
                {
                    "talk": "gaza-ceasefire",
                    "title": "Withdrawal dispute stalls the talks",
                    "url": "https://news.example.org/gaza-talks",
                    "reliability": "medium",
                },
                request=True,
            ),
            example("Created", SOURCE_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Replace a source's details",
        request=SourceUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: SourceSerializer, **WRITE_ERRORS},
        examples=[
            example("Replace", {"title": "Corrected title", "reliability": "high"}, request=True),
            example("Replaced", SOURCE_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Correct a source's details",
        request=SourceUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: SourceSerializer, **WRITE_ERRORS},
        examples=[
            example("Correct", {"reliability": "high"}, request=True),
            example("Corrected", SOURCE_EXAMPLE),
        ],
    ),
    destroy=extend_schema(
        summary="Remove a source",
        description="Refused (400) while a current position cites it.",
        parameters=[IF_MATCH],
        request=None,
        responses={204: None, **WRITE_ERRORS},
    ),
)
class SourceViewSet(ApiViewSet):
    serializer_class = SourceSerializer
    filterset_class = SourceFilter
    ordering_fields = ("id", "created_at", "updated_at", "title")
    ordering = ("-created_at",)

    def get_queryset(self) -> QuerySet[Source]:
        return selectors.source_list_for_talks(talk_ids=self.access.talk_ids)

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def _get(self, pk: int) -> Source:
        source = self.get_queryset().filter(pk=pk).first()
        if source is None:
            raise NotFound()
        return source

    def retrieve(self, request: Request, pk: int) -> Response:
        source = self._get(pk)
        return self.conditional(SourceSerializer(source).data, version_etag(source.version))

    def create(self, request: Request) -> Response:
        form = SourceCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        talk = form.validated_data["talk"]
        self.access.require_write(talk.pk)
        source = source_create(
            talk=talk,
            data=_source_input(SourceInput(title=""), form.validated_data),
            by=request.user,
        )
        source = self._get(source.pk)
        return Response(
            SourceSerializer(source).data,
            status=status.HTTP_201_CREATED,
            headers={
                "ETag": version_etag(source.version),
                "Location": request.build_absolute_uri(f"{source.pk}/"),
            },
        )

    def _editable(self, pk: int) -> tuple[Source, int]:
        source = self._get(pk)
        self.access.require_write(source.talk_id)
        based_on = if_match_version(self.request)
        if source.version != based_on:
            raise SourceConflict(instance=source, based_on_version=based_on)
        return source, based_on

    def _save(self, request: Request, pk: int, *, partial: bool) -> Response:
        source, based_on = self._editable(pk)
        form = SourceUpdateSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "talk" in data and data["talk"] != source.talk.slug:
            raise serializers.ValidationError({"talk": ["A source stays with its talk."]})
        base = (
            SourceInput(
                title=source.title,
                url=source.url,
                publisher=source.publisher,
                published_on=source.published_on,
                reliability=source.reliability,
                notes=source.notes,
            )
            if partial
            else SourceInput(title="")
        )
        updated = source_update(
            source=source,
            based_on_version=based_on,
            data=_source_input(base, data),
            by=request.user,
        )
        current = self._get(updated.pk)
        return Response(
            SourceSerializer(current).data, headers={"ETag": version_etag(current.version)}
        )

    def update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=True)

    def destroy(self, request: Request, pk: int) -> Response:
        source, based_on = self._editable(pk)
        source_delete(source=source, based_on_version=based_on, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def current_instance(self, instance: Any) -> Source:
        return Source.objects.select_related("talk", "created_by").get(pk=instance.pk)


__all__ = ["PositionRevisionViewSet", "PositionViewSet", "RevisionViewSet", "SourceViewSet"]
