"""The infusion policy in the admin: one row, administrators only; changes audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from infusions import rules
from infusions.models import InfusionPolicy, RescueDrug
from prescribers.policy import SignOffAdminMixin

MANAGE = "infusions.manage_infusion_policy"


# (group, its fields) for each group of rules.SETTINGS, in their order.
SETTING_GROUPS: list[tuple[str, Any]] = [
    (group, {"fields": [s.name for s in rules.SETTINGS if s.group == group]})
    for group in dict.fromkeys(s.group for s in rules.SETTINGS)
]


@admin.register(InfusionPolicy)
class InfusionPolicyAdmin(SignOffAdminMixin, admin.ModelAdmin):
    """Each field's help text gives its default, its source (clinical-reference keys) or
    "clinic policy" where the reference has no number, and its allowed range; grouped as
    ``rules.SETTINGS`` groups them."""

    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        ("Pregnancy (CI-07)", {"fields": ["pregnancy_test_required"]}),
        *SETTING_GROUPS,
        ("Discharge tool", {"fields": ["discharge_tool"]}),
        (
            "Pump (device configuration)",
            {"fields": ["pump_min_rate_ml_per_h", "pump_max_rate_ml_per_h", "pump_max_total_ml"]},
        ),
        ("Last change", {"fields": ["updated_at", "updated_by"]}),
    ]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        InfusionPolicy.objects.get_or_create(pk=1)
        return super().get_queryset(request)


@admin.register(RescueDrug)
class RescueDrugAdmin(admin.ModelAdmin):
    """The clinic's rescue formulary: administrators add, edit or retire items (retire, not
    delete: doses already given keep pointing at their item). A controlled item needs its DEA
    schedule; each dose given of it is listed for the controlled-substance log."""

    list_display = ["name", "default_dose", "dose_unit", "route", "controlled", "dea_schedule", "source", "active"]
    list_filter = ["controlled", "active"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE)

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE)

    def has_delete_permission(self, request, obj=None):
        return False
