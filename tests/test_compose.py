"""docker-compose.yml runs the application as the role that owns nothing (SECURITY.md): a
one-shot `migrate` service, the only one given the owner's password, applies the migrations
and makes the role; web, worker and beat start after it and connect as that role.
tests/audit/test_app_role.py shows the application working as such a role."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
APP = ("web", "worker", "beat")


def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def database_user(service: dict) -> str:
    url = service["environment"]["DATABASE_URL"]
    return url.removeprefix("postgres://").split(":", 1)[0]


def test_web_worker_and_beat_connect_as_the_application_role_after_the_migrations():
    found = services()
    for name in APP:
        assert database_user(found[name]) == "redline_app", name
        assert found[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert "migrate" not in found[name]["command"], name
        assert "DB_OWNER_PASSWORD" not in str(found[name]["environment"]), name


def test_only_the_one_shot_migrate_service_runs_as_the_owner():
    found = services()
    migrate = found["migrate"]
    owner = found["postgres"]["environment"]["POSTGRES_USER"]
    assert database_user(migrate) == owner != "redline_app"
    assert migrate["restart"] == "no"
    command = " ".join(migrate["command"].split())
    assert "manage.py migrate --noinput && " in command
    assert "manage.py db_app_role --role redline_app --password-env APP_DB_PASSWORD" in command
    owners = [name for name, s in found.items() if "DB_OWNER_PASSWORD" in str(s)]
    assert sorted(owners) == ["migrate", "postgres"]
