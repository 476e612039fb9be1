from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

from .errors import BadQuery

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
INVALID_CURSOR = "Invalid cursor: follow the next or previous link as given."
PAGE_SIZE_INVALID = f"Enter a whole number from 1 to {MAX_PAGE_SIZE}."


class ApiCursorPagination(CursorPagination):
    """Opaque cursors: pages stay consistent while rows are added, and cost no COUNT."""

    page_size = PAGE_SIZE
    max_page_size = MAX_PAGE_SIZE
    page_size_query_param = "page_size"
    ordering = "id"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise BadQuery({"page_size": [PAGE_SIZE_INVALID]})
        return int(raw)

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except Exception as exc:
            raise BadQuery({"cursor": [INVALID_CURSOR]}) from exc

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        try:
            return super().paginate_queryset(queryset, request, view)
        except (ValueError, DjangoValidationError) as exc:
            # A cursor edited by hand can hold a position of the wrong type.
            raise BadQuery({"cursor": [INVALID_CURSOR]}) from exc

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
                param["description"] = (
                    f"Rows per page (default {PAGE_SIZE}, at most {MAX_PAGE_SIZE})."
                )
        return params
