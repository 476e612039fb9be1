import factory
from django.contrib.auth import get_user_model

from issues.models import Issue, IssueOption
from issues.services import gap_summaries_ensure
from positions.models import Source
from talks.models import Membership, Party, Talk, TalkParty


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery-staple")


class TalkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Talk

    slug = factory.Sequence(lambda n: f"talk-{n}")
    title = factory.Sequence(lambda n: f"Talk {n}")


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Party {n}")


class TalkPartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TalkParty

    talk = factory.SubFactory(TalkFactory)
    party = factory.SubFactory(PartyFactory)
    role = TalkParty.Role.PRINCIPAL


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    talk = factory.SubFactory(TalkFactory)
    role = Membership.Role.ANALYST


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    talk = factory.SubFactory(TalkFactory)
    title = factory.Sequence(lambda n: f"Source {n}")


class IssueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Issue
        skip_postgeneration_save = True

    talk = factory.SubFactory(TalkFactory)
    key = factory.Sequence(lambda n: f"issue-{n}")
    title = factory.Sequence(lambda n: f"Issue {n}")
    scale_kind = "numeric"
    scale_min = 0.0
    scale_max = 100.0
    unit = "units"

    @factory.post_generation
    def summaries(self, create, extracted, **kwargs):
        if create:
            gap_summaries_ensure(issues=[self])


def add_options(issue: Issue, *keys: str) -> list[IssueOption]:
    return [
        IssueOption.objects.create(issue=issue, key=key, label=key.replace("-", " "), order=i)
        for i, key in enumerate(keys)
    ]
