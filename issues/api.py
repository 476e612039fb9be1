"""Issues with their scales and options, and gap summaries (current, as of, history).

Writes go through issues.services, which validate and raise per-field ValidationErrors,
or an IssueConflict (a StaleVersion) when If-Match names an old version of the issue.
"""

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiViewSet
from api.conditional import content_etag, if_match_version, version_etag
from api.csv_export import csv_response
from api.filters import (
    IssueFilter,
    StrictBooleanFilter,
    TalkFilter,
    VisibleSlugField,
    visible_talks,
)
from api.schema import (
    AS_OF,
    CREATE_ERRORS,
    FORMAT,
    IF_MATCH,
    READ_ERRORS,
    WRITE_ERRORS,
    example,
    list_and_retrieve,
)
from talks.models import Talk

from . import gaps, selectors
from .models import GapSummary, GapSummaryHistory, Issue, IssueOption, Layer, ScaleKind
from .services import (
    ISSUE_KIND_FIXED,
    IssueChanges,
    IssueConflict,
    OptionInput,
    issue_create,
    issue_option_add,
    issue_option_delete,
    issue_option_update,
    issue_options_reorder,
    issue_update,
)

ISSUE_KEY_FIXED = "An issue's key cannot change: scripts and links refer to it."
ISSUE_TALK_FIXED = "An issue stays in its talk."
OPTIONS_SEPARATE = "Change options through /options/ and /option-order/ of this issue."
NO_OPTION = "This issue has no option '{key}'."

# --- Issues ---------------------------------------------------------------------------------


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = IssueOption
        fields = ("key", "label", "description", "order")
        read_only_fields = fields


class IssueSerializer(serializers.ModelSerializer):
    talk = serializers.SlugField(source="talk.slug")
    options = OptionSerializer(many=True, help_text="In scale order (ordinal: low to high).")

    class Meta:
        model = Issue
        fields = (
            "id",
            "talk",
            "key",
            "title",
            "description",
            "priority",
            "order",
            "scale_kind",
            "scale_min",
            "scale_max",
            "unit",
            "max_label",
            "options",
            "version",
            "created_at",
            "updated_at",
        )
        read_only_fields = fields


ISSUE_EXAMPLE = {
    "id": 1,
    "talk": "gaza-ceasefire",
    "key": "withdrawal",
    "title": "Withdrawal of Israeli forces",
    "description": "How far and how fast Israeli forces leave Gaza.",
    "priority": 5,
    "order": 1,
    "scale_kind": "ordinal",
    "scale_min": None,
    "scale_max": None,
    "unit": "",
    "max_label": "",
    "options": [
        {"key": "none", "label": "No withdrawal", "description": "", "order": 0},
        {"key": "buffer-zone", "label": "Perimeter buffer zone", "description": "", "order": 1},
    ],
    "version": 2,
    "created_at": "2026-09-08T08:00:00Z",
    "updated_at": "2026-10-14T09:30:00Z",
}


class OptionInputSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=60)
    label = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class _IssueContentSerializer(serializers.Serializer):
    title = serializers.CharField(allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    priority = serializers.IntegerField(
        required=False,
        min_value=gaps.PRIORITY_MIN,
        max_value=gaps.PRIORITY_MAX,
        error_messages={
            "min_value": gaps.PRIORITY_OUT_OF_RANGE,
            "max_value": gaps.PRIORITY_OUT_OF_RANGE,
        },
    )
    order = serializers.IntegerField(required=False, min_value=0, max_value=2**31 - 1)
    scale_min = serializers.FloatField(required=False, allow_null=True)
    scale_max = serializers.FloatField(required=False, allow_null=True)
    unit = serializers.CharField(required=False, allow_blank=True)
    max_label = serializers.CharField(required=False, allow_blank=True)


class IssueCreateSerializer(_IssueContentSerializer):
    talk = VisibleSlugField(
        choices=visible_talks,
        slug_field="slug",
        queryset=Talk.objects.none(),
        error_messages={"does_not_exist": "Unknown talk: {value}."},
    )
    key = serializers.CharField(max_length=60)
    scale_kind = serializers.ChoiceField(ScaleKind.choices)
    options = OptionInputSerializer(many=True, required=False, max_length=100)


class IssueUpdateSerializer(_IssueContentSerializer):
    talk = serializers.CharField(required=False, help_text="Cannot change.")
    key = serializers.CharField(required=False, help_text="Cannot change.")
    scale_kind = serializers.CharField(required=False, help_text="Cannot change.")
    options = serializers.JSONField(required=False, help_text="Not changed here.")


class OptionOrderSerializer(serializers.Serializer):
    keys = serializers.ListField(
        child=serializers.CharField(max_length=60),
        max_length=100,
        help_text="Every option key of the issue exactly once, in the new order.",
    )


class OptionCreateSerializer(OptionInputSerializer):
    before = serializers.CharField(
        required=False, allow_null=True, help_text="Insert before this option (default: last)."
    )


class OptionUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    key = serializers.CharField(required=False, help_text="Cannot change.")


_CHANGE_FIELDS = (
    "title",
    "description",
    "priority",
    "order",
    "scale_min",
    "scale_max",
    "unit",
    "max_label",
)


class IssueFilterSet(django_filters.FilterSet):
    talk = TalkFilter(field_name="talk")
    scale_kind = django_filters.ChoiceFilter(choices=ScaleKind.choices)
    key = django_filters.CharFilter(field_name="key", label="The issue's key (with talk).")

    class Meta:
        model = Issue
        fields: list[str] = []


class _IssueWrites:
    """The lookups and checks every write of an issue (or its options) makes, in order:
    404 unseen, 403 not an analyst, 428 no If-Match, 412 stale."""

    access: Any
    request: Request

    def issue_for_write(self, pk: int) -> tuple[Issue, int]:
        issue = _visible_issues(self.access).filter(pk=pk).first()
        if issue is None:
            raise NotFound()
        self.access.require_write(issue.talk_id)
        based_on = if_match_version(self.request)
        if issue.version != based_on:
            raise IssueConflict(instance=issue, based_on_version=based_on)
        return issue, based_on

    def issue_response(self, issue: Issue, status_code: int = status.HTTP_200_OK) -> Response:
        current = _visible_issues(self.access).get(pk=issue.pk)
        return Response(
            IssueSerializer(current).data,
            status=status_code,
            headers={"ETag": version_etag(current.version)},
        )

    def stale_representation(self, exc: Any) -> tuple[Any, str]:
        current = _visible_issues(self.access).get(pk=exc.instance.pk)
        return IssueSerializer(current).data, version_etag(current.version)


def _visible_issues(access: Any) -> QuerySet[Issue]:
    return selectors.issue_list_for_talks(talk_ids=access.talk_ids)


@extend_schema_view(
    **list_and_retrieve(
        IssueSerializer,
        "An issue",
        ISSUE_EXAMPLE,
        list_summary="List issues",
        retrieve_summary="Get an issue with its scale and options",
    ),
    create=extend_schema(
        summary="Create an issue",
        description="Analysts only. Ordinal and categorical issues need at least two options.",
        request=IssueCreateSerializer,
        responses={201: IssueSerializer, **CREATE_ERRORS},
        examples=[
            example(
                "Numeric issue",
                {
                    "talk": "gaza-ceasefire",
                    "key": "aid-trucks",
                    "title": "Aid trucks per day",
                    "scale_kind": "numeric",
                    "scale_min": 0,
                    "scale_max": 1000,
                    "unit": "trucks/day",
                },
                request=True,
            ),
            example(
                "Ordinal issue",
                {
                    "talk": "gaza-ceasefire",
                    "key": "monitoring",
                    "title": "Ceasefire monitoring",
                    "scale_kind": "ordinal",
                    "options": [
                        {"key": "none", "label": "No monitors"},
                        {"key": "regional", "label": "Regional monitors"},
                        {"key": "un", "label": "UN mission"},
                    ],
                },
                request=True,
            ),
            example("Created", ISSUE_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Replace an issue's wording, priority or scale",
        description=(
            "Key, talk and scale kind cannot change; options change through their own "
            "endpoints. Narrowing a numeric scale is refused while a position lies outside."
        ),
        request=IssueUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example("Replace", {"title": "Withdrawal", "priority": 5}, request=True),
            example("Replaced", ISSUE_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Change an issue's wording, priority or scale",
        request=IssueUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example("Reprioritize", {"priority": 4}, request=True),
            example("Changed", ISSUE_EXAMPLE),
        ],
    ),
)
class IssueViewSet(_IssueWrites, ApiViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilterSet
    ordering_fields = ("id", "order", "priority", "created_at", "updated_at")
    ordering = ("order",)

    def get_queryset(self) -> QuerySet[Issue]:
        return _visible_issues(self.access)

    def list(self, request: Request) -> Response:
        return self.page_of(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, pk: int) -> Response:
        issue = self.get_queryset().filter(pk=pk).first()
        if issue is None:
            raise NotFound()
        return self.conditional(IssueSerializer(issue).data, version_etag(issue.version))

    def create(self, request: Request) -> Response:
        form = IssueCreateSerializer(data=request.data, context={"request": request})
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        talk = data.pop("talk")
        self.access.require_write(talk.pk)
        options = [OptionInput(**o) for o in data.pop("options", [])]
        issue = issue_create(talk=talk, options=options, by=request.user, **data)
        response = self.issue_response(issue, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(f"{issue.pk}/")
        return response

    def _save(self, request: Request, pk: int, *, partial: bool) -> Response:
        issue, based_on = self.issue_for_write(pk)
        form = IssueUpdateSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        errors = {}
        if "key" in data and data["key"] != issue.key:
            errors["key"] = [ISSUE_KEY_FIXED]
        if "talk" in data and data["talk"] != issue.talk.slug:
            errors["talk"] = [ISSUE_TALK_FIXED]
        if "scale_kind" in data and data["scale_kind"] != issue.scale_kind:
            errors["scale_kind"] = [ISSUE_KIND_FIXED]
        if "options" in data:
            errors["options"] = [OPTIONS_SEPARATE]
        if errors:
            raise serializers.ValidationError(errors)
        base = {f: getattr(issue, f) for f in _CHANGE_FIELDS} if partial else {}
        base.update({f: data[f] for f in _CHANGE_FIELDS if f in data})
        updated = issue_update(
            issue=issue, based_on_version=based_on, changes=IssueChanges(**base), by=request.user
        )
        return self.issue_response(updated)

    def update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=False)

    def partial_update(self, request: Request, pk: int) -> Response:
        return self._save(request, pk, partial=True)

    @extend_schema(
        summary="Reorder an issue's options",
        request=OptionOrderSerializer,
        parameters=[IF_MATCH],
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example("New order", {"keys": ["none", "buffer-zone", "phased"]}, request=True),
            example("Reordered", ISSUE_EXAMPLE),
        ],
    )
    def option_order(self, request: Request, pk: int) -> Response:
        issue, based_on = self.issue_for_write(pk)
        form = OptionOrderSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        issue_options_reorder(
            issue=issue,
            based_on_version=based_on,
            keys=form.validated_data["keys"],
            by=request.user,
        )
        return self.issue_response(issue)


@extend_schema_view(
    list=extend_schema(
        summary="An issue's options",
        responses={200: OptionSerializer(many=True), **READ_ERRORS},
        examples=[example("An option", ISSUE_EXAMPLE["options"][0])],
    ),
    retrieve=extend_schema(
        summary="One option of an issue",
        responses={200: OptionSerializer, **READ_ERRORS},
        examples=[example("An option", ISSUE_EXAMPLE["options"][0])],
    ),
    create=extend_schema(
        summary="Add an option to an issue's scale",
        description="Answers with the whole issue and its new ETag.",
        request=OptionCreateSerializer,
        parameters=[IF_MATCH],
        responses={201: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example(
                "Insert",
                {"key": "partial", "label": "Partial withdrawal", "before": "full"},
                request=True,
            ),
            example("The issue", ISSUE_EXAMPLE),
        ],
    ),
    update=extend_schema(
        summary="Relabel an option",
        description="The key stays (positions refer to it). Answers with the whole issue.",
        request=OptionUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example("Relabel", {"label": "Perimeter buffer zone (1 km)"}, request=True),
            example("The issue", ISSUE_EXAMPLE),
        ],
    ),
    partial_update=extend_schema(
        summary="Relabel an option",
        request=OptionUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[
            example("Relabel", {"label": "Perimeter buffer zone (1 km)"}, request=True),
            example("The issue", ISSUE_EXAMPLE),
        ],
    ),
    destroy=extend_schema(
        summary="Remove an option no position uses",
        parameters=[IF_MATCH],
        request=None,
        responses={200: IssueSerializer, **WRITE_ERRORS},
        examples=[example("The issue", ISSUE_EXAMPLE)],
    ),
)
class IssueOptionViewSet(_IssueWrites, ApiViewSet):
    queryset = IssueOption.objects.none()  # tells the schema the model; rows come per issue
    serializer_class = OptionSerializer
    ordering_fields = ()
    ordering = ("order",)

    def _issue(self, issue_pk: int) -> Issue:
        issue = _visible_issues(self.access).filter(pk=issue_pk).first()
        if issue is None:
            raise NotFound()
        return issue

    def _option(self, issue: Issue, key: str) -> IssueOption:
        option = next((o for o in issue.options.all() if o.key == key), None)
        if option is None:
            raise NotFound(NO_OPTION.format(key=key))
        return option

    def list(self, request: Request, issue_pk: int) -> Response:
        issue = self._issue(issue_pk)
        return self.page_of(self.filter_queryset(IssueOption.objects.filter(issue=issue)))

    def retrieve(self, request: Request, issue_pk: int, key: str) -> Response:
        option = self._option(self._issue(issue_pk), key)
        return Response(OptionSerializer(option).data)

    def create(self, request: Request, issue_pk: int) -> Response:
        issue, based_on = self.issue_for_write(issue_pk)
        form = OptionCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        issue_option_add(
            issue=issue,
            based_on_version=based_on,
            option=OptionInput(
                key=data["key"], label=data["label"], description=data.get("description", "")
            ),
            before_key=data.get("before"),
            by=request.user,
        )
        return self.issue_response(issue, status.HTTP_201_CREATED)

    def _relabel(self, request: Request, issue_pk: int, key: str, *, partial: bool) -> Response:
        issue, based_on = self.issue_for_write(issue_pk)
        option = self._option(issue, key)
        form = OptionUpdateSerializer(data=request.data, partial=partial)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        if "key" in data and data["key"] != option.key:
            raise serializers.ValidationError({"key": ["An option's key cannot change."]})
        issue_option_update(
            option=option,
            based_on_version=based_on,
            label=data.get("label", option.label),
            description=data.get("description", option.description if partial else ""),
            by=request.user,
        )
        return self.issue_response(issue)

    def update(self, request: Request, issue_pk: int, key: str) -> Response:
        return self._relabel(request, issue_pk, key, partial=False)

    def partial_update(self, request: Request, issue_pk: int, key: str) -> Response:
        return self._relabel(request, issue_pk, key, partial=True)

    def destroy(self, request: Request, issue_pk: int, key: str) -> Response:
        issue, based_on = self.issue_for_write(issue_pk)
        option = self._option(issue, key)
        issue_option_delete(option=option, based_on_version=based_on, by=request.user)
        return self.issue_response(issue)


# --- Gap summaries --------------------------------------------------------------------------


class GapSummarySerializer(serializers.Serializer):
    issue = serializers.IntegerField(source="issue_id")
    issue_key = serializers.SlugField(source="issue.key")
    issue_title = serializers.CharField(source="issue.title")
    talk = serializers.SlugField(source="issue.talk.slug")
    layer = serializers.ChoiceField(Layer.choices)
    status = serializers.ChoiceField(GapSummary.Status.choices)
    gap = serializers.FloatField(allow_null=True, help_text="0 to 1; 0 when a zone exists.")
    zone_width = serializers.FloatField(allow_null=True)
    demand_spread = serializers.FloatField(allow_null=True)
    narrative = serializers.CharField(allow_blank=True)
    figures = serializers.JSONField(
        help_text="All figures: zone, acceptable sets, blocking, bridging point, pairwise."
    )
    trend = serializers.JSONField(help_text="direction, delta and since (current only).")
    pending = serializers.BooleanField(
        help_text="A recomputation is due: the figures may be out of date."
    )
    requested_rev = serializers.IntegerField()
    computed_rev = serializers.IntegerField()
    requested_at = serializers.DateTimeField(allow_null=True)
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When these figures were computed (their age)."
    )

    def to_representation(self, instance: Any) -> Any:
        return super().to_representation(_gap_record(instance))


def _gap_record(row: GapSummary | GapSummaryHistory) -> dict[str, Any]:
    """A current summary, or a past one from history, in one shape."""
    record = {
        "issue_id": row.issue_id,
        "issue": row.issue,
        "layer": row.layer,
        "status": row.status,
        "gap": row.gap,
        "zone_width": row.zone_width,
        "demand_spread": row.demand_spread,
        "narrative": row.narrative,
        "figures": row.figures,
        "computed_at": row.computed_at,
    }
    if isinstance(row, GapSummaryHistory):
        return {
            **record,
            "trend": {},
            "pending": False,
            "requested_rev": row.rev,
            "computed_rev": row.rev,
            "requested_at": None,
        }
    return {
        **record,
        "trend": row.trend,
        "pending": row.pending or row.is_stale,
        "requested_rev": row.requested_rev,
        "computed_rev": row.computed_rev,
        "requested_at": row.requested_at,
    }


class GapHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = GapSummaryHistory
        fields = (
            "rev",
            "layer",
            "status",
            "gap",
            "zone_width",
            "demand_spread",
            "narrative",
            "figures",
            "computed_at",
        )
        read_only_fields = fields


GAP_EXAMPLE = {
    "issue": 1,
    "issue_key": "withdrawal",
    "issue_title": "Withdrawal of Israeli forces",
    "talk": "gaza-ceasefire",
    "layer": "declared",
    "status": "gap",
    "gap": 0.5,
    "zone_width": 0.0,
    "demand_spread": 1.0,
    "narrative": "Israel and Hamas are two steps apart on withdrawal.",
    "figures": {"status": "gap", "gap": 0.5, "blocking": {"amount": 2.0}},
    "trend": {"direction": "narrowed", "delta": -0.25, "since": "2026-10-14T09:30:05Z"},
    "pending": False,
    "requested_rev": 7,
    "computed_rev": 7,
    "requested_at": "2026-10-14T09:30:00Z",
    "computed_at": "2026-10-14T09:30:05Z",
}


class GapFilterSet(django_filters.FilterSet):
    talk = TalkFilter(field_name="issue__talk")
    issue = IssueFilter(field_name="issue")
    layer = django_filters.ChoiceFilter(choices=Layer.choices)
    status = django_filters.ChoiceFilter(choices=GapSummary.Status.choices)
    pending = StrictBooleanFilter(field_name="pending")

    class Meta:
        model = GapSummary
        fields: list[str] = []


class GapAsOfFilterSet(django_filters.FilterSet):
    talk = TalkFilter(field_name="issue__talk")
    issue = IssueFilter(field_name="issue")
    layer = django_filters.ChoiceFilter(choices=Layer.choices)
    status = django_filters.ChoiceFilter(choices=GapSummary.Status.choices)
    pending = StrictBooleanFilter(method="past_pending")

    def past_pending(self, queryset: QuerySet[Any], name: str, value: bool) -> QuerySet[Any]:
        # A summary from history was complete when stored: none of them is pending.
        return queryset.none() if value else queryset

    class Meta:
        model = GapSummaryHistory
        fields: list[str] = []


class GapHistoryFilterSet(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="computed_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="computed_at", lookup_expr="lt")

    class Meta:
        model = GapSummaryHistory
        fields: list[str] = []


LAYER_PATH = OpenApiParameter(
    "layer", OpenApiTypes.STR, OpenApiParameter.PATH, enum=Layer.values, description="The layer."
)


@extend_schema_view(
    **list_and_retrieve(
        GapSummarySerializer,
        "A summary",
        GAP_EXAMPLE,
        list_summary="List gap summaries",
        retrieve_summary="An issue's gap summary on one layer",
        list_description=(
            "The current summary of every issue and layer you may read; with `as_of`, the "
            "summaries as last computed before then. `pending` marks a summary being "
            "recomputed: its figures are `computed_at` old."
        ),
        list_parameters=[AS_OF, FORMAT],
        retrieve_parameters=[LAYER_PATH, AS_OF],
    ),
)
class GapSummaryViewSet(ApiViewSet):
    serializer_class = GapSummarySerializer
    ordering_fields = ("id", "issue_id", "layer", "status")
    ordering = ("issue_id", "layer")
    csv_actions = frozenset({"list"})
    as_of_actions = frozenset({"list", "retrieve"})

    def get_filterset_class(self) -> Any:
        if getattr(self, "request", None) is not None and "as_of" in self.request.query_params:
            return GapAsOfFilterSet
        return GapFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        as_of = self.as_of()
        layers = self.access.layers_by_talk
        if as_of is not None:
            return selectors.gap_summaries_as_of_visible(layers_by_talk=layers, as_of=as_of)
        return selectors.gap_summaries_visible(layers_by_talk=layers)

    def list(self, request: Request) -> Any:
        queryset = self.filter_queryset(self.get_queryset())
        if self.wants_csv():
            self.record_assessed_rows(queryset, "issue__talk_id", "gap summaries CSV")
            rows = (GapSummarySerializer(s).data for s in queryset.iterator(chunk_size=500))
            return csv_response(
                columns=list(GapSummarySerializer().fields), rows=rows, filename="gaps.csv"
            )
        return self.page_of(queryset, assessed_read="gap summaries")

    def retrieve(self, request: Request, issue_pk: int, layer: str) -> Response:
        summary = self.get_queryset().filter(issue_id=issue_pk, layer=layer).first()
        if summary is None:
            raise NotFound()
        data = GapSummarySerializer(summary).data
        response = self.conditional(data, content_etag(data))
        if response.status_code == status.HTTP_200_OK and layer == Layer.ASSESSED:
            self.record_assessed_read([summary.issue.talk_id], f"gap summary {summary.issue.key}")
        return response


@extend_schema_view(
    list=extend_schema(
        summary="An issue's gap history on one layer",
        description="Every computed state whose figures changed, oldest first (for trends).",
        parameters=[LAYER_PATH, FORMAT],
        responses={200: GapHistorySerializer(many=True), **READ_ERRORS},
        examples=[
            example(
                "A state",
                {
                    "rev": 7,
                    "layer": "declared",
                    "status": "gap",
                    "gap": 0.5,
                    "zone_width": 0.0,
                    "demand_spread": 1.0,
                    "narrative": "Israel and Hamas are two steps apart on withdrawal.",
                    "figures": {"status": "gap"},
                    "computed_at": "2026-10-14T09:30:05Z",
                },
            )
        ],
    )
)
class GapHistoryViewSet(ApiViewSet):
    queryset = GapSummaryHistory.objects.none()  # tells the schema the model
    serializer_class = GapHistorySerializer
    filterset_class = GapHistoryFilterSet
    ordering_fields = ("computed_at", "rev")
    ordering = ("computed_at",)
    csv_actions = frozenset({"list"})

    def list(self, request: Request, issue_pk: int, layer: str) -> Any:
        # One row by its key, checked against the user's roles: an issue of another talk
        # costs the same one query as one that does not exist, and gets the same 404.
        access = self.access
        issue = Issue.objects.filter(pk=issue_pk).only("talk_id", "key").order_by().first()
        if issue is None or not access.can_read(issue.talk_id, layer):
            raise NotFound()
        if layer == Layer.ASSESSED:
            self.record_assessed_read([issue.talk_id], f"gap history {issue.key}")
        queryset = self.filter_queryset(selectors.gap_history(issue_id=issue_pk, layer=layer))
        if self.wants_csv():
            rows = (GapHistorySerializer(h).data for h in queryset.iterator(chunk_size=500))
            return csv_response(
                columns=list(GapHistorySerializer().fields),
                rows=rows,
                filename=f"issue-{issue_pk}-{layer}-history.csv",
            )
        return self.page_of(queryset)
