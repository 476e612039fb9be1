"""Parties join, leave or change role in the admin, outside any service: the gaps among a
talk's principals change with them, so every summary of the talk is recomputed."""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from talks.models import Talk, TalkParty

from .services import gap_summaries_request_for_talk


@receiver(post_save, sender=TalkParty)
def _principals_saved(sender: type, instance: TalkParty, **kwargs: Any) -> None:
    gap_summaries_request_for_talk(talk_id=instance.talk_id)


@receiver(post_delete, sender=TalkParty)
def _principals_removed(
    sender: type, instance: TalkParty, origin: Any = None, **kwargs: Any
) -> None:
    if isinstance(origin, Talk) or getattr(origin, "model", None) is Talk:
        return  # The whole talk goes, summaries included.
    gap_summaries_request_for_talk(talk_id=instance.talk_id)
