"""What every API view shares: authentication, the JSON-only parser, strict query
parameters, cursor pagination, CSV negotiation, conditional GETs and the 412 body.

Views stay thin: a serializer checks the shape of the input, a service validates and
writes, and the exception handler (api.errors) turns what the service raises into the
API's one error shape.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.http import Http404
from django.utils.cache import patch_cache_control, patch_vary_headers
from rest_framework import fields, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.viewsets import GenericViewSet

from audit.services import audit_assessed_read
from issues.models import Layer
from talks.concurrency import StaleVersion
from talks.models import Talk

from .access import Access, TokenScope, access_for
from .auth import TokenAuthentication
from .conditional import none_match, version_etag
from .csv_export import CSVRenderer
from .errors import BadQuery
from .filters import ViewFilterBackend
from .pagination import ApiCursorPagination
from .parsers import LimitedJSONParser

AS_OF_INVALID = "Give a date and time in ISO 8601, e.g. 2026-10-01T12:00:00Z."
UNKNOWN_PARAMETER = "Unknown query parameter. This endpoint takes: {known}."
REPEATED_PARAMETER = "Give this parameter once."
UNKNOWN_ORDERING = "Unknown ordering '{field}'. Order by: {allowed} (prefix - to reverse)."
FORMAT_UNKNOWN = "Choose format {choices}."


def _talk_id(row: Any) -> int:
    issue = getattr(row, "issue", None)
    return issue.talk_id if issue is not None else row.talk_id


class StrictOrderingFilter(OrderingFilter):
    """Ordering by the view's allow-list only; anything else is a 400, not silently ignored.

    The row id always ends the ordering, so pages never skip or repeat rows.
    """

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> list[str]:
        allowed = list(getattr(view, "ordering_fields", ()) or ())
        raw = request.query_params.get(self.ordering_param) or None
        if raw is not None and not view.ordering_disabled:
            ordering = [term.strip() for term in raw.split(",")]
            for term in ordering:
                if not term or term.lstrip("-") not in allowed:
                    raise BadQuery(
                        {
                            self.ordering_param: [
                                UNKNOWN_ORDERING.format(field=term, allowed=", ".join(allowed))
                            ]
                        }
                    )
        else:
            ordering = list(view.get_default_ordering())
        if not any(term.lstrip("-") in ("id", "pk") for term in ordering):
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return ordering

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = list(getattr(view, "ordering_fields", ()) or ())
        if not allowed:
            return []
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": (
                    "Comma-separated fields to order by, each optionally prefixed with - "
                    f"for descending: {', '.join(allowed)}. Default: "
                    f"{', '.join(view.get_default_ordering())}."
                ),
                "schema": {"type": "string"},
            }
        ]


class ApiViewSet(GenericViewSet):
    """The base of every API endpoint: token or session sign-in, JSON bodies under the size
    limit, query parameters checked against what the action takes, cursor pages, CSV where
    `csv_actions` say, and the helpers for conditional answers and assessed-read records."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, TokenScope]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer, CSVRenderer]
    metadata_class = None  # OPTIONS: the schema at /api/schema/ describes every endpoint
    pagination_class = ApiCursorPagination
    filter_backends = [ViewFilterBackend, StrictOrderingFilter]
    ordering_fields: Sequence[str] = ("id",)
    ordering: Sequence[str] = ("id",)
    ordering_disabled = False
    # Actions that answer with a page of rows (and so take filters, ordering, cursors).
    list_actions: frozenset[str] = frozenset({"list"})
    csv_actions: frozenset[str] = frozenset()
    as_of_actions: frozenset[str] = frozenset()
    extra_query_params: Mapping[str, frozenset[str]] = {}

    @property
    def access(self) -> Access:
        return access_for(self.request)

    def get_default_ordering(self) -> Sequence[str]:
        return self.ordering

    def get_filterset_class(self) -> Any:
        return getattr(self, "filterset_class", None)

    # --- negotiation and query parameters ----------------------------------------------

    def get_renderers(self) -> list[Any]:
        if getattr(self, "action", None) in self.csv_actions:
            return [JSONRenderer(), CSVRenderer()]
        return [JSONRenderer()]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:  # ?format= naming a renderer this endpoint lacks
            if getattr(self, "action", None) is None:
                return super().perform_content_negotiation(request, force=True)
            choices = "json or csv" if self.action in self.csv_actions else "json"
            raise BadQuery(
                {api_settings.URL_FORMAT_OVERRIDE: [FORMAT_UNKNOWN.format(choices=choices)]}
            ) from exc

    def allowed_query_params(self) -> set[str]:
        allowed = {api_settings.URL_FORMAT_OVERRIDE}
        if self.action in self.list_actions:
            filterset = self.get_filterset_class()
            if filterset is not None:
                allowed |= set(filterset.base_filters)
            if self.ordering_fields and not self.ordering_disabled:
                allowed.add(api_settings.ORDERING_PARAM)
            paginator = self.paginator
            if paginator is not None:
                allowed |= {paginator.cursor_query_param, paginator.page_size_query_param}
        if self.action in self.as_of_actions:
            allowed.add("as_of")
        allowed |= self.extra_query_params.get(self.action, frozenset())
        return allowed

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if getattr(self, "action", None) in (None, "metadata"):
            # A method this endpoint lacks, or OPTIONS (no metadata_class): answered 405 next.
            return
        allowed = self.allowed_query_params()
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            known = ", ".join(sorted(allowed))
            raise BadQuery({name: [UNKNOWN_PARAMETER.format(known=known)] for name in unknown})
        repeated = sorted(k for k, v in request.query_params.lists() if len(v) > 1)
        if repeated:
            raise BadQuery({name: [REPEATED_PARAMETER] for name in repeated})

    def as_of(self) -> dt.datetime | None:
        raw = self.request.query_params.get("as_of")
        if raw is None:
            return None
        field = fields.DateTimeField(input_formats=["iso-8601"])
        try:
            return field.to_internal_value(raw)
        except serializers.ValidationError as exc:
            raise BadQuery({"as_of": [AS_OF_INVALID]}) from exc

    def wants_csv(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return renderer is not None and renderer.format == "csv"

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        # Errors are always JSON, even when the client asked for CSV.
        if (
            isinstance(response, Response)
            and response.status_code >= 400
            and getattr(request, "accepted_renderer", None) is not None
            and request.accepted_renderer.format != "json"
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        # What a user may see depends on who asks: no shared cache may keep an answer, and a
        # client's own cache revalidates it with the ETag each time.
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Authorization", "Cookie"))
        return response

    # --- responses -----------------------------------------------------------------------

    def page_of(
        self, queryset: Any, serializer_class: Any = None, *, assessed_read: str = ""
    ) -> Response:
        """A page of rows; with `assessed_read`, assessed rows on it are recorded as read."""
        serializer_class = serializer_class or self.get_serializer_class()
        page = self.paginate_queryset(queryset)
        if assessed_read:
            self.record_assessed_read(
                {_talk_id(row) for row in page if row.layer == Layer.ASSESSED}, assessed_read
            )
        data = serializer_class(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(data)

    def record_assessed_read(self, talk_ids: Iterable[int], what: str) -> None:
        """Log that the user is being shown the assessed layer of these talks (SECURITY.md:
        every response that shows it records one read per talk)."""
        ids = set(talk_ids)
        if not ids:
            return
        for talk in Talk.objects.filter(pk__in=ids).order_by("pk"):
            audit_assessed_read(user=self.request.user, talk=talk, what=what)

    def record_assessed_rows(self, queryset: Any, talk_path: str, what: str) -> None:
        """As record_assessed_read, for every row a queryset (an export) will show."""
        assessed = queryset.filter(layer=Layer.ASSESSED).order_by()
        self.record_assessed_read(assessed.values_list(talk_path, flat=True).distinct(), what)

    def conditional(
        self, data: Any, etag: str, *, status_code: int = status.HTTP_200_OK, **headers: str
    ) -> Response:
        """The representation with its ETag, or 304 when the client has it already."""
        if status_code == status.HTTP_200_OK and none_match(self.request, etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(data, status=status_code, headers={"ETag": etag, **headers})

    def stale_representation(self, exc: StaleVersion) -> tuple[Any, str]:
        """The current row for a 412 body, read fresh, and its ETag."""
        instance = self.current_instance(exc.instance)
        return self.get_serializer(instance).data, version_etag(instance.version)

    def current_instance(self, instance: Any) -> Any:
        return instance
