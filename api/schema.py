"""OpenAPI pieces shared by every endpoint: the error shape, conditional headers, examples."""

from collections.abc import Sequence
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers

API_DESCRIPTION = """
Parties' positions, red lines and the gaps between them, per talk: the same data the
pages show, for scripts.

**Authentication.** Send an API token as `Authorization: Token <token>`. Create and revoke
tokens at `/account/tokens/` or with `manage.py api_token`. Tokens are stored hashed,
expire, and can be read-only (a read-only token gets 403 `read_only_token` on any write).
A signed-in browser session works too (unsafe methods then need the CSRF token).

**Access.** Talk membership decides everything. A talk you are not a member of does not
exist for you: its objects answer 404 and appear in no list, count or filter (filtering by
its slug looks exactly like filtering by one that does not exist). Viewers read the
declared layer only; the assessed layer is hidden from them entirely. Mediators read both
layers. Analysts also create and change positions, issues and sources. Mediators and
analysts draft and change proposals; viewers read shared proposals only (and only their
declared-layer evaluation). Staff status grants no access to talks through the API: staff
see only the talks they are members of.

**Errors.** Every 4xx answer is JSON: `{"code": ..., "detail": ..., "errors": {field:
[message, ...]}}`. `code` is machine-readable (`invalid`, `invalid_query`, `parse_error`,
`not_authenticated`, `authentication_failed`, `permission_denied`, `read_only_token`,
`role`, `not_found`, `stale_version`, `precondition_required`, `request_too_large`, ...).
Nothing is saved when an error is answered.

**Concurrency.** Positions, issues (with their options), sources and proposals carry a
`version` and a strong `ETag` of it. Every PUT, PATCH and DELETE of them (and every change
of an issue's options or a proposal's terms) must send `If-Match` with the ETag it edited: without it the answer is
428; with a stale one, 412 with the current representation in `current`, and nothing
changes. GET answers 304 to a matching `If-None-Match` on details, gap summaries and the
dashboard.

**Lists** are cursor-paginated (`next` / `previous` links; `page_size` up to 500),
filtered by their documented parameters (an unknown parameter or value is a 400) and
ordered by an allow-list (`ordering`). `as_of=<ISO 8601 datetime>` on positions, gap
summaries and the dashboard answers from history as it stood then.

**CSV.** Positions, revisions, gap summaries and gap history also come as CSV, streamed
(`Accept: text/csv` or `?format=csv`). A cell holds what the JSON holds: empty for null,
`true`/`false`, numbers, text, lists and objects as JSON. A text cell starting with
`= + - @`, a tab, a carriage return or an apostrophe gets a leading apostrophe, so no
spreadsheet runs it as a formula; remove one leading apostrophe to get the value back.

**Limits.** Bodies over 256 KiB are refused (413). Requests are throttled per user (and,
signed out, per address): 429 `throttled` with a `Retry-After` header. Every response that
shows the assessed layer is recorded in the talk's audit log.

**Gap summaries** are recomputed in the background after each change of a position:
`pending` is true while a newer computation is due (`computed_rev < requested_rev`), and
`computed_at` tells how old the figures are.
""".strip()


# Lists whose items may be null (the dashboard's one cell per principal, null where the
# principal has no position): drf-spectacular cannot say so of a list's items itself.
NULLABLE_ITEMS = {("DashboardIssue", "positions")}


