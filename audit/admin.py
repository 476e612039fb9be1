"""The audit log in the admin (read-only), and the mixins every other admin uses.

- `AuditedAdminMixin`: every ModelAdmin of a tracked model (audit.tracking) inherits it.
  Its writes (save_model, delete_model, save_formset, save_related, delete_queryset) run
  under the admin interface, whatever URL the admin is mounted at, and are recorded by
  the tracked models' signals in the admin's transaction.
- `AssessedReadAdminMixin`: admins that can show the assessed layer record each read.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from .context import Interface, audit_context
from .models import AuditEvent
from .services import audit_assessed_read


class AuditedAdminMixin:
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        with audit_context(interface=Interface.ADMIN):
            super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        with audit_context(interface=Interface.ADMIN):
            super().save_related(request, form, formsets, change)  # type: ignore[misc]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        with audit_context(interface=Interface.ADMIN):
            super().save_formset(request, form, formset, change)  # type: ignore[misc]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with audit_context(interface=Interface.ADMIN):
            super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        with audit_context(interface=Interface.ADMIN):
            super().delete_queryset(request, queryset)  # type: ignore[misc]


class AssessedReadAdminMixin:
    """Record a read of the assessed layer for each talk whose assessed rows an admin page shows.

    `assessed_talk_path` is the lookup from the model to its talk id (e.g. "issue__talk_id");
    rows are assessed when their `layer` is "assessed".
    """

    assessed_talk_path: str = "issue__talk_id"

    def _record_assessed(self, request: HttpRequest, rows: Any, what: str) -> None:
        from talks.models import Talk

        talk_ids = set(
            rows.filter(layer="assessed").values_list(self.assessed_talk_path, flat=True)
        )
        for talk in Talk.objects.filter(pk__in=talk_ids):
            audit_assessed_read(user=request.user, talk=talk, what=what)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            pks = [obj.pk for obj in changelist.result_list]
            rows = self.model.objects.filter(pk__in=pks)  # type: ignore[attr-defined]
            name = self.model._meta.verbose_name_plural  # type: ignore[attr-defined]
            self._record_assessed(request, rows, f"admin: list of {name}")
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(  # type: ignore[misc]
            request, object_id, form_url, extra_context
        )
        if response.status_code == 200:
            rows = self.model.objects.filter(pk=object_id)  # type: ignore[attr-defined]
            name = self.model._meta.verbose_name  # type: ignore[attr-defined]
            self._record_assessed(request, rows, f"admin: {name} {object_id}")
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "username",
        "interface",
        "action",
        "object_type",
        "object_label",
        "talk_id",
        "request_id",
    ]
    list_filter = ["action", "interface", "object_type"]
    search_fields = ["username", "object_label", "object_id", "request_id", "note"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
