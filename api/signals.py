"""Keep cached talk payloads honest when rows change outside the services (e.g. the admin).

The services renew a talk's revision token after every write they make; these receivers
cover the rows an administrator can edit directly and that the dashboard shows.
"""

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

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