def describe_api(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Schema post-processing hook (for the view and the command alike): the long
    description, and nullable list items."""
    result.setdefault("info", {})["description"] = API_DESCRIPTION
    components = result.get("components", {}).get("schemas", {})
    for component, field in NULLABLE_ITEMS:
        prop = components[component]["properties"][field]
        ref = prop["items"]
        prop["items"] = {"allOf": [ref], "nullable": True} if "$ref" in ref else ref
    return result


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. `invalid`.")
    detail = serializers.CharField(help_text="One sentence for people.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field (`non_field_errors` for the whole input).",
    )


class ConflictSerializer(ErrorSerializer):
    current_version = serializers.IntegerField()
    current = serializers.JSONField(
        help_text="The current representation, as a GET of the resource would return it."
    )


def _error(description: str, code: str, detail: str, errors: dict | None = None) -> Any:
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(
                code,
                value={"code": code, "detail": detail, "errors": errors or {}},
                response_only=True,
            )
        ],
    )


ERROR_400 = _error(
    "Invalid input or query parameter; nothing was saved.",
    "invalid",
    "demand: This value lies outside the issue's scale.",
    {"demand": ["This value lies outside the issue's scale."]},
)
ERROR_401 = _error(
    "No credentials, or a token that is unknown, revoked or expired.",
    "not_authenticated",
    "Authentication credentials were not provided.",
)
ERROR_403 = _error(
    "A member without the right to do this, or a read-only token.",
    "role",
    "Only analysts of this talk can change its positions, issues and sources.",
)
ERROR_404 = _error("No such object among the talks you belong to.", "not_found", "Not found.")
ERROR_412 = OpenApiResponse(
    response=ConflictSerializer,
    description="If-Match names a version that is no longer current; nothing changed.",
    examples=[
        OpenApiExample(
            "stale_version",
            value={
                "code": "stale_version",
                "detail": (
                    "This position was changed by someone else: you edited version 3, "
                    "the current version is 4."
                ),
                "errors": {},
                "current_version": 4,
                "current": {"id": 12, "version": 4},
            },
            response_only=True,
        )
    ],
)
ERROR_413 = _error(
    "The body is over the size limit.",
    "request_too_large",
    "The request body is larger than 262144 bytes.",
)
ERROR_415 = _error(
    "The body is not JSON.",
    "unsupported_media_type",
    'Unsupported media type "text/plain" in request.',
)
ERROR_428 = _error(
    "If-Match is missing.",
    "precondition_required",
    "Send If-Match with the ETag of the version you edited (from its last GET or write).",
)
ERROR_429 = _error(
    "Too many requests from this user (or, signed out, this address); see Retry-After.",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
)
NOT_MODIFIED = OpenApiResponse(description="Not modified: your copy (If-None-Match) is current.")

READ_ERRORS = {400: ERROR_400, 401: ERROR_401, 404: ERROR_404, 429: ERROR_429}
LIST_ERRORS = {400: ERROR_400, 401: ERROR_401, 429: ERROR_429}
CREATE_ERRORS = {
    400: ERROR_400,
    401: ERROR_401,
    403: ERROR_403,
    413: ERROR_413,
    415: ERROR_415,
    429: ERROR_429,
}
WRITE_ERRORS = {
    **CREATE_ERRORS,
    404: ERROR_404,
    412: ERROR_412,
    428: ERROR_428,
}

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version being changed, e.g. `"3"`.',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag you hold; answered 304 if it is still current.",
)
AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    OpenApiParameter.QUERY,
    description="Answer from history as it stood at this moment (ISO 8601).",
)
FORMAT = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["json", "csv"],
    description="`csv` for a streamed CSV of every matching row (or send `Accept: text/csv`).",
)
CHANGE_NOTE = OpenApiParameter(
    "note",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    description="The change note (required), unless the JSON body gives `note`.",
)


def example(name: str, value: Any, *, request: bool = False, summary: str = "") -> OpenApiExample:
    return OpenApiExample(
        name,
        value=value,
        summary=summary or name,
        request_only=request,
        response_only=not request,
    )


def list_and_retrieve(
    serializer: Any,
    name: str,
    value: Any,
    *,
    list_summary: str,
    retrieve_summary: str,
    list_description: str | None = None,
    list_parameters: Sequence[Any] = (),
    retrieve_parameters: Sequence[Any] = (),
) -> dict[str, Any]:
    """The schema of a read endpoint's two standard actions: a page of rows, and one row that
    answers 304 to a current If-None-Match. Spread into extend_schema_view(...)."""
    return {
        "list": extend_schema(
            summary=list_summary,
            description=list_description,
            parameters=list(list_parameters) or None,
            responses={200: serializer(many=True), **LIST_ERRORS},
            examples=[example(name, value)],
        ),
        "retrieve": extend_schema(
            summary=retrieve_summary,
            parameters=[*retrieve_parameters, IF_NONE_MATCH],
            responses={200: serializer, 304: NOT_MODIFIED, **READ_ERRORS},
            examples=[example(name, value)],
        ),
    }
