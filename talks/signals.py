"""Forget remembered memberships (talks.selectors.talk_access_remembered) when they change."""

from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from .models import Membership, Talk
from .selectors import member_cache_key


def _forget(keys: Iterable[str]) -> None:
    # Now, and again after commit: a request racing the change cannot put back what it
    # read before the change committed.
    keys = list(keys)
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


@receiver([post_save, post_delete], sender=Membership)
def _membership_changed(sender: type, instance: Membership, **kwargs: Any) -> None:
    slug = Talk.objects.filter(pk=instance.talk_id).values_list("slug", flat=True).first()
    if slug is not None:
        _forget([member_cache_key(instance.user_id, slug)])


@receiver(pre_save, sender=Talk)
def _talk_renamed(sender: type, instance: Talk, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    old = Talk.objects.filter(pk=instance.pk).values_list("slug", "title").first()
    if old is not None and old != (instance.slug, instance.title):
        users = Membership.objects.filter(talk_id=instance.pk).values_list("user_id", flat=True)
        _forget(member_cache_key(user_id, old[0]) for user_id in users)
