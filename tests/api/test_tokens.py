"""API tokens: hashed, expiring, revocable, optionally read-only; managed in the browser
and with `manage.py api_token`."""

import datetime as dt
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from api import services
from api.access import READ_ONLY_TOKEN
from api.models import TokenSettings
from tests.api_support import body

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def with_token(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    return client


def test_a_token_is_stored_only_as_a_hash_and_works_until_revoked(small_talk):
    token, secret = services.api_token_create(
        user=small_talk.analyst, name="nightly export", read_only=False
    )
    assert secret.startswith("rl_")
    stored = AuthToken.objects.get(pk=token.pk)
    assert secret not in (stored.digest, stored.token_key)
    assert stored.token_key == secret[:15]
    client = with_token(secret)
    assert client.get(ME).status_code == 200
    assert services.api_token_revoke(user=small_talk.analyst, token_key=stored.token_key) == 1
    refused = client.get(ME)
    assert refused.status_code == 401
    assert body(refused)["code"] == "authentication_failed"
    assert refused["WWW-Authenticate"] == "Token"


def test_an_expired_token_is_refused_and_cleared_at_the_next_issue(small_talk):
    token, secret = services.api_token_create(user=small_talk.viewer, name="old", read_only=True)
    AuthToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    response = with_token(secret).get(ME)
    assert response.status_code == 401
    assert body(response)["code"] == "authentication_failed"
    services.api_token_create(user=small_talk.viewer, name="new", read_only=True)
    assert not AuthToken.objects.filter(pk=token.pk).exists()


def test_tokens_expire_after_the_lifetime_chosen(small_talk):
    token, _ = services.api_token_create(
        user=small_talk.viewer, name="week", read_only=True, days=7
    )
    assert token.expiry - timezone.now() == pytest.approx(
        dt.timedelta(days=7), abs=dt.timedelta(seconds=5)
    )
    with pytest.raises(ValidationError) as exc:
        services.api_token_create(user=small_talk.viewer, name="long", read_only=True, days=9999)
    assert exc.value.message_dict == {"days": [services.TOKEN_DAYS_RANGE.format(max=90)]}


def test_a_read_only_token_reads_but_every_write_is_refused(api_talk):
    f = api_talk
    client = f.client("analyst-read-only")
    url = f"/api/v1/positions/{f.north_truce.pk}/"
    assert client.get(url).status_code == 200
    attempts = [
        client.patch(url, {"demand": 12, "note": "n"}, format="json", HTTP_IF_MATCH='"1"'),
        client.put(url, {"demand": 12, "note": "n"}, format="json", HTTP_IF_MATCH='"1"'),
        client.delete(f"{url}?note=n", HTTP_IF_MATCH='"1"'),
        client.post("/api/v1/sources/", {"talk": "small", "title": "x"}, format="json"),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert body(response) == {
            "code": "read_only_token",
            "detail": READ_ONLY_TOKEN,
            "errors": {},
        }
    f.north_truce.refresh_from_db()
    assert f.north_truce.version == 1


def test_a_user_has_at_most_twenty_live_tokens(small_talk):
    for i in range(services.TOKENS_PER_USER):
        services.api_token_create(user=small_talk.viewer, name=f"t{i}", read_only=True)
    with pytest.raises(ValidationError) as exc:
        services.api_token_create(user=small_talk.viewer, name="one more", read_only=True)
    assert "revoke one" in exc.value.messages[0]


# --- The browser page -------------------------------------------------------------------------


def test_the_token_page_creates_a_token_shown_once_and_revokes_it(client, small_talk):
    client.force_login(small_talk.analyst)
    url = reverse("tokens")
    assert url == "/account/tokens/"
    created = client.post(url, {"name": "notebook", "days": "30", "read_only": "on"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    secret = created.context["secret"]
    assert secret.startswith("rl_")
    assert secret in created.content.decode()
    token = AuthToken.objects.get(user=small_talk.analyst)
    assert TokenSettings.objects.get(token=token).read_only is True
    listing = client.get(url).content.decode()
    assert "notebook" in listing
    assert token.token_key in listing
    assert secret not in listing  # shown only once
    assert with_token(secret).get(ME).status_code == 200
    revoked = client.post(url, {"action": "revoke", "key": token.token_key}, follow=True)
    assert "Token revoked" in revoked.content.decode()
    assert not AuthToken.objects.filter(user=small_talk.analyst).exists()
    assert with_token(secret).get(ME).status_code == 401


def test_the_token_page_shows_form_errors_and_revokes_only_your_own(client, small_talk):
    theirs, _ = services.api_token_create(user=small_talk.viewer, name="theirs", read_only=True)
    client.force_login(small_talk.analyst)
    url = reverse("tokens")
    bad = client.post(url, {"name": "", "days": "30"})
    assert bad.status_code == 400
    assert bad.context["form"].errors["name"]
    client.post(url, {"action": "revoke", "key": theirs.token_key})
    assert AuthToken.objects.filter(pk=theirs.pk).exists()


def test_the_token_page_needs_a_sign_in_and_has_no_inline_script_or_style(client, small_talk):
    assert client.get(reverse("tokens")).status_code == 302
    client.force_login(small_talk.viewer)
    page = client.get(reverse("tokens")).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", page)  # no inline script
    assert "<style" not in page
    assert " style=" not in page


# --- The management command -------------------------------------------------------------------


def test_the_command_creates_lists_and_revokes_tokens(small_talk):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token",
        "create",
        "small-viewer",
        "--name",
        "cron",
        "--read-only",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    assert secret.startswith("rl_")
    assert "read-only" in err.getvalue()
    assert with_token(secret).get(ME).status_code == 200
    listing = io.StringIO()
    call_command("api_token", "list", "small-viewer", stdout=listing)
    assert secret[:15] in listing.getvalue()
    assert "cron" in listing.getvalue()
    assert secret not in listing.getvalue()
    call_command("api_token", "revoke", secret[:15], "--user", "small-viewer", stdout=io.StringIO())
    assert with_token(secret).get(ME).status_code == 401
    with pytest.raises(CommandError, match="No token"):
        call_command("api_token", "revoke", secret[:15], stdout=io.StringIO())
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token", "create", "nobody", "--name", "x", stdout=io.StringIO())


def test_the_command_revokes_every_token_of_a_user(small_talk):
    for name in ("a", "b"):
        services.api_token_create(user=small_talk.viewer, name=name, read_only=True)
    out = io.StringIO()
    call_command("api_token", "revoke", "--all", "small-viewer", stdout=out)
    assert "Revoked 2" in out.getvalue()
    assert not AuthToken.objects.filter(user=small_talk.viewer).exists()


def test_a_token_is_checked_with_one_query_whatever_other_tokens_the_user_has(small_talk):
    """The user's other tokens, expired ones included, are not read on every request; an
    expired token is still refused."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = small_talk.viewer
    old, old_secret = services.api_token_create(user=user, name="old", read_only=True)
    _, secret = services.api_token_create(user=user, name="current", read_only=True)
    AuthToken.objects.filter(pk=old.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    client = with_token(secret)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    assert len([q for q in queries if "knox_authtoken" in q["sql"]]) == 1
    assert AuthToken.objects.filter(pk=old.pk).exists()
    assert with_token(old_secret).get(ME).status_code == 401
