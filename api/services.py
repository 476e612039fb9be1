"""Issuing and revoking API tokens (django-rest-knox stores them hashed, with an expiry)."""

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken
from knox.settings import knox_settings

from .models import TokenSettings

TOKEN_NAME_REQUIRED = "Name the token after what will use it, e.g. 'nightly export'."
TOKEN_NAME_TOO_LONG = "Keep the name under 80 characters."
TOKEN_DAYS_RANGE = "A token lasts from 1 to {max} days."
TOKEN_LIMIT_REACHED = "You have {limit} tokens already: revoke one you no longer use first."
TOKEN_UNKNOWN = "No token of yours has the key '{key}'."

TOKENS_PER_USER = 20


def api_token_max_days() -> int:
    return max(1, knox_settings.TOKEN_TTL.days)


@transaction.atomic
def api_token_create(
    *, user: AbstractBaseUser, name: str, read_only: bool, days: int | None = None
) -> tuple[AuthToken, str]:
    """Issue a token; the secret is returned once and only its hash is stored."""
    errors: dict[str, str] = {}
    name = name.strip()
    max_days = api_token_max_days()
    if not name:
        errors["name"] = TOKEN_NAME_REQUIRED
    elif len(name) > 80:
        errors["name"] = TOKEN_NAME_TOO_LONG
    if days is None:
        days = max_days
    if not 1 <= days <= max_days:
        errors["days"] = TOKEN_DAYS_RANGE.format(max=max_days)
    # Expired tokens are refused already; clear the user's away so they do not pile up.
    # (knox deletes one when it is presented, but inside the refused request's transaction.)
    for expired in AuthToken.objects.filter(user=user, expiry__lte=timezone.now()):
        expired.delete()
    live = AuthToken.objects.filter(user=user).count()
    if live >= TOKENS_PER_USER:
        errors["name"] = TOKEN_LIMIT_REACHED.format(limit=TOKENS_PER_USER)
    if errors:
        raise ValidationError(errors)
    token, secret = AuthToken.objects.create(user=user, expiry=dt.timedelta(days=days))
    TokenSettings.objects.create(token=token, name=name, read_only=read_only)
    return token, secret


@transaction.atomic
def api_token_revoke(*, user: AbstractBaseUser | None, token_key: str) -> int:
    """Revoke the token(s) whose key (the first characters of the secret) is `token_key`.

    With `user`, only that user's tokens are considered. Returns how many were revoked.
    """
    key = token_key.strip()
    qs = AuthToken.objects.filter(token_key=key) if key else AuthToken.objects.none()
    if user is not None:
        qs = qs.filter(user=user)
    tokens = list(qs)
    if not tokens:
        raise ValidationError({"token": TOKEN_UNKNOWN.format(key=key)})
    for token in tokens:
        token.delete()  # one by one, so deletion signals (the audit log) see each token
    return len(tokens)


@transaction.atomic
def api_tokens_revoke_all(*, user: AbstractBaseUser) -> int:
    tokens = list(AuthToken.objects.filter(user=user))
    for token in tokens:
        token.delete()
    return len(tokens)
