"""Invariants that span tables, held by the database itself.

- A position's options (demand, red line, acceptable set) belong to the position's issue.
- A position's party takes part in the talk of its issue.
- On PostgreSQL, position revisions are append-only: UPDATE and DELETE are refused.
  (TRUNCATE stays possible for the owner: it is how test databases are reset.)
"""

from django.db import migrations

OPTION_MISMATCH = "position option belongs to another issue"
PARTY_MISMATCH = "position party takes no part in the talk of its issue"

SQLITE_POSITION_CHECK = f"""
CREATE TRIGGER position_guard_{{op}} BEFORE {{event}} ON positions_position
FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, '{OPTION_MISMATCH}')
    WHERE (NEW.demand_option_id IS NOT NULL AND
           (SELECT issue_id FROM issues_issueoption WHERE id = NEW.demand_option_id)
           != NEW.issue_id)
       OR (NEW.red_line_option_id IS NOT NULL AND
           (SELECT issue_id FROM issues_issueoption WHERE id = NEW.red_line_option_id)
           != NEW.issue_id);
    SELECT RAISE(ABORT, '{PARTY_MISMATCH}')
    WHERE NOT EXISTS (
        SELECT 1 FROM talks_talkparty tp JOIN issues_issue i ON i.talk_id = tp.talk_id
        WHERE i.id = NEW.issue_id AND tp.party_id = NEW.party_id);
END;
"""

SQLITE_ACCEPTABLE_CHECK = f"""
CREATE TRIGGER acceptable_option_guard_{{op}} BEFORE {{event}} ON positions_positionacceptableoption
FOR EACH ROW BEGIN
    SELECT RAISE(ABORT, '{OPTION_MISMATCH}')
    WHERE (SELECT issue_id FROM issues_issueoption WHERE id = NEW.option_id)
          != (SELECT issue_id FROM positions_position WHERE id = NEW.position_id);
END;
"""

SQLITE_FORWARD = [
    SQLITE_POSITION_CHECK.format(op="insert", event="INSERT"),
    SQLITE_POSITION_CHECK.format(op="update", event="UPDATE"),
    SQLITE_ACCEPTABLE_CHECK.format(op="insert", event="INSERT"),
    SQLITE_ACCEPTABLE_CHECK.format(op="update", event="UPDATE"),
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS position_guard_insert;",
    "DROP TRIGGER IF EXISTS position_guard_update;",
    "DROP TRIGGER IF EXISTS acceptable_option_guard_insert;",
    "DROP TRIGGER IF EXISTS acceptable_option_guard_update;",
]

POSTGRES_FORWARD = [
    f"""
    CREATE FUNCTION positions_position_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (NEW.demand_option_id IS NOT NULL AND
            (SELECT issue_id FROM issues_issueoption WHERE id = NEW.demand_option_id)
            IS DISTINCT FROM NEW.issue_id)
           OR (NEW.red_line_option_id IS NOT NULL AND
            (SELECT issue_id FROM issues_issueoption WHERE id = NEW.red_line_option_id)
            IS DISTINCT FROM NEW.issue_id) THEN
            RAISE EXCEPTION '{OPTION_MISMATCH}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM talks_talkparty tp JOIN issues_issue i ON i.talk_id = tp.talk_id
            WHERE i.id = NEW.issue_id AND tp.party_id = NEW.party_id) THEN
            RAISE EXCEPTION '{PARTY_MISMATCH}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$;
    """,
    """
    CREATE TRIGGER position_guard BEFORE INSERT OR UPDATE ON positions_position
    FOR EACH ROW EXECUTE FUNCTION positions_position_guard();
    """,
    f"""
    CREATE FUNCTION positions_acceptable_option_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT issue_id FROM issues_issueoption WHERE id = NEW.option_id)
           IS DISTINCT FROM (SELECT issue_id FROM positions_position WHERE id = NEW.position_id)
        THEN
            RAISE EXCEPTION '{OPTION_MISMATCH}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END $$;
    """,
    """
    CREATE TRIGGER acceptable_option_guard
    BEFORE INSERT OR UPDATE ON positions_positionacceptableoption
    FOR EACH ROW EXECUTE FUNCTION positions_acceptable_option_guard();
    """,
    """
    CREATE FUNCTION positions_revision_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION USING
            MESSAGE = 'position revisions are append-only: ' || TG_OP || ' refused',
            ERRCODE = 'restrict_violation';
    END $$;
    """,
    """
    CREATE TRIGGER revision_append_only BEFORE UPDATE OR DELETE ON positions_positionrevision
    FOR EACH ROW EXECUTE FUNCTION positions_revision_append_only();
    """,
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS revision_append_only ON positions_positionrevision;",
    "DROP FUNCTION IF EXISTS positions_revision_append_only();",
    "DROP TRIGGER IF EXISTS acceptable_option_guard ON positions_positionacceptableoption;",
    "DROP FUNCTION IF EXISTS positions_acceptable_option_guard();",
    "DROP TRIGGER IF EXISTS position_guard ON positions_position;",
    "DROP FUNCTION IF EXISTS positions_position_guard();",
]


def forward(apps, schema_editor):
    statements = {"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    statements = {"postgresql": POSTGRES_BACKWARD, "sqlite": SQLITE_BACKWARD}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("positions", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
