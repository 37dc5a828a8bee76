"""The treatment plan and its append-only status history."""

from __future__ import annotations

import functools
import operator
from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from consultations.choices import (
    LIVE_PLAN_STATUSES,
    DoseUnit,
    IndicationChoice,
    PlanStatus,
    WeightBasis,
)
from consultations.models._tracking import _tracked
from consultations.models.configuration import Protocol
from consultations.models.consultation import Consultation
from core.triggers import append_only

_PLAN_CLINICAL_FIELDS = (
    "indication",
    "protocol",
    "dose",
    "dose_unit",
    "infusion_minutes",
    "weight_basis",
    "max_dose_mg",
    "sessions_planned",
    "sessions_per_week",
    "measurement_schedule",
    "dose_override_reason",
    "consultation",
    "patient",
)


def _any_changed(names: tuple[str, ...]) -> pgtrigger.Q:
    return functools.reduce(
        operator.or_, (pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")}) for name in names)
    )


@_tracked()
class TreatmentPlan(models.Model):
    """The course agreed after a signed, non-ineligible consultation. Its clinical content
    is fixed once it leaves draft (database trigger); after that only the status moves."""

    Status = PlanStatus

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="plans")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="treatment_plans")
    indication = models.CharField(max_length=20, choices=IndicationChoice.choices)
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="plans")
    dose = models.DecimalField(max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))])
    dose_unit = models.CharField(max_length=20, choices=DoseUnit.choices)
    infusion_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1440)])
    weight_basis = models.CharField(max_length=10, choices=WeightBasis.choices, default=WeightBasis.ACTUAL)
    max_dose_mg = models.DecimalField(
        "Maximum dose per infusion (mg)",
        max_digits=6,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0.1"))],
        help_text="Prescriber-set cap (clinical-reference 5.3: enforce a max mg cap).",
    )
    # A dose above the protocol's usual range is a prescriber's override: why, in words. The
    # plan's author is the prescriber; the signed order copies it with their credential.
    dose_override_reason = models.CharField(
        "Reason for a dose above the usual range",
        max_length=300,
        blank=True,
        help_text="Only for a dose above the protocol's usual range (never above the clinic's ceilings).",
    )
    sessions_planned = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    sessions_per_week = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)])
    # {"pre_infusion": ["phq9", …], "post_infusion": [...], "follow_up": [...]}
    measurement_schedule = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=15, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_plan_booking_status", "Can see which plans are ready to book (no clinical content)"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="plan_status")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=PlanStatus.values), name="plan_status_known"),
            models.CheckConstraint(condition=Q(dose_unit__in=DoseUnit.values), name="plan_dose_unit_known"),
            models.CheckConstraint(condition=Q(weight_basis__in=WeightBasis.values), name="plan_weight_basis_known"),
            models.CheckConstraint(condition=Q(max_dose_mg__gt=0), name="plan_max_dose_positive"),
            # One live course per patient: infusions read "the" active plan.
            models.UniqueConstraint(
                fields=["patient"], condition=Q(status__in=LIVE_PLAN_STATUSES), name="plan_one_live_per_patient"
            ),
        ]
        triggers = [
            pgtrigger.Protect(
                name="plan_content_fixed_after_draft",
                operation=pgtrigger.Update,
                condition=~pgtrigger.Q(old__status="draft") & _any_changed(_PLAN_CLINICAL_FIELDS),
            ),
            pgtrigger.Protect(
                name="plan_delete_only_draft", operation=pgtrigger.Delete, condition=~pgtrigger.Q(old__status="draft")
            ),
        ]

    def __str__(self) -> str:
        return f"Treatment plan #{self.pk}"

    @property
    def dose_text(self) -> str:
        return f"{self.dose.normalize()} {DoseUnit(self.dose_unit).label.split(' ')[0]}"

    @property
    def frequency_text(self) -> str:
        return "daily" if self.sessions_per_week == 7 else f"{self.sessions_per_week}× a week"


