"""Talks with their parties, rounds, parties, and the talk dashboard, for scripts.

The dashboard is the one read the pages render too (talks.dashboard.talk_dashboard). Its
serialized payload is cached under the talk's revision token, which every write renews
after commit, so a conditional GET is answered 304 without a query beyond the membership.
"""

from typing import Any

import django_filters
from django.core.cache import cache
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.access import access_for
from api.base import ApiViewSet
from api.conditional import content_etag, key_etag, none_match
from api.errors import BadQuery
from api.filters import TalkFilter
from api.schema import (
    AS_OF,
    IF_NONE_MATCH,
    NOT_MODIFIED,
    READ_ERRORS,
    example,
    list_and_retrieve,
)
from audit.services import audit_assessed_read
from issues.models import Layer

from . import selectors
from .dashboard import Dashboard, talk_dashboard
from .models import Party, Round, Talk, TalkParty
from .services import talk_revision, talk_revision_with

# Bump when the dashboard payload's shape changes, so no cached payload of the old shape
# (or an ETag for one) is ever served.
DASHBOARD_FORMAT = 1
DASHBOARD_CACHE_SECONDS = 3600
LAYER_UNKNOWN = "Choose a layer: declared or assessed."

# --- Talks ----------------------------------------------------------------------------------


class TalkPartySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="party.pk")
    name = serializers.CharField(source="party.name")
    short_name = serializers.CharField(source="party.short_name")
    role = serializers.ChoiceField(TalkParty.Role.choices)


class TalkSerializer(serializers.ModelSerializer):
    role = serializers.CharField(source="my_role", help_text="Your role in this talk.")
    parties = TalkPartySerializer(source="talk_parties", many=True)
    issue_count = serializers.IntegerField()
    zone_count = serializers.IntegerField(help_text="Issues with a zone, declared layer.")
    gap_count = serializers.IntegerField(help_text="Issues with a gap, declared layer.")
    last_change = serializers.DateTimeField(
        source="visible_last_change",
        allow_null=True,
        help_text="Last change of a position on a layer you may read.",
    )

    class Meta:
        model = Talk
        fields = (
            "slug",
            "title",
            "description",
            "status",
            "started_on",
            "ended_on",
            "role",
            "parties",
            "issue_count",
            "zone_count",
            "gap_count",
            "last_change",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


TALK_EXAMPLE = {
    "slug": "gaza-ceasefire",
    "title": "Gaza ceasefire talks",
    "description": "Indirect talks between Israel and Hamas on a ceasefire in Gaza.",
    "status": "stalled",
    "started_on": "2026-09-08",
    "ended_on": None,
    "role": "analyst",
    "parties": [
        {"id": 1, "name": "Israel", "short_name": "ISR", "role": "principal"},
        {"id": 3, "name": "Egypt", "short_name": "EGY", "role": "mediator"},
    ],
    "issue_count": 5,
    "zone_count": 0,
    "gap_count": 5,
    "last_change": "2026-10-14T09:30:00Z",
    "created_at": "2026-09-08T08:00:00Z",
    "updated_at": "2026-10-14T09:30:00Z",
}


class TalkFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Talk.Status.choices)

    class Meta:
        model = Talk
        fields: list[str] = []


@extend_schema_view(
    **list_and_retrieve(
        TalkSerializer,
        "A talk",
        TALK_EXAMPLE,
        list_summary="Your talks",
        retrieve_summary="A talk with its parties and their roles",
        list_description="The talks you are a member of (staff see no others), with their parties.",
    ),
)
class TalkViewSet(ApiViewSet):
    serializer_class = TalkSerializer
    filterset_class = TalkFilterSet
    lookup_field = "slug"
    ordering_fields = ("title", "slug", "created_at")
    ordering = ("title",)

    def get_queryset(self) -> QuerySet[Talk]:
        return selectors.talk_list_with_parties(
            user=self.request.user, layers_by_talk=self.access.layers_by_talk
        )

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, slug: str) -> Response:
        talk = self.get_queryset().filter(slug=slug).first()
        if talk is None:
            raise NotFound()
        data = TalkSerializer(talk).data
        return self.conditional(data, content_etag(data))


# --- Rounds ---------------------------------------------------------------------------------


