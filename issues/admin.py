from django.contrib import admin

from audit.admin import AssessedReadAdminMixin, AuditedAdminMixin

from .models import GapSummary, GapSummaryHistory, Issue, IssueOption


class IssueOptionInline(admin.TabularInline):
    model = IssueOption
    extra = 0
    fields = ["order", "key", "label", "description"]


@admin.register(Issue)
class IssueAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "talk", "key", "scale_kind", "priority", "order"]
    list_filter = ["scale_kind", "priority", "talk"]
    search_fields = ["title", "key", "description", "talk__title"]
    list_select_related = ["talk"]
    inlines = [IssueOptionInline]


@admin.register(IssueOption)
class IssueOptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["label", "issue", "key", "order"]
    list_filter = ["issue__talk", "issue"]
    search_fields = ["label", "key", "issue__title"]
    list_select_related = ["issue"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Computed rows: written by the recomputation service only."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GapSummary)
class GapSummaryAdmin(AssessedReadAdminMixin, ReadOnlyAdmin):
    list_display = [
        "issue",
        "layer",
        "status",
        "gap",
        "zone_width",
        "pending",
        "computed_rev",
        "requested_rev",
        "compute_count",
        "computed_at",
    ]
    list_filter = ["layer", "status", "pending", "issue__talk"]
    search_fields = ["issue__title", "issue__key", "narrative"]
    list_select_related = ["issue"]


@admin.register(GapSummaryHistory)
class GapSummaryHistoryAdmin(AssessedReadAdminMixin, ReadOnlyAdmin):
    list_display = ["issue", "layer", "rev", "status", "gap", "zone_width", "computed_at"]
    list_filter = ["layer", "status", "issue__talk"]
    search_fields = ["issue__title", "issue__key", "narrative"]
    list_select_related = ["issue"]
    date_hierarchy = "computed_at"
