"""Writes at talk level."""

import uuid

from django.core.cache import cache
from django.db import transaction


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
