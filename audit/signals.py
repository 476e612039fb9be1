"""Sign-ins and sign-outs go on record; Celery tasks run under their own request id."""

from contextlib import suppress
from typing import Any

from celery.signals import task_postrun, task_prerun
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from . import context
from .models import AuditEvent
from .services import audit_record

Action = AuditEvent.Action

_task_tokens: dict[str, Any] = {}


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(
        action=Action.LOGIN, object_type="auth.user", object_id=user.pk, label=str(user), user=user
    )


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(
            action=Action.LOGOUT,
            object_type="auth.user",
            object_id=user.pk,
            label=str(user),
            user=user,
        )


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any):
    # Django masks the password in `credentials`; only the name tried is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        action=Action.LOGIN_FAILED,
        object_type="auth.user",
        label=username,
        user=None,
        note="Wrong username or password, or locked out.",
    )


def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _task_tokens[task_id] = context.activate(
            context.AuditContext(
                interface=context.Interface.COMMAND, request_id=f"task-{task_id}"[:64]
            )
        )


def _task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        # Set in another thread's context (a pool that hops threads): nothing to undo.
        with suppress(ValueError):
            context.deactivate(token)


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="audit:login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit:logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit:login-failed")
    task_prerun.connect(_task_started, dispatch_uid="audit:task-started", weak=False)
    task_postrun.connect(_task_finished, dispatch_uid="audit:task-finished", weak=False)
