"""Administrators manage the protocol library and the screening thresholds here.

Consultations and plans are clinical records: read-only in the admin (their own pages,
services and triggers are the only way to change them).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from consultations import rules, services
from consultations.models import Consultation, Protocol, ScreeningPolicy, TreatmentPlan
from consultations.models.configuration import PROTOCOL_SIGN_OFF_FIELDS
from prescribers.policy import SignOffAdminMixin, policy_change_propose


class _ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScreeningPolicyForm(forms.ModelForm):
    """The admin's form (the admin makes it for the model): thresholds that contradict each other are refused."""

    def clean(self):
        super().clean()
        data = self.cleaned_data
        values = {f: data.get(f, getattr(self.instance, f)) for f in rules.ScreeningThresholds.__dataclass_fields__}
        try:
            rules.ScreeningThresholds(**values)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        return data


@admin.register(ScreeningPolicy)
class ScreeningPolicyAdmin(SignOffAdminMixin, admin.ModelAdmin):
    """One row. Each field's help text gives its default, its status (sourced, clinic policy,
    UNVERIFIED) and its clinical-reference source keys."""

    readonly_fields = ["updated_at", "updated_by"]
    fieldsets = [
        (
            "Blood pressure (CI-04 hard stop, CI-05 review)",
            {
                "fields": [
                    "bp_hard_stop_systolic_mmhg",
                    "bp_hard_stop_diastolic_mmhg",
                    "bp_relative_systolic_mmhg",
                    "bp_relative_diastolic_mmhg",
                ]
            },
        ),
        ("Class of findings", {"fields": ["bp_hazard_condition_absolute", "severe_hepatic_disease_absolute"]}),
        ("Treatment-resistant depression", {"fields": ["trd_min_adequate_trials"]}),
        ("Last change", {"fields": ["updated_at", "updated_by"]}),
    ]

    form = ScreeningPolicyForm

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("consultations.manage_screening_policy")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("consultations.manage_screening_policy")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        ScreeningPolicy.objects.get_or_create(pk=1)
        return super().get_queryset(request)


@admin.register(Protocol)
class ProtocolAdmin(admin.ModelAdmin):
    list_display = ["name", "dose_text", "infusion_minutes", "sessions", "sessions_per_week", "active"]
    list_filter = ["active", "dose_unit"]
    search_fields = ["name"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("consultations.manage_protocols")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("consultations.manage_protocols")

    def has_add_permission(self, request):
        return request.user.has_perm("consultations.manage_protocols")

    def has_delete_permission(self, request, obj=None):
        return False  # plans point at protocols: retire one with "active" instead

    def save_model(self, request, obj, form, change):
        """A new protocol saves as usual (no plan rests on it yet). An edit of its dosing figures
        is a clinical policy change: those figures wait for the medical director's sign-off
        (already checked against their hard bounds at the form), the rest saves now."""
        dosing = [name for name in form.changed_data if name in PROTOCOL_SIGN_OFF_FIELDS] if change else []
        if not dosing:
            services.protocol_save(protocol=obj, by=request.user, created=not change)
            return
        proposed = {name: form.cleaned_data[name] for name in dosing}
        stored = Protocol.objects.get(pk=obj.pk)
        for name in dosing:
            setattr(obj, name, getattr(stored, name))
        if set(form.changed_data) - set(dosing):
            services.protocol_save(protocol=obj, by=request.user, created=False)
        if policy_change_propose(policy=obj, by=request.user, after=proposed) is not None:
            messages.warning(
                request,
                "The dose figures were saved as a proposal: they change only when the medical director "
                "signs it off (Clinical policy changes).",
            )


@admin.register(Consultation)
class ConsultationAdmin(_ReadOnlyAdmin):
    list_display = ["id", "patient_mrn", "status", "decision", "screening_outcome", "signed_at"]
    list_filter = ["status", "decision"]
    list_select_related = ["patient"]
    search_fields = ["patient__mrn"]
    exclude = ["signed_content", "screening"]

    @admin.display(description="MRN")
    def patient_mrn(self, obj):
        return obj.patient.mrn


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(_ReadOnlyAdmin):
    list_display = ["id", "patient_mrn", "indication", "protocol", "status", "created_at"]
    list_filter = ["status", "indication"]
    list_select_related = ["patient", "protocol"]
    search_fields = ["patient__mrn"]

    @admin.display(description="MRN")
    def patient_mrn(self, obj):
        return obj.patient.mrn