class RoundSerializer(serializers.ModelSerializer):
    talk = serializers.SlugField(source="talk.slug")

    class Meta:
        model = Round
        fields = ("id", "talk", "number", "title", "place", "starts_on", "ends_on", "notes")
        read_only_fields = fields


ROUND_EXAMPLE = {
    "id": 2,
    "talk": "gaza-ceasefire",
    "number": 2,
    "title": "Withdrawal round",
    "place": "Doha",
    "starts_on": "2026-10-13",
    "ends_on": "2026-10-16",
    "notes": "Talks stall on the withdrawal map.",
}


class RoundFilterSet(django_filters.FilterSet):
    talk = TalkFilter(field_name="talk")

    class Meta:
        model = Round
        fields: list[str] = []


@extend_schema_view(
    **list_and_retrieve(
        RoundSerializer,
        "A round",
        ROUND_EXAMPLE,
        list_summary="Rounds of your talks",
        retrieve_summary="A round",
    ),
)
class RoundViewSet(ApiViewSet):
    serializer_class = RoundSerializer
    filterset_class = RoundFilterSet
    ordering_fields = ("starts_on", "number", "id")
    ordering = ("starts_on",)

    def get_queryset(self) -> QuerySet[Round]:
        return selectors.round_list_for_talks(talk_ids=self.access.talk_ids)

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, pk: int) -> Response:
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound()
        data = RoundSerializer(found).data
        return self.conditional(data, content_etag(data))


# --- Parties --------------------------------------------------------------------------------


class PartyRoleSerializer(serializers.Serializer):
    talk = serializers.SlugField(source="talk.slug")
    role = serializers.ChoiceField(TalkParty.Role.choices)


class PartySerializer(serializers.ModelSerializer):
    talks = PartyRoleSerializer(
        source="visible_roles", many=True, help_text="Its roles in your talks."
    )

    class Meta:
        model = Party
        fields = ("id", "name", "short_name", "description", "talks")
        read_only_fields = fields


PARTY_EXAMPLE = {
    "id": 1,
    "name": "Israel",
    "short_name": "ISR",
    "description": "",
    "talks": [{"talk": "gaza-ceasefire", "role": "principal"}],
}


class PartyFilterSet(django_filters.FilterSet):
    talk = TalkFilter(field_name="talk_roles__talk", label="Parties of this talk (its slug).")
    role = django_filters.ChoiceFilter(
        field_name="talk_roles__role", choices=TalkParty.Role.choices, label="With this role."
    )

    class Meta:
        model = Party
        fields: list[str] = []

    # Talk and role must hold for the same role row, and that row must be in a talk the
    # user belongs to (a role elsewhere is not theirs to see), so one filter() does it all.
    def filter_queryset(self, queryset: QuerySet[Party]) -> QuerySet[Party]:
        talk, role = self.form.cleaned_data.get("talk"), self.form.cleaned_data.get("role")
        if talk is None and not role:
            return queryset
        condition = Q(talk_roles__talk_id__in=access_for(self.request).talk_ids)
        if talk is not None:
            condition &= Q(talk_roles__talk=talk)
        if role:
            condition &= Q(talk_roles__role=role)
        return queryset.filter(condition)


@extend_schema_view(
    **list_and_retrieve(
        PartySerializer,
        "A party",
        PARTY_EXAMPLE,
        list_summary="Parties to your talks",
        retrieve_summary="A party and its roles in your talks",
    ),
)
class PartyViewSet(ApiViewSet):
    serializer_class = PartySerializer
    filterset_class = PartyFilterSet
    ordering_fields = ("name", "id")
    ordering = ("name",)

    def get_queryset(self) -> QuerySet[Party]:
        return selectors.party_list_for_talks(talk_ids=self.access.talk_ids)

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, pk: int) -> Response:
        found = self.get_queryset().filter(pk=pk).first()
        if found is None:
            raise NotFound()
        data = PartySerializer(found).data
        return self.conditional(data, content_etag(data))


# --- Dashboard ------------------------------------------------------------------------------


