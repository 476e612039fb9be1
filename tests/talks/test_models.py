import pytest
from django.db import IntegrityError, transaction

from issues.models import Issue
from talks.models import Membership
from tests.factories import IssueFactory, MembershipFactory, TalkFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "fields",
    [
        {"priority": 0},
        {"priority": 6},
        {"scale_min": 10.0, "scale_max": 10.0},
        {"scale_min": 20.0, "scale_max": 10.0},
        {"scale_min": None},
        {"scale_kind": "ordinal"},  # an option scale has no numeric bounds
        {"scale_kind": "fuzzy", "scale_min": None, "scale_max": None},
    ],
    ids=[
        "priority-0",
        "priority-6",
        "min-equals-max",
        "min-above-max",
        "numeric-without-min",
        "ordinal-with-bounds",
        "unknown-kind",
    ],
)
def test_the_database_holds_issue_scale_invariants(fields):
    talk = TalkFactory()
    values = {
        "talk": talk,
        "key": "k",
        "title": "K",
        "scale_kind": "numeric",
        "scale_min": 0.0,
        "scale_max": 100.0,
        **fields,
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        Issue.objects.create(**values)


def test_issue_keys_are_unique_within_a_talk_only():
    first, second = TalkFactory(), TalkFactory()
    IssueFactory(talk=first, key="aid")
    IssueFactory(talk=second, key="aid")
    with pytest.raises(IntegrityError), transaction.atomic():
        IssueFactory(talk=first, key="aid")


def test_a_user_has_one_membership_per_talk_with_a_known_role():
    talk, user = TalkFactory(), UserFactory()
    MembershipFactory(talk=talk, user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(talk=talk, user=user, role=Membership.Role.VIEWER)
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory(talk=TalkFactory(), user=user, role="overlord")
