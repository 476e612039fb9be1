"""A dump of the whole database holds no secret in plain text.

`dump_database()` is the check to extend: whatever secret a new feature stores (a token
shown once, a password set through a new form) goes through the same dump.
"""

import os
import shutil
import subprocess
import uuid

import pytest
from django.conf import global_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse
from knox.models import AuthToken

from audit.models import AuditEvent


def dump_database() -> str:
    """The test database as pg_dump writes it (data and schema), as text."""
    params = connection.settings_dict
    env = {**os.environ}
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    result = subprocess.run(
        [
            shutil.which("pg_dump") or "pg_dump",
            "--no-owner",
            "--host",
            params["HOST"] or "127.0.0.1",
            "--port",
            str(params["PORT"] or 5432),
            "--username",
            params["USER"],
            params["NAME"],
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_dump_holds_no_plaintext_password_or_token(client, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    if shutil.which("pg_dump") is None:
        pytest.skip("needs pg_dump (postgresql-client)")
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # the production hashers
    marker = uuid.uuid4().hex[:12]
    password, guess = f"right-{marker}-horse", f"wrong-{marker}-guess"
    staff = get_user_model().objects.create_user(
        f"dump-{marker}", password=password, is_staff=True, is_superuser=True
    )
    # A failed and a successful sign-in: the lockout records, sessions and audit log.
    client.post(reverse("login"), {"username": staff.username, "password": guess})
    assert client.post(reverse("login"), {"username": staff.username, "password": password})[
        "Location"
    ]
    # A user created in the admin, with its password typed twice.
    added = f"added-{marker}-secret"
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": f"new-{marker}",
            "password1": added,
            "password2": added,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    tokens = _api_tokens(client, staff, marker)

    dump = dump_database()

    assert staff.username in dump  # the dump holds the data
    assert f"new-{marker}" in dump
    assert AuditEvent.objects.filter(action="login_failed", object_label=staff.username).exists()
    assert AuditEvent.objects.filter(action="login_failed", note__contains="revoked").exists()
    for secret in (password, guess, added):
        assert secret not in dump
    revoked = tokens[0]
    assert revoked[:15] not in dump  # gone with its row
    for token in tokens:
        # Only the first characters of a live token (knox's lookup key) are stored.
        assert token[:15] in dump or token is revoked
        assert token not in dump
        assert token[15:] not in dump
        assert token[15:31] not in dump


def _api_tokens(client, staff, marker: str) -> list[str]:
    """Tokens issued every way there is, each used, one revoked and presented again."""
    from io import StringIO

    from django.core.management import call_command

    from api.services import api_token_create, api_token_revoke

    _, by_service = api_token_create(user=staff, name=f"service {marker}", read_only=False)
    page = client.post(reverse("tokens"), {"name": f"page {marker}", "days": "30"})
    by_page = page.context["secret"]
    out = StringIO()
    call_command(
        "api_token", "create", staff.username, "--name", "cli", stdout=out, stderr=StringIO()
    )
    by_command = out.getvalue().strip()
    _, plain_knox = AuthToken.objects.create(user=staff)  # without Redline's settings row
    tokens = [by_service, by_page, by_command, plain_knox]
    for token in tokens:
        used = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token}")
        assert used.status_code == 200, used.content
    api_token_revoke(user=staff, token_key=by_service[:15])
    refused = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {by_service}")
    assert refused.status_code == 401
    return tokens
