import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse

from .context import (
    AuditContext,
    Interface,
    activate,
    clean_request_id,
    client_ip,
    deactivate,
    new_request_id,
)
from .models import AuditEvent

REQUEST_ID_HEADER = "X-Request-ID"

logger = logging.getLogger(__name__)


def _write(events: list[AuditEvent]) -> None:
    """Write the events kept for after the request (ATOMIC_REQUESTS has ended by now)."""
    for event in events:
        try:
            with transaction.atomic():
                event.save()
        except DatabaseError:
            logger.exception("Could not write the audit event %s", event)


def interface_for(path: str) -> str:
    if path.startswith("/api/"):
        return Interface.API
    if path.startswith("/admin/"):
        return Interface.ADMIN
    return Interface.WEB


class RequestContextMiddleware:
    """Give every request an id and make it, the user and the interface known to services.

    A sane incoming X-Request-ID (from a proxy or a client script) is kept, anything else is
    replaced; the id is echoed in the response's X-Request-ID and stored on audit events
    and log lines. Goes first in MIDDLEWARE so every response carries it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        after_request: list[AuditEvent] = []
        token = activate(
            AuditContext(
                interface=interface_for(request.path_info),
                request_id=request_id,
                request=request,
                ip_address=client_ip(request),
                after_request=after_request,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            deactivate(token)
            _write(after_request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
