"""Talk analysts add members by username, set their roles and remove them."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from talks.forms import NO_SUCH_USER
from talks.models import Membership
from talks.services import ALREADY_MEMBER, LAST_ANALYST
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"talks:{name}", args=["small", *args])


def test_an_analyst_adds_a_member_by_username(client, small_talk):
    UserFactory(username="newcomer")
    client.force_login(small_talk.analyst)
    response = client.post(url("members"), {"username": "newcomer", "role": "mediator"})
    assert response.status_code == 302
    assert small_talk.talk.memberships.get(user__username="newcomer").role == "mediator"


def test_unknown_users_and_existing_members_are_refused_inline(client, small_talk):
    client.force_login(small_talk.analyst)
    response = client.post(url("members"), {"username": "nobody", "role": "viewer"})
    assert response.status_code == 200
    content = response.content.decode()
    assert escape(NO_SUCH_USER.format(username="nobody")) in content
    assert 'value="nobody"' in content
    response = client.post(url("members"), {"username": "small-viewer", "role": "analyst"})
    assert escape(ALREADY_MEMBER.format(user="small-viewer")) in response.content.decode()
    assert small_talk.talk.memberships.get(user=small_talk.viewer).role == "viewer"


def test_roles_are_set_and_members_removed(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    viewer = st.talk.memberships.get(user=st.viewer)
    assert client.post(url("member_role", viewer.pk), {"role": "mediator"}).status_code == 302
    viewer.refresh_from_db()
    assert viewer.role == "mediator"
    assert client.post(url("member_remove", viewer.pk)).status_code == 302
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_the_last_analyst_is_kept_and_told_why(client, small_talk):
    st = small_talk
    client.force_login(st.analyst)
    me = st.talk.memberships.get(user=st.analyst)
    response = client.post(url("member_role", me.pk), {"role": "viewer"})
    assert response.status_code == 200
    assert escape(LAST_ANALYST) in response.content.decode()
    response = client.post(url("member_remove", me.pk))
    assert response.status_code == 200
    me.refresh_from_db()
    assert me.role == "analyst"


def test_a_membership_of_another_talk_cannot_be_touched_from_this_one(client, small_talk):
    st = small_talk
    foreign = Membership.objects.get(user=st.outsider)
    client.force_login(st.analyst)
    assert client.post(url("member_remove", foreign.pk)).status_code == 404
    assert client.post(url("member_role", foreign.pk), {"role": "viewer"}).status_code == 404
    assert Membership.objects.get(pk=foreign.pk).role == "analyst"
