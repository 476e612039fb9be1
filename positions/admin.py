from django.contrib import admin

from audit.admin import AssessedReadAdminMixin, AuditedAdminMixin
from issues.admin import ReadOnlyAdmin

from .models import (
    Position,
    PositionRevision,
    Proposal,
    ProposalPhase,
    ProposalRevision,
    ProposalTerm,
    Source,
)


class PositionRevisionInline(admin.TabularInline):
    """The position's history, newest first, read-only: revisions are append-only."""

    model = PositionRevision
    extra = 0
    can_delete = False
    ordering = ["-version"]
    fields = ["version", "action", "created_at", "by", "via", "note", "changes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Position)
class PositionAdmin(AssessedReadAdminMixin, ReadOnlyAdmin):
    """Positions are changed through the app or the API, which keep their revisions."""

    list_display = [
        "issue",
        "party",
        "layer",
        "demand_display",
        "red_line_display",
        "priority",
        "confidence",
        "version",
        "updated_by",
        "updated_at",
        "deleted_at",
    ]
    list_filter = ["layer", "confidence", "status", "issue__talk", "party"]
    search_fields = ["issue__title", "party__name", "rationale", "conditions"]
    list_select_related = ["issue", "party", "demand_option", "red_line_option", "updated_by"]
    inlines = [PositionRevisionInline]

    @admin.display(description="demand")
    def demand_display(self, obj: Position) -> str:
        return str(obj.demand_option or obj.demand_value)

    @admin.display(description="red line")
    def red_line_display(self, obj: Position) -> str:
        if obj.red_line_option_id or obj.red_line_value is not None:
            return str(obj.red_line_option or obj.red_line_value)
        return ", ".join(o.label for o in obj.acceptable_options.all())


@admin.register(PositionRevision)
class PositionRevisionAdmin(AssessedReadAdminMixin, ReadOnlyAdmin):
    list_display = ["position", "version", "action", "by", "via", "created_at", "note"]
    list_filter = ["action", "via", "layer", "issue__talk"]
    search_fields = ["note", "party__name", "issue__title"]
    list_select_related = ["position__issue", "position__party", "by"]
    date_hierarchy = "created_at"


@admin.register(Source)
class SourceAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "talk", "publisher", "published_on", "reliability"]
    list_filter = ["reliability", "talk"]
    search_fields = ["title", "publisher", "url", "notes"]
    list_select_related = ["talk"]


class ProposalPhaseInline(admin.TabularInline):
    model = ProposalPhase
    extra = 0
    fields = ["number", "title", "trigger"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ProposalTermInline(admin.TabularInline):
    model = ProposalTerm
    extra = 0
    fields = ["issue", "phase", "value_number", "value_option"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ProposalRevisionInline(PositionRevisionInline):
    model = ProposalRevision
    fields = ["version", "created_at", "by", "via", "note", "changes"]
    readonly_fields = fields


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    """Proposals are changed through the app or the API, which keep their revisions."""

    list_display = ["title", "talk", "mediator", "status", "version", "updated_by", "updated_at"]
    list_filter = ["status", "talk", "mediator"]
    search_fields = ["title", "summary", "talk__title"]
    list_select_related = ["talk", "mediator", "updated_by"]
    inlines = [ProposalPhaseInline, ProposalTermInline, ProposalRevisionInline]


@admin.register(ProposalRevision)
class ProposalRevisionAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "version", "by", "via", "created_at", "note"]
    list_filter = ["via", "proposal__talk"]
    search_fields = ["note", "proposal__title"]
    list_select_related = ["proposal", "by"]
    date_hierarchy = "created_at"