@extend_schema_field(
    {"oneOf": [{"type": "number"}, {"type": "string"}], "nullable": True},
)
class _ScaleValue(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


class DashboardCellSerializer(serializers.Serializer):
    party = serializers.IntegerField(source="party_id")
    party_name = serializers.CharField(source="party")
    position = serializers.IntegerField(source="position_id")
    version = serializers.IntegerField()
    demand = _ScaleValue()
    demand_label = serializers.CharField()
    red_line = _ScaleValue()
    red_line_label = serializers.CharField()
    acceptable = serializers.ListField(child=serializers.CharField())
    priority = serializers.IntegerField()
    confidence = serializers.CharField()
    status = serializers.CharField()
    rationale = serializers.CharField()
    conditions = serializers.CharField()
    updated_at = serializers.DateTimeField()
    updated_by = serializers.CharField(allow_null=True)


class DashboardSummarySerializer(serializers.Serializer):
    status = serializers.CharField()
    gap = serializers.FloatField(allow_null=True)
    zone_width = serializers.FloatField(allow_null=True)
    demand_spread = serializers.FloatField(allow_null=True)
    narrative = serializers.CharField()
    figures = serializers.JSONField()
    trend = serializers.JSONField()
    blocking_parties = serializers.ListField(child=serializers.CharField())
    pending = serializers.BooleanField(help_text="Being recomputed: the figures may be old.")
    computed_at = serializers.DateTimeField(allow_null=True)
    computed_rev = serializers.IntegerField()
    requested_rev = serializers.IntegerField()


class DashboardOptionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class DashboardIssueSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="issue.pk")
    key = serializers.CharField(source="issue.key")
    title = serializers.CharField(source="issue.title")
    priority = serializers.IntegerField(source="issue.priority")
    scale_kind = serializers.CharField(source="issue.scale_kind")
    scale_min = serializers.FloatField(source="issue.scale_min", allow_null=True)
    scale_max = serializers.FloatField(source="issue.scale_max", allow_null=True)
    unit = serializers.CharField(source="issue.unit")
    max_label = serializers.CharField(source="issue.max_label")
    options = DashboardOptionSerializer(many=True)
    positions = serializers.ListField(
        source="cells",
        child=DashboardCellSerializer(allow_null=True),
        help_text="One per principal, in the order of `principals`; null where none.",
    )
    summary = DashboardSummarySerializer(allow_null=True)


class BlockingIssueSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    gap = serializers.FloatField()
    priority = serializers.IntegerField()
    weight = serializers.FloatField(help_text="gap x priority, the ranking.")


class RollupSerializer(serializers.Serializer):
    with_zone = serializers.ListField(child=serializers.CharField())
    blocking = BlockingIssueSerializer(many=True, help_text="Issues with a gap, worst first.")
    insufficient = serializers.ListField(child=serializers.CharField())
    deal_feasible = serializers.BooleanField(help_text="Every issue has a zone.")
    zone_count = serializers.IntegerField()
    gap_count = serializers.IntegerField()
    insufficient_count = serializers.IntegerField()


class DashboardLayerSerializer(serializers.Serializer):
    issues = DashboardIssueSerializer(source="rows", many=True)
    rollup = RollupSerializer()
    last_change = serializers.DateTimeField(allow_null=True)
    pending = serializers.BooleanField(help_text="Some summary is being recomputed.")


class DashboardLayersSerializer(serializers.Serializer):
    declared = DashboardLayerSerializer(required=False)
    assessed = DashboardLayerSerializer(required=False, help_text="Analysts and mediators only.")


class PrincipalSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    name = serializers.CharField()
    short_name = serializers.CharField()


class DashboardTalkSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    title = serializers.CharField()
    status = serializers.CharField()


class DashboardSerializer(serializers.Serializer):
    talk = DashboardTalkSerializer()
    as_of = serializers.DateTimeField(allow_null=True)
    principals = PrincipalSerializer(many=True)
    layers = DashboardLayersSerializer()


DASHBOARD_EXAMPLE = {
    "talk": {"slug": "gaza-ceasefire", "title": "Gaza ceasefire talks", "status": "stalled"},
    "as_of": None,
    "principals": [
        {"id": 2, "name": "Hamas", "short_name": "HAM"},
        {"id": 1, "name": "Israel", "short_name": "ISR"},
    ],
    "layers": {
        "declared": {
            "issues": [
                {
                    "id": 1,
                    "key": "withdrawal",
                    "title": "Withdrawal of Israeli forces",
                    "priority": 5,
                    "scale_kind": "ordinal",
                    "scale_min": None,
                    "scale_max": None,
                    "unit": "",
                    "max_label": "",
                    "options": [{"key": "none", "label": "No withdrawal"}],
                    "positions": [None, None],
                    "summary": None,
                }
            ],
            "rollup": {
                "with_zone": [],
                "blocking": [],
                "insufficient": [],
                "deal_feasible": False,
                "zone_count": 0,
                "gap_count": 0,
                "insufficient_count": 0,
            },
            "last_change": None,
            "pending": False,
        }
    },
}

