"""The whole application runs as the role `db_app_role` makes, which owns nothing: the import,
sign-ins and lockout records, pages, the API with tokens, refused tokens on record, the
recomputation, the audit log page. What docker-compose.yml does (SECURITY.md, "Database
roles"), shown on the real database."""

import io
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import ProgrammingError, connection
from django.urls import reverse

from audit.models import AuditEvent
from issues.models import GapSummaryHistory
from positions.models import Position

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def as_app_role(monkeypatch):
    """Switch the test's connection to a fresh application role; the owner comes back after
    (to flush the tables and drop the role)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")
    role = f"redline_app_test_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    monkeypatch.setenv("REDLINE_TEST_APP_DB_PASSWORD", password)
    call_command(
        "db_app_role", role=role, password_env="REDLINE_TEST_APP_DB_PASSWORD", stdout=io.StringIO()
    )
    owner = {key: connection.settings_dict[key] for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update({"USER": role, "PASSWORD": password})
    try:
        yield role
    finally:
        connection.close()
        connection.settings_dict.update(owner)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def test_the_application_works_as_a_role_that_owns_nothing(as_app_role, client, settings):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == as_app_role

    call_command("load_demo", stdout=io.StringIO())  # `docker compose exec web ... load_demo`

    wrong = client.post(reverse("login"), {"username": "analyst", "password": "not it at all"})
    assert wrong.status_code == 200
    signed_in = client.post(
        reverse("login"), {"username": "analyst", "password": "redline-analyst-demo"}
    )
    assert signed_in.status_code == 302
    assert client.get("/talks/gaza-ceasefire/?layer=assessed").status_code == 200

    position = Position.objects.get(issue__key="ceasefire", party__name="Israel", layer="declared")
    edit = reverse("talks:position_edit", args=["gaza-ceasefire", position.pk])
    form = client.get(edit).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"red_line": "200", "note": "moved, as the app role"})
    history_before = GapSummaryHistory.objects.count()
    assert client.post(edit, data).status_code == 302
    position.refresh_from_db()
    assert (position.version, position.red_line_value) == (2, 200)
    assert GapSummaryHistory.objects.count() > history_before  # recomputed and recorded

    created = client.post(reverse("tokens"), {"name": "script", "days": "7"})
    secret = created.context["secret"]
    api = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    response = client.patch(
        f"/api/v1/positions/{position.pk}/",
        data='{"priority": 2, "note": "through the API"}',
        content_type="application/json",
        HTTP_IF_MATCH='"2"',
        **api,
    )
    assert response.status_code == 200, response.content
    refused = client.get("/api/v1/talks/", HTTP_AUTHORIZATION="Token rl_not-a-token")
    assert refused.status_code == 401
    assert client.get(reverse("audit:log")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302

    actions = set(AuditEvent.objects.values_list("interface", "action"))
    assert {
        ("import", "create"),
        ("web", "login_failed"),
        ("web", "login"),
        ("web", "read"),
        ("web", "update"),
        ("api", "update"),
        ("api", "login_failed"),
        ("web", "logout"),
    } <= actions

    # And it is the role that owns nothing: no schema change, no rewriting the record.
    with connection.cursor() as cursor:
        for statement in (
            "CREATE TABLE redline_intruder (id int)",
            "ALTER TABLE talks_talk ADD COLUMN intruder int",
            "DELETE FROM audit_auditevent",
            "TRUNCATE positions_positionrevision",
        ):
            with pytest.raises(ProgrammingError) as refused_sql:
                cursor.execute(statement)
            assert isinstance(refused_sql.value.__cause__, psycopg.errors.InsufficientPrivilege)
