"""Create or refresh the PostgreSQL role the application runs as.

Run it as the database owner after every `migrate` (SECURITY.md, "Database roles"). The role
gets SELECT, INSERT, UPDATE, DELETE on the application's tables, but only SELECT and INSERT
on the append-only ones (the audit log, position revisions), read-only access to the
migration history, no TRUNCATE, no ownership and no DDL: even with its password, nothing
recorded in the log can be changed or removed.
"""

import os
import re

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from psycopg import sql

from audit.append_only import AppendOnlyQuerySet

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
APPEND_ONLY = ("SELECT", "INSERT")
READ_ONLY_TABLES = {"django_migrations"}


def append_only_tables() -> set[str]:
    return {
        model._meta.db_table
        for model in apps.get_models()
        if isinstance(model._default_manager.get_queryset(), AppendOnlyQuerySet)
    }


class Command(BaseCommand):
    help = "Create or refresh the application's PostgreSQL role (run as the database owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default="redline_app", help="role name (default %(default)s)")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="environment variable holding the role's password (never pass it as an "
            "argument: arguments are visible to every user of the machine)",
        )

    def handle(self, *args, role: str, password_env: str | None, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        if not ROLE_NAME.fullmatch(role):
            raise CommandError("Role names are lower-case letters, digits and underscores.")
        password = os.environ.get(password_env, "") if password_env else ""
        if password_env and not password:
            raise CommandError(f"{password_env} is empty or not set.")
        with transaction.atomic(), connection.cursor() as cursor:
            raw = cursor.connection

            def run(statement: sql.Composable) -> None:
                cursor.execute(statement.as_string(raw))

            created = self._ensure_role(cursor, run, role, password)
            ident = sql.Identifier(role)
            cursor.execute("SELECT current_database(), current_schema()")
            database, schema = cursor.fetchone()
            run(
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(database), ident
                )
            )
            run(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), ident))
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                [schema],
            )
            tables = [name for (name,) in cursor.fetchall()]
            guarded = append_only_tables()
            for table in tables:
                if table in READ_ONLY_TABLES:
                    privileges = ("SELECT",)
                elif table in guarded:
                    privileges = APPEND_ONLY
                else:
                    privileges = DML
                target = sql.Identifier(schema, table)
                run(sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(target, ident))
                run(
                    sql.SQL("GRANT {} ON TABLE {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in privileges), target, ident
                    )
                )
            run(
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                    sql.Identifier(schema), ident
                )
            )
        verb = "Created" if created else "Refreshed"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} role {role}: {len(tables)} tables, append-only: "
                f"{', '.join(sorted(guarded & set(tables))) or 'none'}."
            )
        )

    def _ensure_role(self, cursor, run, role: str, password: str) -> bool:
        cursor.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %s",
            [role],
        )
        row = cursor.fetchone()
        ident = sql.Identifier(role)
        options = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        if password:
            options = sql.SQL("{} PASSWORD {}").format(options, sql.Literal(password))
        if row is None:
            run(sql.SQL("CREATE ROLE {} {}").format(ident, options))
            return True
        if any(row):
            raise CommandError(
                f"{role} is a superuser or may create roles or bypass row security: the "
                "application must run as a role without those powers. Choose another name."
            )
        cursor.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditevent' LIMIT 1"
        )
        owner = cursor.fetchone()
        if owner is not None:
            cursor.execute("SELECT pg_has_role(%s, %s, 'USAGE')", [role, owner[0]])
            if cursor.fetchone()[0]:
                raise CommandError(
                    f"{role} is (or acts as) the owner of the tables: the application must "
                    "run as a separate role that owns nothing."
                )
        run(sql.SQL("ALTER ROLE {} {}").format(ident, options))
        return False
