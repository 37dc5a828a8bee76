"""Administrators manage sites, chairs, rooms and hours here; appointments are read-only.

Appointments change only through the services (transitions are recorded and
audited there), so the admin shows them without add, change or delete.
Configuration changes made here are audited as "configuration" events.
"""

from __future__ import annotations

from django.contrib import admin

from accounts import audit
from core.audit import Category, Verb
from scheduling.models import (
    Appointment,
    AppointmentStatusChange,
    AppointmentType,
    ClinicianHours,
    Closure,
    Location,
    OpeningHours,
    Resource,
    StaffLocation,
)

MANAGE = "scheduling.manage_locations"


class ManagedByLocationAdmins:
    """Permissions come from ``scheduling.manage_locations``, not per-model Django perms."""

    def has_module_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)


class AuditedAdmin(ManagedByLocationAdmins, admin.ModelAdmin):
    def _audit(self, request, obj, verb: Verb, changes=None):
        label = obj._meta.model_name
        audit.record(
            actor=request.user,
            action=f"scheduling.{label}.{'created' if verb == 'create' else verb + 'd'}",
            verb=verb,
            category=Category.CONFIGURATION,
            target=obj,
            changes=changes or {},
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
        self._audit(request, obj, Verb.UPDATE if change else Verb.CREATE, changed)

    def delete_model(self, request, obj):
        self._audit(request, obj, Verb.DELETE)
        super().delete_model(request, obj)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            self._audit(request, deleted, Verb.DELETE)
            deleted.delete()
        for instance in instances:
            created = instance.pk is None
            instance.save()
            self._audit(request, instance, Verb.CREATE if created else Verb.UPDATE)
        formset.save_m2m()


class OpeningHoursInline(ManagedByLocationAdmins, admin.TabularInline):
    model = OpeningHours
    extra = 0


class ClosureInline(ManagedByLocationAdmins, admin.TabularInline):
    model = Closure
    extra = 0


class ResourceInline(ManagedByLocationAdmins, admin.TabularInline):
    model = Resource
    extra = 0
    fields = ["kind", "name", "sort_order", "active"]


@admin.register(Location)
class LocationAdmin(AuditedAdmin):
    list_display = ["name", "time_zone", "monitoring_capacity", "no_show_grace_minutes", "active"]
    inlines = [OpeningHoursInline, ClosureInline, ResourceInline]


@admin.register(ClinicianHours)
class ClinicianHoursAdmin(AuditedAdmin):
    list_display = ["clinician", "location", "weekday", "starts", "ends"]
    list_filter = ["location", "weekday"]
    autocomplete_fields = []
    list_select_related = ["clinician", "location"]


@admin.register(AppointmentType)
class AppointmentTypeAdmin(AuditedAdmin):
    list_display = [
        "name",
        "code",
        "default_minutes",
        "infusion_minutes",
        "recovery_minutes",
        "resource_kind",
        "clinician_exclusive",
        "requires_escort",
        "active",
    ]


class StatusChangeInline(admin.TabularInline):
    model = AppointmentStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "by", "at", "reason"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["id", "start", "location", "resource", "appointment_type", "status"]
    list_filter = ["location", "status", "appointment_type"]
    list_select_related = ["location", "resource", "appointment_type"]
    date_hierarchy = "start"
    inlines = [StatusChangeInline]
    raw_id_fields = ["patient", "clinician", "rescheduled_from", "series", "escort_confirmed_by", "created_by"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_module_permission(self, request):
        return request.user.has_perm(MANAGE)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StaffLocation)
class StaffLocationAdmin(admin.ModelAdmin):
    """Who works where: what a user who is not chain-wide sees. A change of someone's access, so
    it needs the permission to change users and is audited as a privilege change."""

    list_display = ["user", "location"]
    list_filter = ["location"]
    list_select_related = ["user", "location"]
    search_fields = ["user__username", "user__last_name"]
    autocomplete_fields = ["user"]

    def _may(self, request) -> bool:
        return request.user.has_perm("accounts.change_user")

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return self._may(request)

    def _audit(self, request, obj, action: str, changes: dict) -> None:
        audit.record(
            actor=request.user,
            action=f"scheduling.stafflocation.{action}",
            verb=Verb.PRIVILEGE_CHANGE,
            category=Category.SECURITY,
            target=obj.user,
            changes=changes,
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "assigned", {"location": [None, obj.location.name]})

    def delete_model(self, request, obj):
        self._audit(request, obj, "removed", {"location": [obj.location.name, None]})
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset.select_related("user", "location"):
            self.delete_model(request, obj)
