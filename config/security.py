"""Sign-in protection and request limits.

- Lockout (django-axes): after AXES_FAILURE_LIMIT failed sign-ins for one username, or
  from one address, further attempts are refused for AXES_COOLOFF_MINUTES, on the sign-in
  page, the admin's and the API's alike.
- Throttling (DRF's rate throttles, which keep their counts in the shared cache): sign-in
  posts per address, and API requests per address (anonymous) or per user (session or token).
- Request bodies over the configured size are refused before anything reads them.
"""

import math
from collections.abc import Callable
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from audit.context import client_ip

LOCKED_OUT = "Too many failed sign-ins. Try again in {minutes} minutes."
THROTTLED = "Too many sign-in attempts from your address. Try again in {seconds} seconds."
BODY_TOO_LARGE = "The request body is larger than the {limit:,} bytes accepted."

SIGN_IN_VIEWS = frozenset({"login", "admin:login"})


class SignInLockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check, first in AUTHENTICATION_BACKENDS.

    Lockout is per client address and username, so it needs the request; code that
    authenticates without one (a script, the test client's login()) has no address to lock
    and goes straight to the next backend.
    """

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def _too_many(request: HttpRequest, message: str, retry_after: int) -> HttpResponse:
    if request.path_info.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message}, status=429)
    else:
        response = render(
            request, "registration/too_many_attempts.html", {"message": message}, status=429
        )
    response["Retry-After"] = str(max(1, retry_after))
    return response


def lockout_response(
    request: HttpRequest, original_response: Any, credentials: Any
) -> HttpResponse:
    """Axes' answer to a locked-out attempt (AXES_LOCKOUT_CALLABLE)."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 3600
    return _too_many(request, LOCKED_OUT.format(minutes=math.ceil(seconds / 60)), seconds)


class _RateFromSettings:
    # DRF binds THROTTLE_RATES when it is imported; read the live settings instead, so a
    # deployment (and a test) can change the rates.
    scope: str

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"


class UserThrottle(_RateFromSettings, UserRateThrottle):
    def get_ident(self, request: Any) -> str:
        return client_ip(request) or "unknown"


class SignInThrottle(_RateFromSettings, SimpleRateThrottle):
    scope = "sign_in"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class SignInThrottleMiddleware:
    """Limit sign-in posts per client address (the sign-in page and the admin's)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in SIGN_IN_VIEWS:
            return None
        throttle = SignInThrottle()
        if throttle.allow_request(request, None):
            return None
        wait = math.ceil(throttle.wait() or 1)
        return _too_many(request, THROTTLED.format(seconds=wait), wait)


class RequestSizeLimitMiddleware:
    """Refuse bodies over the limit from their Content-Length, before anything reads them.

    Django and DRF enforce DATA_UPLOAD_MAX_MEMORY_SIZE only once a parser reads the body,
    and answer with a bare 400; this answers 413 with the limit (JSON under /api/) first.
    Multipart bodies (file uploads, which Django streams to disk) get REQUEST_MAX_UPLOAD_SIZE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        limit = (
            settings.REQUEST_MAX_UPLOAD_SIZE if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        )
        if limit is not None and length > limit:
            message = BODY_TOO_LARGE.format(limit=limit)
            if request.path_info.startswith("/api/"):
                from api.errors import error_body

                return JsonResponse(error_body("request_too_large", message), status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
