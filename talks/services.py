"""Writes at talk level."""

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import Membership, Talk

ALREADY_MEMBER = "{user} is already a member of this talk."
ROLE_UNKNOWN = "Choose a role: analyst, mediator or viewer."
LAST_ANALYST = "A talk keeps at least one analyst: add another analyst first."


def _revision_key(talk_id: int) -> str:
    return f"talk-rev:{talk_id}"


def talk_touch(*, talk_id: int) -> None:
    """After commit, give the talk a new revision token: cached pages and ETags go stale.

    Called by every write that changes what a talk's dashboard shows (positions, issues,
    gap summaries), so conditional GETs can be answered from the cache alone.
    """
    transaction.on_commit(
        lambda: cache.set(_revision_key(talk_id), uuid.uuid4().hex, timeout=None), robust=True
    )


def talk_revision(*, talk_id: int) -> str:
    """The talk's current revision token (a fresh one if the cache lost it)."""
    key = _revision_key(talk_id)
    token = cache.get(key)
    if token is None:
        token = uuid.uuid4().hex
        if not cache.add(key, token, timeout=None):
            token = cache.get(key) or token
    return token


def talk_revision_with(*, talk_id: int, key: str) -> tuple[str, Any]:
    """The talk's revision token and the cached value under `key`, in one round trip."""
    revision_key = _revision_key(talk_id)
    found = cache.get_many([revision_key, key])
    token = found.get(revision_key)
    if token is None:
        token = talk_revision(talk_id=talk_id)
    return token, found.get(key)


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationError({"role": ROLE_UNKNOWN})


def _would_lose_last_analyst(membership: Membership) -> bool:
    return (
        membership.role == Membership.Role.ANALYST
        and not Membership.objects.filter(talk_id=membership.talk_id, role=Membership.Role.ANALYST)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_add(
    *, talk: Talk, user: AbstractBaseUser, role: str, by: AbstractBaseUser | None
) -> Membership:
    """Give a user access to a talk with a role."""
    _check_role(role)
    if Membership.objects.filter(talk=talk, user=user).exists():
        raise ValidationError({"user": ALREADY_MEMBER.format(user=user.get_username())})
    return Membership.objects.create(talk=talk, user=user, role=role)


@transaction.atomic
def membership_set_role(
    *, membership: Membership, role: str, by: AbstractBaseUser | None
) -> Membership:
    _check_role(role)
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    if current.role == role:
        return current
    # Lock the talk's analysts so two demotions cannot both pass the check.
    list(
        Membership.objects.select_for_update()
        .filter(talk_id=current.talk_id, role=Membership.Role.ANALYST)
        .values_list("pk", flat=True)
    )
    if _would_lose_last_analyst(current):
        raise ValidationError({"role": LAST_ANALYST})
    current.role = role
    current.save(update_fields=["role"])
    return current


@transaction.atomic
def membership_remove(*, membership: Membership, by: AbstractBaseUser | None) -> None:
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    list(
        Membership.objects.select_for_update()
        .filter(talk_id=current.talk_id, role=Membership.Role.ANALYST)
        .values_list("pk", flat=True)
    )
    if _would_lose_last_analyst(current):
        raise ValidationError({"user": LAST_ANALYST})
    current.delete()
