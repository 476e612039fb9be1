"""Reads of API tokens."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from knox.models import AuthToken

from .models import TokenSettings


def api_tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[AuthToken]:
    """The user's tokens, newest first, expired ones included until knox removes them."""
    return AuthToken.objects.filter(user=user).select_related("settings").order_by("-created")


def api_token_list(*, username: str | None = None) -> QuerySet[AuthToken]:
    qs = AuthToken.objects.select_related("user", "settings").order_by("user__username", "-created")
    if username is not None:
        qs = qs.filter(user__username=username)
    return qs


def token_is_read_only(*, token: AuthToken) -> bool:
    return TokenSettings.objects.filter(token=token, read_only=True).exists()
