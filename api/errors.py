"""One JSON shape for every error the API answers, and the exceptions only the API raises.

Every 4xx body is ``{"code": ..., "detail": ..., "errors": {field: [message, ...]}}``.
Validation errors from the services (django's ValidationError, with one message per field)
become 400s; a stale version (talks.concurrency.StaleVersion) becomes a 412 carrying the
current representation, so a script can merge and retry without another request.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from talks.concurrency import StaleVersion

NON_FIELD = "non_field_errors"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_code = "precondition_required"
    default_detail = (
        "Send If-Match with the ETag of the version you edited (from its last GET or write)."
    )


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is larger than {limit} bytes."

    def __init__(self, limit: int) -> None:
        super().__init__(self.default_detail.format(limit=limit))


class BadQuery(exceptions.ValidationError):
    """A query parameter the endpoint does not know, or a value it cannot use."""

    top_code = "invalid_query"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as ``{"options[1].key": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            if isinstance(key, int):  # an item of a list of objects
                path = f"{prefix}[{key}]"
            else:
                name = NON_FIELD if key in ("__all__", NON_FIELD) and not prefix else str(key)
                path = f"{prefix}.{name}" if prefix else name
            for k, v in flatten_errors(value, path).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(detail, list | tuple):
        if all(isinstance(item, str) for item in detail):
            if detail:
                out.setdefault(prefix or NON_FIELD, []).extend(str(i) for i in detail)
        else:
            for i, item in enumerate(detail):
                if item:
                    for k, v in flatten_errors(item, f"{prefix}[{i}]").items():
                        out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or NON_FIELD, []).append(str(detail))
    return out


def _django_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return flatten_errors(exc.message_dict)
    return {NON_FIELD: list(exc.messages)}


def _summary(errors: Mapping[str, list[str]]) -> str:
    fields = list(errors)
    first = fields[0]
    message = errors[first][0]
    head = message if first == NON_FIELD else f"{first}: {message}"
    more = len(fields) - 1
    return head if not more else f"{head} (and {more} more field{'s' if more > 1 else ''})"


def error_body(code: str, detail: str, errors: Mapping[str, list[str]] | None = None) -> dict:
    return {"code": code, "detail": detail, "errors": dict(errors or {})}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    view = context.get("view")
    if isinstance(exc, StaleVersion):
        body = error_body("stale_version", str(exc))
        body["current_version"] = exc.current_version
        headers = {}
        render = getattr(view, "stale_representation", None)
        if render is not None:
            body["current"], headers["ETag"] = render(exc)
            body["current_version"] = int(headers["ETag"].strip('"'))
        # No rollback: the refused write saved nothing (the services check the version
        # before writing, in their own savepoint), and what the 412 shows may have to be
        # recorded as read (an assessed position).
        return Response(body, status=status.HTTP_412_PRECONDITION_FAILED, headers=headers)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_errors(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        exc = RequestTooLarge(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)

    response = exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail) or {NON_FIELD: ["Invalid input."]}
        response.data = error_body(getattr(exc, "top_code", "invalid"), _summary(errors), errors)
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response
