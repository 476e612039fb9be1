"""Keep cached talk payloads honest when rows change outside the services (e.g. the admin).

The services renew a talk's revision token after every write they make; these receivers
cover the rows an administrator can edit directly and that the dashboard shows.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from knox.models import AuthToken

from issues.models import Issue, IssueOption
from talks.models import Party, Talk, TalkParty
from talks.services import talk_touch


@receiver([post_save, post_delete], sender=Talk)
def _talk_changed(sender: type, instance: Talk, **kwargs: Any) -> None:
    talk_touch(talk_id=instance.pk)


@receiver([post_save, post_delete], sender=TalkParty)
@receiver([post_save, post_delete], sender=Issue)
def _talk_row_changed(sender: type, instance: TalkParty | Issue, **kwargs: Any) -> None:
    talk_touch(talk_id=instance.talk_id)


@receiver([post_save, post_delete], sender=IssueOption)
def _option_changed(sender: type, instance: IssueOption, **kwargs: Any) -> None:
    talk_id = Issue.objects.filter(pk=instance.issue_id).values_list("talk_id", flat=True).first()
    if talk_id is not None:
        talk_touch(talk_id=talk_id)


@receiver(post_save, sender=Party)
def _party_changed(sender: type, instance: Party, **kwargs: Any) -> None:
    for talk_id in TalkParty.objects.filter(party=instance).values_list("talk_id", flat=True):
        talk_touch(talk_id=talk_id)


def _forget(keys: list[str]) -> None:
    """Drop remembered sign-ins now and again after commit, so a request racing the change
    cannot put back what it read before the commit."""
    if not keys:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys), robust=True)


@receiver(post_delete, sender=AuthToken)
def _token_removed(sender: type, instance: AuthToken, **kwargs: Any) -> None:
    from .auth import sign_in_cache_key

    _forget([sign_in_cache_key(instance.digest)])


@receiver(post_save, sender=get_user_model())
def _user_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    from .auth import sign_in_cache_key

    digests = AuthToken.objects.filter(user=instance).values_list("digest", flat=True)
    _forget([sign_in_cache_key(d) for d in digests])
