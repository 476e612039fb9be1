"""A refused API token is on record even though DRF rolls back the refused request's
transaction, and an address that keeps presenting refused tokens is slowed down."""

import base64
import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from knox.models import AuthToken

from api.services import api_token_create, api_token_revoke
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def get(client, token: str, address: str, path: str = "/api/v1/talks/"):
    return client.get(path, HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=address)


def failures(address: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="login_failed", ip_address=address).order_by("id"))


@pytest.fixture
def address():
    """An address of its own, with no refusals counted yet."""
    chosen = "198.51.100.23"
    cache.delete_many([f"api-token-refusals:{chosen}", f"api-token-refusals:{chosen}:until"])
    return chosen


def test_each_kind_of_refused_token_is_recorded_with_why_and_never_its_characters(
    client, small_talk, address
):
    user = small_talk.analyst
    revoked, revoked_secret = api_token_create(user=user, name="leaked", read_only=False)
    api_token_revoke(user=user, token_key=revoked.token_key)
    _, sleeper_secret = api_token_create(user=small_talk.viewer, name="sleeper", read_only=True)
    small_talk.viewer.is_active = False
    small_talk.viewer.save()
    expired, expired_secret = api_token_create(user=user, name="old", read_only=False)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - dt.timedelta(days=1))

    presented = {
        "unknown": "rl_0123456789abcdef0123456789abcdef",
        "expired": expired_secret,
        "revoked": revoked_secret,
        "its user is deactivated": sleeper_secret,
    }
    responses = {why: get(client, token, address) for why, token in presented.items()}
    responses["malformed Authorization header"] = client.get(
        "/api/v1/talks/", HTTP_AUTHORIZATION="Token two parts", REMOTE_ADDR=address
    )
    assert {r.status_code for r in responses.values()} == {401}

    recorded = failures(address)
    assert [e.note for e in recorded] == [f"API token refused: {why}." for why in responses]
    assert [e.request_id for e in recorded] == [r["X-Request-ID"] for r in responses.values()]
    assert {(e.interface, e.username, e.user_id) for e in recorded} == {("api", "", None)}
    by_note = {e.note.removeprefix("API token refused: ").rstrip("."): e for e in recorded}
    # A token Redline issued is named as the log named it then, so its use after the
    # revocation can be tied to the revocation.
    revocation = AuditEvent.objects.get(object_type="knox.authtoken", action="delete")
    assert by_note["revoked"].object_id == revocation.object_id
    assert by_note["revoked"].object_label.startswith("API token of small-analyst")
    assert by_note["expired"].object_id == expired.digest[:16]
    assert by_note["unknown"].object_id == ""
    for event in recorded:
        row = repr([getattr(event, f.attname) for f in AuditEvent._meta.fields])
        for secret in presented.values():
            assert secret not in row
            assert secret[3:15] not in row
    # The refused request was rolled back (knox deleted the expired token in it) and the
    # record was written all the same.
    assert AuthToken.objects.filter(pk=expired.pk).exists()


def test_an_address_presenting_too_many_refused_tokens_is_slowed_down_until_the_cool_off(
    client, small_talk, address, settings
):
    settings.API_TOKEN_FAILURE_LIMIT = 3
    _, good = api_token_create(user=small_talk.analyst, name="cron", read_only=True)
    statuses = [get(client, f"rl_bad{n:030d}", address).status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    slowed = get(client, "rl_bad-after-the-limit", address)
    assert slowed.status_code == 429
    cool_off = settings.AXES_COOLOFF_TIME.total_seconds()
    assert cool_off - 5 <= int(slowed["Retry-After"]) <= cool_off
    assert "Too many refused API tokens" in slowed.json()["detail"]
    assert get(client, "rl_and-again", address).status_code == 429
    notes = [e.note for e in failures(address)]
    assert len(notes) == 4  # three refusals and one note of the slow-down, nothing more
    assert notes[3].startswith("3 refused API tokens from this address")
    # A valid token still works from there, and another address is not affected.
    assert get(client, good, address).status_code == 200
    assert get(client, "rl_bad-elsewhere", "203.0.113.99").status_code == 401
    later = timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=5)
    with time_machine.travel(later):
        assert get(client, "rl_bad-after-the-cool-off", address).status_code == 401
    assert len(failures(address)) == 5


def test_the_api_never_checks_a_password_so_it_is_no_way_around_the_sign_in_lockout(
    client, small_talk, address
):
    """Basic authentication is not accepted: a right password is no sign-in there."""
    small_talk.analyst.set_password("violet-harbour-lantern-42")
    small_talk.analyst.save()
    basic = base64.b64encode(b"small-analyst:violet-harbour-lantern-42").decode()
    response = client.get(
        "/api/v1/talks/", HTTP_AUTHORIZATION=f"Basic {basic}", REMOTE_ADDR=address
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"
    assert "sessionid" not in response.cookies


def test_a_token_expired_and_cleared_away_is_still_told_from_a_revoked_one(
    client, small_talk, address
):
    user = small_talk.analyst
    old, secret = api_token_create(user=user, name="old", read_only=False)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - dt.timedelta(days=1))
    api_token_create(user=user, name="new", read_only=False)  # clears the expired one away
    assert not AuthToken.objects.filter(pk=old.pk).exists()
    assert get(client, secret, address).status_code == 401
    (event,) = failures(address)
    assert event.note == "API token refused: expired."
