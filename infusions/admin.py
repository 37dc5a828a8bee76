"""The infusion policy in the admin: one row, administrators only; changes audited."""

from __future__ import annotations

from django.contrib import admin

from infusions.models import InfusionPolicy
from prescribers.policy import SignOffAdminMixin

MANAGE = "infusions.manage_infusion_policy"


@admin.register(InfusionPolicy)
class InfusionPolicyAdmin(SignOffAdminMixin, admin.ModelAdmin):
    """Each field's help text gives its default and its source (clinical-reference keys) or
    says "clinic policy" where the reference has no number."""

    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        ("Fasting (PD-01)", {"fields": ["npo_clear_liquids_min", "npo_light_meal_min", "npo_fatty_meal_min"]}),
        ("Pregnancy (CI-07)", {"fields": ["pregnancy_test_required"]}),
        (
            "Baseline vitals (BP limits are the screening policy's)",
            {
                "fields": [
                    "baseline_hr_review_above_bpm",
                    "baseline_hr_review_below_bpm",
                    "baseline_spo2_review_at_or_below_pct",
                ]
            },
        ),
        (
            "Alert thresholds during and after the infusion",
            {
                "fields": [
                    "sbp_alert_above_mmhg",
                    "dbp_alert_above_mmhg",
                    "sbp_alert_below_mmhg",
                    "dbp_alert_below_mmhg",
                    "hr_alert_above_bpm",
                    "hr_alert_below_bpm",
                    "rr_alert_above_per_min",
                    "rr_alert_below_per_min",
                    "spo2_alert_at_or_below_pct",
                    "spo2_critical_below_pct",
                    "temp_alert_above_c",
                    "moaas_alert_at_or_below",
                    "cadss6_alert_above",
                    "bp_change_alert_percent",
                ]
            },
        ),
        ("Reading cadence", {"fields": ["cadence_intra_min", "cadence_post_min", "overdue_grace_min"]}),
        (
            "Discharge",
            {
                "fields": [
                    "discharge_tool",
                    "discharge_min_score",
                    "min_observation_min",
                    "discharge_bp_percent",
                    "discharge_hr_percent",
                ]
            },
        ),
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