LAYER_QUERY = OpenApiParameter(
    "layer",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=Layer.values,
    description="Only this layer (default: every layer you may read).",
)


def _dashboard_data(talk: Talk, layers: tuple[str, ...], as_of: Any) -> dict[str, Any]:
    boards: dict[str, Dashboard] = {
        layer: talk_dashboard(talk=talk, layer=layer, as_of=as_of) for layer in layers
    }
    first = next(iter(boards.values()))
    return DashboardSerializer(
        {
            "talk": talk,
            "as_of": as_of,
            "principals": first.principals,
            "layers": boards,
        }
    ).data


@extend_schema_view(
    retrieve=extend_schema(
        summary="The talk dashboard",
        description=(
            "Every issue x principal x layer you may read, each issue's current summary "
            "(with its `pending` mark and age) and the talk-level roll-up, in one response. "
            "With `as_of`, as it stood then."
        ),
        parameters=[LAYER_QUERY, AS_OF, IF_NONE_MATCH],
        responses={200: DashboardSerializer, 304: NOT_MODIFIED, **READ_ERRORS},
        examples=[example("A dashboard", DASHBOARD_EXAMPLE)],
    )
)
class TalkDashboardViewSet(ApiViewSet):
    serializer_class = DashboardSerializer

    as_of_actions = frozenset({"retrieve"})
    extra_query_params = {"retrieve": frozenset({"layer"})}

    def retrieve(self, request: Request, slug: str) -> Any:
        # Membership, revision token and (unless it is a 304) the payload come from the
        # cache: an unchanged dashboard is answered without touching a table.
        access = selectors.talk_access_remembered(user=request.user, slug=slug)
        talk_id = access.talk_id
        visible = selectors.layers_for_role(access.role)
        wanted = request.query_params.get("layer")
        if wanted is not None and wanted not in Layer.values:
            raise BadQuery({"layer": [LAYER_UNKNOWN]})
        if wanted is not None and wanted not in visible:
            raise NotFound()
        layers = (wanted,) if wanted else visible
        as_of = self.as_of()
        if as_of is not None:
            talk = Talk.objects.get(pk=talk_id)
            data = _dashboard_data(talk, layers, as_of)
            response = self.conditional(data, content_etag(data))
            if response.status_code == 200:
                self._record(talk, layers, "dashboard as of " + as_of.isoformat())
            return response

        which = (DASHBOARD_FORMAT, talk_id, ",".join(layers), ",".join(visible))
        key = "api:dashboard:" + ":".join(map(str, which))
        if request.headers.get("If-None-Match"):
            # Likely answered 304: only the revision token is read, not the payload.
            revision, cached = talk_revision(talk_id=talk_id, layers=layers), None
        else:
            revision, cached = talk_revision_with(talk_id=talk_id, key=key, layers=layers)
        etag = key_etag(DASHBOARD_FORMAT, talk_id, revision, *which[2:])
        if none_match(request, etag):
            return Response(status=304, headers={"ETag": etag})
        if cached is None:
            cached = cache.get(key)
        # The payload is stored with the revision it was built at: any other is stale.
        talk = None
        if cached is not None and cached[0] == revision:
            body = cached[1]
        else:
            talk = Talk.objects.get(pk=talk_id)
            body = JSONRenderer().render(_dashboard_data(talk, layers, None))
            cache.set(key, (revision, body), timeout=DASHBOARD_CACHE_SECONDS)
        # The record needs the talk's id and title only, which the membership lookup gave.
        self._record(talk or Talk(pk=talk_id, title=access.title), layers, "dashboard")
        response = HttpResponse(body, content_type="application/json")
        response["ETag"] = etag
        return response

    def _record(self, talk: Talk, layers: tuple[str, ...], what: str) -> None:
        # A 304 shows nothing new, so only full answers are recorded as reads.
        if Layer.ASSESSED in layers:
            audit_assessed_read(user=self.request.user, talk=talk, what=what)


__all__ = ["PartyViewSet", "RoundViewSet", "TalkDashboardViewSet", "TalkViewSet"]
