"""Token sign-in for the API: django-rest-knox, one query per request, refused tokens on
record.

A refused token is recorded as a failed sign-in (`login_failed`, interface api, the client
address and the request id), written after the request's transaction, which DRF rolls back
on every error. The record says why it was refused: unknown, expired, revoked (it names the
token the way the log named it when it was issued, never by any of its characters), or its
user is deactivated.

An address that keeps presenting refused tokens is slowed down: after
API_TOKEN_FAILURE_LIMIT refusals within the cool-off (AXES_COOLOFF_TIME), its further
refused tokens get a 429 and are no longer recorded one by one. A valid token keeps working
from there: a token cannot be guessed (256 random bits), so refusing good tokens would only
let one broken script lock out every other script and person behind the same address.
"""

import binascii
import datetime as dt
import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.signals import token_expired
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from audit.context import client_ip
from audit.models import AuditEvent
from audit.services import audit_record
from audit.tracking import TOKEN_EXPIRED_REMOVED

TOO_MANY_REFUSED = (
    "Too many refused API tokens from your address. Try again in {minutes} minutes, "
    "with a valid token."
)

UNKNOWN = "unknown"
EXPIRED = "expired"
REVOKED = "revoked"
INACTIVE = "its user is deactivated"
MALFORMED = "malformed Authorization header"


# A valid token's sign-in is remembered this long, keyed by its digest; revoking the token,
# changing its user or letting it expire ends it at once (api.signals, and the expiry check).
SIGN_IN_CACHE_SECONDS = 60


def sign_in_cache_key(digest: str) -> str:
    return f"api:sign-in:{digest}"


class TokenAuthentication(KnoxTokenAuthentication):
    """knox's token authentication without its sweep of the user's other tokens, and with
    refused tokens recorded.

    knox reads every token of the user on each request to delete the expired ones; that
    doubles the queries of every API call. An expired token is refused either way, and the
    user's expired tokens are cleared when they are issued a new one
    (api.services.api_token_create).
    """

    def __init__(self) -> None:
        super().__init__()
        # Digests of expired tokens knox removed while authenticating this request.
        self.removed_expired: set[str] = set()

    def authenticate(self, request: Request) -> tuple[Any, AuthToken] | None:
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            refused(request, removed_expired=self.removed_expired)
            raise

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        """knox's check, remembered for a valid token so that a request whose answer comes
        from the cache (a dashboard's 304) needs no database query at all."""
        try:
            digest = hash_token(token.decode())
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            return super().authenticate_credentials(token)
        key = sign_in_cache_key(digest)
        remembered = cache.get(key)
        if remembered is not None:
            user, auth_token = remembered
            if auth_token.digest == digest and (
                auth_token.expiry is None or auth_token.expiry > timezone.now()
            ):
                return user, auth_token
        user, auth_token = super().authenticate_credentials(token)
        cache.set(key, (user, auth_token), timeout=SIGN_IN_CACHE_SECONDS)
        return user, auth_token

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            self.removed_expired.add(auth_token.digest)
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of the class above: knox's own."""

    target_class = "api.auth.TokenAuthentication"


def _presented(request: Request) -> str | None:
    parts = get_authorization_header(request).split()
    if len(parts) != 2:
        return None
    try:
        return parts[1].decode()
    except UnicodeDecodeError:
        return None


def _why(token: str | None, removed_expired: set[str]) -> tuple[str, str, str]:
    """(reason, object id, label) of a refused token; the id and label only for a token
    Redline issued, as the log named it then."""
    if token is None:
        return MALFORMED, "", ""
    try:
        digest = hash_token(token)
    except (TypeError, ValueError, binascii.Error):
        return UNKNOWN, "", ""
    ref = digest[:16]
    issued = (
        AuditEvent.objects.filter(object_type="knox.authtoken", object_id=ref, action="create")
        .order_by("id")
        .values_list("object_label", flat=True)
        .first()
    )
    if issued is None:
        return UNKNOWN, "", ""
    row = AuthToken.objects.filter(digest=digest).select_related("user").first()
    if row is None:
        removal = (
            AuditEvent.objects.filter(object_type="knox.authtoken", object_id=ref, action="delete")
            .order_by("-id")
            .values_list("note", flat=True)
            .first()
        )
        expired = digest in removed_expired or removal == TOKEN_EXPIRED_REMOVED
        return (EXPIRED if expired else REVOKED), ref, issued
    if row.expiry is not None and row.expiry < timezone.now():
        return EXPIRED, ref, issued
    if not row.user.is_active:
        return INACTIVE, ref, issued
    return UNKNOWN, ref, issued


def _count_refusal(address: str) -> tuple[int, dt.datetime]:
    """This address's refusals within the current window, and when the window ends.

    The window starts at the first refusal and lasts the cool-off; the cache keeps the
    count a little longer than that, and only as a backstop.
    """
    now = timezone.now()
    window = settings.AXES_COOLOFF_TIME
    timeout = max(1, int(window.total_seconds())) + 60
    key = f"api-token-refusals:{address}"
    until = cache.get(f"{key}:until")
    if until is None or until <= now:
        until = now + window
        cache.set(f"{key}:until", until, timeout=timeout)
        cache.set(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted meanwhile
        cache.set(key, 1, timeout=timeout)
        count = 1
    return count, until


def refused(request: Request, *, removed_expired: set[str] = frozenset()) -> None:
    """Record a refused token, or answer 429 once its address has had too many."""
    address = client_ip(request) or "unknown"
    count, until = _count_refusal(address)
    limit = settings.API_TOKEN_FAILURE_LIMIT
    if count <= limit:
        reason, object_id, label = _why(_presented(request), removed_expired)
        audit_record(
            action=AuditEvent.Action.LOGIN_FAILED,
            object_type="knox.authtoken" if object_id else "",
            object_id=object_id,
            label=label or "API token",
            user=None,
            note=f"API token refused: {reason}.",
            survive_rollback=True,
        )
        return
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    if count == limit + 1:
        audit_record(
            action=AuditEvent.Action.LOGIN_FAILED,
            label="API token",
            user=None,
            note=(
                f"{limit} refused API tokens from this address: further refusals until "
                f"{until:%Y-%m-%d %H:%M} UTC are answered 429 and not recorded one by one."
            ),
            survive_rollback=True,
        )
    raise exceptions.Throttled(
        wait=wait, detail=TOO_MANY_REFUSED.format(minutes=math.ceil(wait / 60))
    )
