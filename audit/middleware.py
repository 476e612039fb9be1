from collections.abc import Callable

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

REQUEST_ID_HEADER = "X-Request-ID"


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
        token = activate(
            AuditContext(
                interface=interface_for(request.path_info),
                request_id=request_id,
                request=request,
                ip_address=client_ip(request),
            )
        )
        try:
            response = self.get_response(request)
        finally:
            deactivate(token)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
