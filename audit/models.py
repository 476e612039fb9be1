from django.conf import settings
from django.db import models
from django.utils import timezone

from .append_only import AppendOnlyModel
from .context import Interface


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DELETE = "delete", "Deleted"
    READ = "read", "Read the assessed layer"
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Sign-in failed"


class AuditEvent(AppendOnlyModel):
    """One change, sign-in or read of the assessed layer, as it happened. Never changed.

    `talk` and `user` keep their ids even after the talk or user is deleted (no database
    constraint, nothing cascades into the log); `username` keeps the name for reading.
    """

    Action = AuditAction

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    interface = models.CharField(max_length=16, choices=Interface.choices)
    request_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=300, blank=True)
    talk = models.ForeignKey(
        "talks.Talk",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # {field: {"before": value, "after": value}} for each changed field.
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["talk", "created_at"], name="audit_talk_time"),
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["user", "created_at"], name="audit_user_time"),
            models.Index(fields=["request_id"], name="audit_request"),
            models.Index(fields=["created_at"], name="audit_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=AuditAction.values),
                name="audit_action_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(interface__in=Interface.values),
                name="audit_interface_valid",
            ),
        ]

    def __str__(self) -> str:
        who = self.username or "system"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.object_label}"
