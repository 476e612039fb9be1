from django.contrib import admin

from audit.admin import AuditedAdminMixin

from .models import Membership, Party, Round, Talk, TalkParty


class TalkPartyInline(admin.TabularInline):
    model = TalkParty
    extra = 0
    autocomplete_fields = ["party"]


class RoundInline(admin.TabularInline):
    model = Round
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Talk)
class TalkAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["title", "slug", "status", "started_on", "updated_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug", "description"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [TalkPartyInline, RoundInline, MembershipInline]


@admin.register(Party)
class PartyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "short_name"]
    search_fields = ["name", "short_name"]


@admin.register(TalkParty)
class TalkPartyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["party", "talk", "role"]
    list_filter = ["role", "talk"]
    search_fields = ["party__name", "talk__title"]
    list_select_related = ["party", "talk"]


@admin.register(Round)
class RoundAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["talk", "number", "place", "starts_on", "ends_on"]
    list_filter = ["talk"]
    search_fields = ["talk__title", "place", "title", "notes"]
    list_select_related = ["talk"]


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "talk", "role", "created_at"]
    list_filter = ["role", "talk"]
    search_fields = ["user__username", "user__email", "talk__title"]
    list_select_related = ["user", "talk"]
    autocomplete_fields = ["user"]
