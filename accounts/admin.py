from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.urls import reverse
from django.utils.html import format_html

from accounts.models import AuditEvent, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Clinic", {"fields": ("display_name", "credentials", "chain_wide")}),
        ("Two-factor sign-in", {"fields": ("two_factor",)}),
    )
    readonly_fields = ("two_factor",)
    list_display = ("username", "display_name", "credentials", "is_active", "is_staff")

    @admin.display(description="Lost phone and recovery codes")
    def two_factor(self, obj):
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">Reset two-factor sign-in…</a>', reverse("accounts:two-factor-reset", args=[obj.pk])
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the database refuses changes anyway; the admin does not offer them."""

    list_display = ("at", "actor_username", "role", "patient_mrn", "action", "outcome")
    list_filter = ("verb", "outcome", "data_category")
    search_fields = ("actor_username", "patient_mrn", "action")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
