"""The deployment checks, run the way an operator would run them."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-like-9f8e7d6c5b4a3f2e1d0c-9b8a7f6e5d4c3b2a1f0e-abcdefghijklmnop",
    "ALLOWED_HOSTS": "redline.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://redline.example.org",
    "DATABASE_URL": "sqlite:////tmp/redline-check-deploy.sqlite3",
}


# Variables the test run sets for itself, which a production environment would not have.
LOCAL_ONLY = {
    "HTTPS",
    "DEBUG",
    "SECRET_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "STATIC_MANIFEST",
    "WHITENOISE_USE_FINDERS",
    "API_THROTTLE_ANON",
    "API_THROTTLE_USER",
    "SIGN_IN_THROTTLE",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "manage.py", *args], env=env)


def python(code: str, *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Python code run in a fresh process with the project's settings, as a server would."""
    return _run(
        [sys.executable, "-c", code], env={"DJANGO_SETTINGS_MODULE": "config.settings", **env}
    )


def _run(command: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in LOCAL_ONLY}
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_prints_no_warning_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("check", "--deploy", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    for start in (
        "import config.wsgi",
        "import config.asgi",
        "import django; django.setup(); from celery.signals import worker_init; "
        "worker_init.send(sender=None)",
        "import django; django.setup(); from celery.signals import beat_init; "
        "beat_init.send(sender=None)",
    ):
        process = python(start, env=env)
        assert process.returncode != 0, start
        assert "SECRET_KEY must be set" in process.stderr, start
    # With the key, the same processes start.
    assert python("import config.wsgi", env=PRODUCTION_ENV).returncode == 0


def test_commands_that_sign_nothing_run_without_a_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = manage("makemigrations", "--check", "--dry-run", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_models_and_migrations_agree():
    result = manage("makemigrations", "--check", "--dry-run", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_embedded_default_migrates_and_loads_the_demo_on_sqlite(tmp_path):
    """What `make run` does on a fresh machine: SQLite, no broker, in-process tasks."""
    env = {
        "DEBUG": "true",
        "HTTPS": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'redline.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    loaded = manage("load_demo", env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "analyst   redline-analyst-demo" in loaded.stdout
    again = manage("load_demo", env=env)
    assert "(0 rows created)" in again.stdout
