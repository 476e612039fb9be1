"""A dashboard's 304 is answered from the cache alone, and what the cache remembers of a
sign-in or a membership never outlives the change that ends it."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from api.services import api_token_create, api_token_revoke
from talks.models import Membership
from talks.services import membership_remove, membership_set_role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

DASHBOARD = "/api/v1/talks/small/dashboard/"


def token_for(user, days=30):
    token, secret = api_token_create(user=user, name="script", read_only=True, days=days)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return token, client


def test_an_unchanged_dashboard_costs_no_query_once_sign_in_and_membership_are_known(
    small_talk,
):
    _, client = token_for(small_talk.mediator)
    etag = client.get(DASHBOARD)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DASHBOARD, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    # The request's transaction (a savepoint inside the test's) is all there is.
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    statements = [q["sql"] for q in queries.captured_queries]
    assert [s for s in statements if not s.startswith(control)] == []


def test_a_revoked_token_is_refused_at_once_though_its_sign_in_was_remembered(small_talk):
    token, client = token_for(small_talk.mediator)
    assert client.get(DASHBOARD).status_code == 200
    api_token_revoke(user=small_talk.mediator, token_key=token.token_key)
    assert client.get(DASHBOARD).status_code == 401


def test_a_token_deleted_in_the_admin_or_by_knox_logout_is_refused_at_once(small_talk):
    token, client = token_for(small_talk.analyst)
    assert client.get(DASHBOARD).status_code == 200
    AuthToken.objects.filter(pk=token.pk).delete()
    assert client.get(DASHBOARD).status_code == 401


def test_a_deactivated_users_token_is_refused_at_once(small_talk):
    _, client = token_for(small_talk.viewer)
    assert client.get(DASHBOARD).status_code == 200
    small_talk.viewer.is_active = False
    small_talk.viewer.save()
    assert client.get(DASHBOARD).status_code == 401


def test_a_remembered_token_is_refused_once_it_expires(small_talk):
    _, client = token_for(small_talk.viewer, days=1)
    assert client.get(DASHBOARD).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(days=1, seconds=1), tick=False):
        assert client.get(DASHBOARD).status_code == 401


def test_a_removed_member_gets_404_at_once_though_their_access_was_remembered(small_talk):
    _, client = token_for(small_talk.viewer)
    etag = client.get(DASHBOARD)["ETag"]
    assert client.get(DASHBOARD, HTTP_IF_NONE_MATCH=etag).status_code == 304
    membership_remove(
        membership=Membership.objects.get(talk=small_talk.talk, user=small_talk.viewer), by=None
    )
    assert client.get(DASHBOARD, HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_a_change_of_role_changes_the_layers_at_once(small_talk):
    _, client = token_for(small_talk.mediator)
    assert set(client.get(DASHBOARD).json()["layers"]) == {"declared", "assessed"}
    membership_set_role(
        membership=Membership.objects.get(talk=small_talk.talk, user=small_talk.mediator),
        role="viewer",
        by=None,
    )
    assert set(client.get(DASHBOARD).json()["layers"]) == {"declared"}


def test_a_renamed_talk_is_no_longer_found_under_its_old_slug(small_talk):
    _, client = token_for(small_talk.analyst)
    assert client.get(DASHBOARD).status_code == 200
    talk = small_talk.talk
    talk.slug = "renamed"
    talk.save()
    assert client.get(DASHBOARD).status_code == 404
    assert client.get("/api/v1/talks/renamed/dashboard/").status_code == 200
