"""Start-up guards of a production process.

Without DEBUG the application needs a SECRET_KEY of its own. The settings load without one,
so that commands that sign nothing (`makemigrations --check`, `collectstatic`) run anywhere;
the processes that serve or work refuse to start instead: the WSGI and ASGI applications,
the Celery worker and beat, and `manage.py check --deploy`.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

NO_SECRET_KEY = "SECRET_KEY must be set when DEBUG is off."  # noqa: S105 (a message)


def require_secret_key() -> None:
    try:
        key = settings.SECRET_KEY  # Django refuses to hand out an empty one
    except ImproperlyConfigured:
        key = ""
    if not key:
        raise ImproperlyConfigured(NO_SECRET_KEY)


@register(Tags.security, deploy=True)
def check_secret_key(app_configs: Any, **kwargs: Any) -> list[Error]:
    try:
        require_secret_key()
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="redline.E001")]
    return []
