"""Celery application. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery
from celery.signals import beat_init, task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("redline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _require_secret_key(**kwargs) -> None:
    """A worker or beat without its SECRET_KEY does not start. Celery logs and swallows
    what a signal receiver raises, except an exit."""
    from django.core.exceptions import ImproperlyConfigured

    from .checks import require_secret_key

    try:
        require_secret_key()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"ImproperlyConfigured: {exc}") from exc


@task_prerun.connect
@task_postrun.connect
def _close_old_database_connections(sender=None, **kwargs) -> None:
    """Treat each task like a request: drop a broken or expired database connection.

    CELERY_DB_REUSE_MAX stops Celery from closing the connection around every task, which
    also means a connection broken by a database restart would otherwise be reused (and
    fail) until that many tasks have run. Django's own request hooks do this for the web.
    """
    request = getattr(sender, "request", None)
    if request is None or getattr(request, "is_eager", False):
        # In-process tasks run inside the caller's request or transaction: leave it alone.
        return
    from django.db import close_old_connections

    close_old_connections()