class PlanStatusChange(models.Model):
    """Who moved a plan from one status to another, when and why (append-only)."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=15, choices=PlanStatus.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=PlanStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["plan", "at", "id"]
        triggers = [
            append_only("planstatuschange_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status}"


_ORDER_CONTENT = (
    "plan",
    "number",
    "dose",
    "dose_unit",
    "infusion_minutes",
    "weight_basis",
    "max_dose_mg",
    "max_rate_mg_per_kg_per_h",
    "sessions_planned",
    "min_interval_hours",
    "prn_rescue_medications",
    "dose_override_reason",
    "reason",
    "signed_by",
    "signed_at",
    "signed_credential",
)


class StandingOrder(models.Model):
    """One signed version of the plan's standing order: what the nurse gives at each session.

    Written and signed by a prescriber; immutable once written (trigger). A change is a new
    version with a reason, and the previous one is only marked superseded, so every session
    stays readable against the order it ran under (``InfusionSession.order``).
    """

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="orders")
    number = models.PositiveSmallIntegerField()
    dose = models.DecimalField(max_digits=6, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))])
    dose_unit = models.CharField(max_length=20, choices=DoseUnit.choices)
    infusion_minutes = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(1440)])
    weight_basis = models.CharField(max_length=10, choices=WeightBasis.choices)
    max_dose_mg = models.DecimalField("Maximum dose per infusion (mg)", max_digits=6, decimal_places=1)
    max_rate_mg_per_kg_per_h = models.DecimalField(
        "Rate ceiling (mg/kg/h)",
        max_digits=8,
        decimal_places=4,
        help_text="The fastest this order allows; a faster rate needs a prescriber.",
    )
    sessions_planned = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(100)])
    min_interval_hours = models.PositiveSmallIntegerField(
        "Minimum hours between sessions",
        null=True,
        blank=True,
        validators=[MaxValueValidator(24 * 90)],
        help_text="Empty: the prescriber set no minimum.",
    )
    prn_rescue_medications = models.TextField(
        "PRN rescue medications allowed",
        blank=True,
        help_text="One per line, as the prescriber orders them (drug, dose, route, indication). Empty: none.",
    )
    # The override of the protocol's usual range, signed with the version (signer, credential).
    dose_override_reason = models.CharField(
        "Reason for a dose above the usual range",
        max_length=300,
        blank=True,
        help_text="Only for a dose above the protocol's usual range (never above the clinic's ceilings).",
    )
    reason = models.CharField(max_length=300, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField()
    # The signer's credential and NPI as they were when signing (the profile may change later).
    signed_credential = models.CharField(max_length=60, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="standingorder_number_unique"),
            models.UniqueConstraint(
                fields=["plan"], condition=Q(superseded_at__isnull=True), name="standingorder_one_current"
            ),
            models.CheckConstraint(condition=Q(number=1) | ~Q(reason=""), name="standingorder_change_has_reason"),
            models.CheckConstraint(condition=Q(dose_unit__in=DoseUnit.values), name="standingorder_dose_unit_known"),
            models.CheckConstraint(
                condition=Q(weight_basis__in=WeightBasis.values), name="standingorder_weight_basis_known"
            ),
            models.CheckConstraint(condition=Q(max_dose_mg__gt=0), name="standingorder_max_dose_positive"),
            models.CheckConstraint(condition=Q(max_rate_mg_per_kg_per_h__gt=0), name="standingorder_rate_positive"),
        ]
        triggers = [
            pgtrigger.Protect(
                name="standingorder_content_fixed",
                operation=pgtrigger.Update,
                condition=_any_changed(_ORDER_CONTENT)
                | (pgtrigger.Q(old__superseded_at__isnull=False) & _any_changed(("superseded_at",))),
            ),
            pgtrigger.Protect(name="standingorder_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"Standing order v{self.number} of plan #{self.plan_id}"

    @property
    def dose_text(self) -> str:
        return f"{self.dose.normalize()} {DoseUnit(self.dose_unit).label.split(' ')[0]}"
