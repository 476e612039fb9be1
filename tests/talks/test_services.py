import pytest
from django.core.exceptions import ValidationError

from talks.models import Membership
from talks.services import (
    ALREADY_MEMBER,
    LAST_ANALYST,
    ROLE_UNKNOWN,
    membership_add,
    membership_remove,
    membership_set_role,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_member_is_added_once_with_a_known_role(small_talk):
    newcomer = UserFactory(username="newcomer")
    with pytest.raises(ValidationError) as exc:
        membership_add(talk=small_talk.talk, user=newcomer, role="owner", by=None)
    assert exc.value.message_dict["role"] == [ROLE_UNKNOWN]
    membership_add(talk=small_talk.talk, user=newcomer, role="viewer", by=None)
    with pytest.raises(ValidationError) as exc:
        membership_add(talk=small_talk.talk, user=newcomer, role="analyst", by=None)
    assert exc.value.message_dict["user"] == [ALREADY_MEMBER.format(user="newcomer")]
    assert Membership.objects.get(talk=small_talk.talk, user=newcomer).role == "viewer"


def test_the_last_analyst_can_be_neither_demoted_nor_removed(small_talk):
    analyst = Membership.objects.get(talk=small_talk.talk, user=small_talk.analyst)
    with pytest.raises(ValidationError) as exc:
        membership_set_role(membership=analyst, role="viewer", by=None)
    assert exc.value.message_dict["role"] == [LAST_ANALYST]
    with pytest.raises(ValidationError):
        membership_remove(membership=analyst, by=None)
    mediator = Membership.objects.get(talk=small_talk.talk, user=small_talk.mediator)
    membership_set_role(membership=mediator, role="analyst", by=None)
    membership_set_role(membership=analyst, role="viewer", by=None)
    assert Membership.objects.get(pk=analyst.pk).role == "viewer"


def test_a_member_is_removed(small_talk):
    viewer = Membership.objects.get(talk=small_talk.talk, user=small_talk.viewer)
    membership_remove(membership=viewer, by=None)
    assert not Membership.objects.filter(pk=viewer.pk).exists()
