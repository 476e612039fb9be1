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
    _, token = AuthToken.objects.create(user=staff)

    dump = dump_database()

    assert staff.username in dump  # the dump holds the data
    assert f"new-{marker}" in dump
    assert AuditEvent.objects.filter(action="login_failed", object_label=staff.username).exists()
    for secret in (password, guess, added, token):
        assert secret not in dump
