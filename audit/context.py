"""Who is acting, through which interface, under which request id.

The request middleware (audit.middleware) sets this for every request; management
commands, imports and Celery tasks set it for their run. Services read it, so the
attribution of a write needs no extra parameter on their signatures.

This module imports nothing that needs configured settings: it can be used anywhere.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.http import HttpRequest


class Interface(models.TextChoices):
    """Where a change came from, recorded on every revision and audit event."""

    WEB = "web", "Web"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Import"
    COMMAND = "command", "Management command"


# An incoming X-Request-ID is kept only if it is short and plain, so it can be logged and
# searched without escaping; anything else is replaced by a fresh id.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")

_UNSET: Any = object()


@dataclass(frozen=True)
class AuditContext:
    interface: str
    request_id: str = ""
    # The user is read from the request when an event is recorded, not when the request
    # starts: API authentication (tokens) happens inside the view.
    request: HttpRequest | None = None
    user: Any = None
    ip_address: str | None = None

    @property
    def actor(self) -> Any:
        """The signed-in user acting, or None for the system."""
        if self.user is not None:
            return self.user
        user = getattr(self.request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


_current: ContextVar[AuditContext | None] = ContextVar("redline_audit_context", default=None)
_process_ids: dict[int, str] = {}


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str | None:
    """The incoming request id if it is sane, else None."""
    if value and REQUEST_ID_PATTERN.fullmatch(value):
        return value
    return None


def _process_request_id() -> str:
    # Outside any request or task (a management command, a shell): one id per process, so
    # every write of one command run shares it.
    pid = os.getpid()
    if pid not in _process_ids:
        _process_ids[pid] = f"cmd-{new_request_id()}"
    return _process_ids[pid]


def current() -> AuditContext:
    ctx = _current.get()
    if ctx is None:
        return AuditContext(interface=Interface.COMMAND, request_id=_process_request_id())
    return ctx


def current_request_id() -> str:
    return current().request_id


@contextmanager
def audit_context(
    *,
    interface: str | None = None,
    request_id: str | None = None,
    user: Any = _UNSET,
    request: HttpRequest | None = _UNSET,
    ip_address: str | None = _UNSET,
) -> Iterator[AuditContext]:
    """Run a block under another interface, request id or acting user.

    Unnamed fields keep their current values, so `audit_context(interface="import")` in a
    command keeps the command's request id.
    """
    ctx = current()
    changes: dict[str, Any] = {}
    if interface is not None:
        changes["interface"] = interface
    if request_id is not None:
        changes["request_id"] = request_id
    if user is not _UNSET:
        changes["user"] = user
    if request is not _UNSET:
        changes["request"] = request
    if ip_address is not _UNSET:
        changes["ip_address"] = ip_address
    token = _current.set(replace(ctx, **changes))
    try:
        yield _current.get()  # type: ignore[misc]
    finally:
        _current.reset(token)


def activate(ctx: AuditContext) -> Any:
    """Set the context for code that cannot use a with-block (signal pairs); see deactivate."""
    return _current.set(ctx)


def deactivate(token: Any) -> None:
    _current.reset(token)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the address the trusted proxies saw.

    With PROXY_COUNT proxies in front (each appending to X-Forwarded-For), the client is the
    PROXY_COUNT-th entry from the right; entries further left are whatever the client sent.
    """
    from django.conf import settings

    address = request.META.get("REMOTE_ADDR", "")
    proxies = int(getattr(settings, "PROXY_COUNT", 0))
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            address = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record, so a log line can be tied to its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        record.request_id = ctx.request_id if ctx is not None else "-"
        return True
