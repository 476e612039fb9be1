"""Sign-in protection: lockout per username and per address, throttling, sessions."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

GOOD = "a-long-enough-secret-1"
BAD = "not-the-password-9"


@pytest.fixture
def ana(db):
    get_user_model().objects.create_user("ana", password=GOOD, is_staff=True)
    return "ana"


def sign_in(client, username, password, address, path=None):
    return client.post(
        path or reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def after_cool_off(settings):
    return time_machine.travel(
        timezone.now() + settings.AXES_COOLOFF_TIME + dt.timedelta(seconds=5)
    )


def test_a_username_is_locked_after_the_configured_failures_from_any_addresses(
    client, ana, settings
):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5  # the default when AXES_FAILURE_LIMIT is not set
    for attempt in range(limit - 1):
        assert sign_in(client, ana, BAD, f"203.0.113.{attempt}").status_code == 200
    locked = sign_in(client, ana, BAD, "203.0.113.50")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    # The right password does not help, from a new address or through the admin.
    assert sign_in(client, ana, GOOD, "198.51.100.1").status_code == 429
    admin_login = reverse("admin:login")
    assert sign_in(client, ana, GOOD, "198.51.100.2", admin_login).status_code == 429
    with after_cool_off(settings):
        assert sign_in(client, ana, GOOD, "198.51.100.3").status_code == 302
    failed = AuditEvent.objects.filter(action="login_failed", object_label=ana)
    assert failed.count() == limit + 2
    assert not failed.filter(changes__icontains=BAD).exists()


def test_an_address_is_locked_after_the_configured_failures_for_any_usernames(
    client, ana, settings
):
    limit = settings.AXES_FAILURE_LIMIT
    for attempt in range(limit):
        sign_in(client, f"guess{attempt}", BAD, "192.0.2.66")
    assert sign_in(client, ana, GOOD, "192.0.2.66").status_code == 429
    # Ana from her own address is not affected by someone else's guessing.
    response = sign_in(client, ana, GOOD, "192.0.2.10")
    assert response.status_code == 302
    client.logout()
    with after_cool_off(settings):
        assert sign_in(client, ana, GOOD, "192.0.2.66").status_code == 302


def test_the_cool_off_comes_from_the_environment_in_minutes(monkeypatch):
    import importlib

    import config.settings as config_settings

    monkeypatch.setenv("AXES_COOLOFF_MINUTES", "2.5")
    monkeypatch.setenv("AXES_FAILURE_LIMIT", "8")
    try:
        fresh = importlib.reload(config_settings)
        assert dt.timedelta(minutes=2.5) == fresh.AXES_COOLOFF_TIME
        assert fresh.AXES_FAILURE_LIMIT == 8
    finally:
        monkeypatch.undo()
        importlib.reload(config_settings)


def test_sign_in_posts_are_throttled_per_address(client, ana, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "sign_in": "3/minute",
        },
    }
    address = "198.51.100.77"
    cache.delete(f"throttle_sign_in_{address}")
    statuses = [sign_in(client, ana, GOOD, address).status_code for _ in range(3)]
    assert statuses == [302, 302, 302]
    refused = sign_in(client, ana, GOOD, address)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert "Too many sign-in attempts" in refused.content.decode()
    # Another address is counted on its own; reading the page is never throttled.
    assert sign_in(client, ana, GOOD, "198.51.100.78").status_code == 302
    assert client.get(reverse("login"), REMOTE_ADDR=address).status_code in {200, 302}


def test_the_session_cookie_is_http_only_same_site_and_expires(client, ana, settings):
    response = sign_in(client, ana, GOOD, "192.0.2.1")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE == 12 * 3600
    assert client.get(reverse("talks:list")).status_code == 200
    later = timezone.now() + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later):
        expired = client.get(reverse("talks:list"))
    assert expired.status_code == 302
    assert expired["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "password", ["short-1", "password12345", "48213907651234", "ana-the-user-ana"]
)
def test_weak_passwords_are_refused(password):
    user = get_user_model()(username="ana-the-user-ana")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_a_long_uncommon_password_is_accepted():
    validate_password("violet-harbour-lantern-42", get_user_model()(username="ana"))
