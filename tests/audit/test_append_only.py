import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from audit.append_only import AppendOnlyError
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return audit_record(action="create", object_type="talks.talk", object_id=1, label="A talk")


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL")


def test_audit_events_cannot_be_changed_or_deleted_through_the_app(event):
    event.object_label = "rewritten"
    with pytest.raises(AppendOnlyError, match="append-only"):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    events = AuditEvent.objects.filter(pk=event.pk)
    with pytest.raises(AppendOnlyError):
        events.update(object_label="rewritten")
    with pytest.raises(AppendOnlyError):
        events.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["object_label"])
    event.refresh_from_db()
    assert event.object_label == "A talk"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditevent SET object_label = 'rewritten'", "DELETE FROM audit_auditevent"],
)
def test_postgres_refuses_update_and_delete_of_audit_events_even_to_the_owner(event, sql):
    needs_postgres()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEvent.objects.filter(pk=event.pk, object_label="A talk").exists()


INSERT = """
INSERT INTO audit_auditevent (created_at, username, interface, request_id, action,
    object_type, object_id, object_label, changes, note)
VALUES (now(), 'intruder', 'web', 'r-12345678', 'login', '', '', 'inserted by the app role',
    '{}', '')
RETURNING id
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_application_role_can_append_to_the_log_but_not_alter_it(monkeypatch):
    """The role made by `db_app_role` inserts audit rows; UPDATE, DELETE, TRUNCATE are refused."""
    needs_postgres()
    role = f"redline_app_test_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    monkeypatch.setenv("REDLINE_TEST_APP_DB_PASSWORD", password)
    audit_record(action="create", object_type="talks.talk", object_id=1, label="kept")
    call_command("db_app_role", role=role, password_env="REDLINE_TEST_APP_DB_PASSWORD")
    params = connection.settings_dict
    try:
        with psycopg.connect(
            host=params["HOST"] or "127.0.0.1",
            port=params["PORT"] or 5432,
            dbname=params["NAME"],
            user=role,
            password=password,
            autocommit=True,
        ) as conn:
            inserted = conn.execute(INSERT).fetchone()[0]
            assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] == 2
            # Ordinary tables stay writable: the app works as usual.
            conn.execute("UPDATE talks_talk SET title = title")
            for statement in (
                "UPDATE audit_auditevent SET object_label = 'rewritten'",
                "DELETE FROM audit_auditevent",
                "TRUNCATE audit_auditevent",
                "UPDATE positions_positionrevision SET note = 'rewritten'",
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only",
                "DELETE FROM django_migrations",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(statement)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')
    labels = set(AuditEvent.objects.values_list("object_label", flat=True))
    assert labels == {"kept", "inserted by the app role"}
    assert AuditEvent.objects.filter(pk=inserted).exists()


@pytest.mark.postgres
def test_the_role_command_refuses_to_grant_to_the_tables_owner():
    needs_postgres()
    from django.core.management.base import CommandError

    owner = connection.settings_dict["USER"]
    with pytest.raises(CommandError, match=r"superuser|owner"):
        call_command("db_app_role", role=owner)
