"""The infusion session, its status log, its pre-check record, its dose calculations
and its amendments.

A signed session is immutable at the database (pgtrigger, security-reference R8); every
child table refuses changes once its session is signed; corrections are amendments.
"""

from __future__ import annotations

from decimal import Decimal

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from consultations.choices import InteractionClass
from core.models import AmendmentBase
from core.triggers import append_only, signed_record_locked
from infusions import rules
from infusions.models._locking import locked_with_session, tracked

S = rules.SessionStatus


class SessionStatusChoice(models.TextChoices):
    SCHEDULED = S.SCHEDULED, rules.STATUS_LABELS[S.SCHEDULED]
    PRE_CHECK = S.PRE_CHECK, rules.STATUS_LABELS[S.PRE_CHECK]
    CLEARED = S.CLEARED, rules.STATUS_LABELS[S.CLEARED]
    DEFERRED = S.DEFERRED, rules.STATUS_LABELS[S.DEFERRED]
    INFUSING = S.INFUSING, rules.STATUS_LABELS[S.INFUSING]
    PAUSED = S.PAUSED, rules.STATUS_LABELS[S.PAUSED]
    COMPLETED = S.COMPLETED, rules.STATUS_LABELS[S.COMPLETED]
    STOPPED_EARLY = S.STOPPED_EARLY, rules.STATUS_LABELS[S.STOPPED_EARLY]
    RECOVERING = S.RECOVERING, rules.STATUS_LABELS[S.RECOVERING]
    DISCHARGE_READY = S.DISCHARGE_READY, rules.STATUS_LABELS[S.DISCHARGE_READY]
    DISCHARGED = S.DISCHARGED, rules.STATUS_LABELS[S.DISCHARGED]
    SIGNED = S.SIGNED, rules.STATUS_LABELS[S.SIGNED]


DEFERRAL_REASON_CHOICES = [(code, code.replace("_", " ").capitalize()) for code in rules.DEFERRAL_REASON_CODES]
STOP_REASON_CHOICES = [(code, code.replace("_", " ").capitalize()) for code in rules.STOP_REASON_CODES]
# A transition's reason code is a deferral or a stop reason; people read its label.
REASON_LABELS = dict(DEFERRAL_REASON_CHOICES + STOP_REASON_CHOICES)
# "In chair" for the front desk: what they may tell the escort, nothing clinical.
IN_CHAIR_STATUSES = (S.PRE_CHECK, S.CLEARED, S.INFUSING, S.PAUSED)
RECOVERING_STATUSES = (S.COMPLETED, S.STOPPED_EARLY, S.RECOVERING, S.DISCHARGE_READY)
OPEN_STATUSES = (S.SCHEDULED, *IN_CHAIR_STATUSES, *RECOVERING_STATUSES)


# The attribute where the session page's selector keeps the session's lists it loaded in one go
# (readings, alerts, dose calculations...), so properties and selectors read them without a query.
PAGE_LISTS = "_page_lists"


@tracked()
class InfusionSession(models.Model):
    """One infusion day for one booked infusion appointment."""

    Status = SessionStatusChoice

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="infusion_session"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="infusion_sessions")
    plan = models.ForeignKey("consultations.TreatmentPlan", on_delete=models.PROTECT, related_name="infusion_sessions")
    # The version of the plan's standing order the infusion ran under (set when it starts).
    order = models.ForeignKey(
        "consultations.StandingOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    status = models.CharField(max_length=20, choices=SessionStatusChoice.choices, default="scheduled")
    status_changed_at = models.DateTimeField(null=True, blank=True)

    checked_in_at = models.DateTimeField(null=True, blank=True)
    # Pre-check outcome and the clinician's documented decision when review was needed.
    clearance = models.CharField(max_length=30, blank=True)
    clinician_decision_reason = models.TextField(blank=True)
    clinician_decision_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    clinician_decision_at = models.DateTimeField(null=True, blank=True)
    # The deciding prescriber's credential and NPI as they were ("MD, NPI 1234567893").
    clinician_decision_credential = models.CharField(max_length=60, blank=True)
    # A nurse at a pre-check that needs a prescriber asked for one (shown on prescribers' homes).
    prescriber_requested_at = models.DateTimeField(null=True, blank=True)
    prescriber_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deferral_reason_code = models.CharField(max_length=30, choices=DEFERRAL_REASON_CHOICES, blank=True)
    deferral_reason = models.TextField(blank=True)

    container_lot = models.CharField("Vial lot / container", max_length=60, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    started_dose = models.ForeignKey(
        "DoseCalculation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The verified calculation in force when the infusion started.",
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    # What the pump delivered, computed from the start, the rate changes, the pauses and the
    # end (``rules.delivered``), stored when the infusion completes or is stopped.
    delivered_ml = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    delivered_mg = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Milligrams the pump delivered (rate × time × the bag's concentration), never more than the bag.",
    )
    stop_reason_code = models.CharField(max_length=30, choices=STOP_REASON_CHOICES, blank=True)
    stop_reason = models.TextField(blank=True)

    # Discharge: readiness is computed by the rules and stored as the snapshot it was.
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=40, blank=True)
    escort_present_at_discharge = models.BooleanField(null=True, blank=True)
    instructions_given_at = models.DateTimeField(null=True, blank=True)
    instructions_given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    readiness = models.JSONField(default=dict, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)

    signed_content = models.JSONField(default=dict, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("sign_infusionsession", "Can sign an infusion session"),
            ("verify_dose", "Can independently verify a calculated dose"),
            ("override_precheck", "Can clear a pre-check that needs a prescriber's decision"),
            ("rate_above_order", "Can set an infusion rate above the standing order's ceiling"),
            ("view_chair_status", "Can see who is in a chair or recovering (no clinical content)"),
        ]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="infusionsession_patient"),
            models.Index(fields=["status"], name="infusionsession_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SessionStatusChoice.values), name="infusionsession_status_known"
            ),
            models.CheckConstraint(
                condition=(Q(status="signed", signed_at__isnull=False, signed_by__isnull=False) & ~Q(content_sha256=""))
                | (~Q(status="signed") & Q(signed_at__isnull=True, signed_by__isnull=True, content_sha256="")),
                name="infusionsession_signed_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="deferred") | ~Q(deferral_reason_code=""),
                name="infusionsession_deferral_coded",
            ),
            models.CheckConstraint(
                condition=~Q(status="stopped_early") | ~Q(stop_reason_code=""),
                name="infusionsession_stop_coded",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(ended_at__gte=models.F("started_at")),
                name="infusionsession_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(delivered_mg__isnull=True, delivered_ml__isnull=True)
                | Q(delivered_mg__gte=0, delivered_ml__gte=0, ended_at__isnull=False, started_dose__isnull=False),
                name="infusionsession_delivery_after_end",
            ),
        ]
        triggers = [
            signed_record_locked("infusionsession_signed_locked"),
            # Delivery can never exceed the drug in the bag the infusion started on.
            pgtrigger.Trigger(
                name="infusionsession_delivery_within_bag",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                condition=pgtrigger.Q(new__delivered_mg__isnull=False),
                func="""
                    IF NOT EXISTS (
                        SELECT 1 FROM infusions_dosecalculation d
                        WHERE d.id = NEW.started_dose_id AND NEW.delivered_mg <= d.dose_mg
                          AND NEW.delivered_ml <= d.total_volume_ml
                    ) THEN
                        RAISE EXCEPTION 'infusion session %: delivered % mg is more than the bag held', NEW.id,
                            NEW.delivered_mg USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                """,
            ),
            # The start rests on the verified calculation in force, whatever the writer.
            pgtrigger.Trigger(
                name="infusionsession_start_on_verified_dose",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__status="cleared", new__status="infusing"),
                func="""
                    IF NOT EXISTS (
                        SELECT 1 FROM infusions_dosecalculation d
                        WHERE d.id = NEW.started_dose_id AND d.session_id = NEW.id
                          AND d.superseded_at IS NULL AND d.verified_fingerprint = d.fingerprint
                          AND d.verified_fingerprint <> ''
                    ) THEN
                        RAISE EXCEPTION 'infusion session %: the start needs the verified calculation in force', NEW.id
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"Infusion session #{self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def status_label(self) -> str:
        return rules.STATUS_LABELS[S(self.status)]

    @property
    def current_dose(self) -> DoseCalculation | None:
        """The calculation in force (``dose_mg``, ``drug_volume_ml``, ``vial_mg_per_ml``,
        ``final_mg_per_ml``, ``total_volume_ml``, ``is_verified``), e.g. for the ledger's draw.
        Taken from the page's lists when the session page's selector loaded them (no query)."""
        loaded = getattr(self, PAGE_LISTS, {}).get("dose_calculations")
        if loaded is not None:
            return next((d for d in loaded if d.superseded_at is None), None)
        return (
            DoseCalculation.objects.select_related("calculated_by", "verified_by")
            .filter(session=self, superseded_at__isnull=True)
            .first()
        )


class SessionTransition(models.Model):
    """Who moved a session from one status to another, when and why (append-only)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=SessionStatusChoice.choices)
    to_status = models.CharField(max_length=20, choices=SessionStatusChoice.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason_code = models.CharField(max_length=30, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["session", "at", "id"]
        triggers = [append_only("sessiontransition_append_only")]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason_code, self.reason_code.replace("_", " ").capitalize())


@tracked()
class PreCheck(models.Model):
    """What the nurse recorded before the infusion and what the rules made of it."""

    session = models.OneToOneField(InfusionSession, on_delete=models.PROTECT, related_name="pre_check")
    last_clear_liquid_at = models.DateTimeField("Last clear liquids", null=True, blank=True)
    last_light_meal_at = models.DateTimeField("Last light meal", null=True, blank=True)
    last_fatty_meal_at = models.DateTimeField("Last fatty/fried meal", null=True, blank=True)
    escort_present = models.BooleanField(null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=40, blank=True)
    childbearing_potential = models.BooleanField(null=True, blank=True)
    pregnancy_test_result = models.CharField(
        max_length=10, choices=[("negative", "Negative"), ("positive", "Positive")], blank=True
    )
    medications_changed = models.BooleanField("Medication changes since last session", null=True, blank=True)
    medication_changes = models.TextField(blank=True)
    # Interaction classes of the new medicines: the screening's CI-14/CI-15 re-run on them.
    new_medication_classes = ArrayField(
        models.CharField(max_length=20, choices=InteractionClass.choices), default=list, blank=True
    )
    sbp_mmhg = models.PositiveSmallIntegerField("Systolic BP", null=True, blank=True)
    dbp_mmhg = models.PositiveSmallIntegerField("Diastolic BP", null=True, blank=True)
    hr_bpm = models.PositiveSmallIntegerField("Heart rate", null=True, blank=True)
    spo2_pct = models.PositiveSmallIntegerField("SpO₂", null=True, blank=True)
    weight_kg = models.DecimalField(
        "Today's weight (kg)",
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    height_cm = models.DecimalField("Height (cm)", max_digits=5, decimal_places=1, null=True, blank=True)
    # The rules' verdict: [{"code", "passed", "message", "source", "on_fail"}, ...]
    results = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=30, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Physically impossible weights are refused like impossible vitals (the rules' plausible
            # range, an input check, narrows it further when the dose is calculated).
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lte=rules.WEIGHT_POSSIBLE_MAX_KG),
                name="precheck_weight_possible",
            ),
        ]
        triggers = [
            locked_with_session("precheck_session_unsigned"),
            # A corrected weight or height voids the calculation resting on it, whoever writes it.
            pgtrigger.Trigger(
                name="precheck_change_voids_dose",
                when=pgtrigger.After,
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__weight_kg__df=pgtrigger.F("new__weight_kg"))
                | pgtrigger.Q(old__height_cm__df=pgtrigger.F("new__height_cm")),
                func="""
                    UPDATE infusions_dosecalculation SET superseded_at = now()
                    WHERE session_id = NEW.session_id AND superseded_at IS NULL;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"Pre-check of {self.session_id}"


_DOSE_CONTENT = (
    "session",
    "order",
    "form",
    "weight_kg",
    "mg_per_kg",
    "prescribed_mg_per_kg_per_h",
    "duration_min",
    "uncapped_dose_mg",
    "max_mg",
    "capped",
    "ordered_dose_mg",
    "vial_mg_per_ml",
    "drug_volume_ml",
    "dose_mg",
    "diluent_ml",
    "total_volume_ml",
    "final_mg_per_ml",
    "rate_ml_per_h",
    "mg_per_kg_per_h",
    "steps",
    "fingerprint",
    "plan",
    "inputs",
    "inputs_sha256",
    "calculated_by",
    "calculated_at",
)


def _dec(digits: int, places: int, **kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=digits, decimal_places=places, **kwargs)


@tracked()
class DoseCalculation(models.Model):
    """One dose calculation with every step (``rules.DoseCalculation``) and its second-
    clinician verification. The calculated content is fixed (trigger); a changed dose is a
    new row, which supersedes this one and carries no verification."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="dose_calculations")
    # The standing-order version whose dose, duration, weight basis and cap this rests on: a
    # new version in force means a new calculation before the infusion starts.
    order = models.ForeignKey(
        "consultations.StandingOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    form = models.CharField(max_length=20)
    weight_kg = _dec(5, 1)
    mg_per_kg = _dec(8, 4)
    prescribed_mg_per_kg_per_h = _dec(8, 4, null=True, blank=True)
    duration_min = _dec(6, 1)
    uncapped_dose_mg = _dec(7, 1)
    max_mg = _dec(7, 1)
    capped = models.BooleanField()
    ordered_dose_mg = _dec(7, 1)
    vial_mg_per_ml = _dec(5, 1)
    drug_volume_ml = _dec(7, 2)
    dose_mg = _dec(7, 1)
    diluent_ml = _dec(7, 2)
    total_volume_ml = _dec(7, 2)
    final_mg_per_ml = _dec(8, 3)
    rate_ml_per_h = _dec(6, 1)
    mg_per_kg_per_h = _dec(8, 4)
    steps = models.JSONField(default=list)
    fingerprint = models.CharField(max_length=64)
    # What the calculation rests on: the plan (and its version) and today's pre-check values,
    # vial and diluent. A change to any of them voids it (the pre-check service, and a trigger
    # on the pre-check as a backstop); the start compares them with today's values again.
    plan = models.ForeignKey(
        "consultations.TreatmentPlan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    inputs = models.JSONField(default=dict, blank=True)
    inputs_sha256 = models.CharField(max_length=64, blank=True)
    calculated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    calculated_at = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["session", "-calculated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dose_mg__gt=0, total_volume_ml__gt=0, rate_ml_per_h__gt=0), name="dosecalculation_positive"
            ),
            models.CheckConstraint(condition=Q(dose_mg__lte=models.F("max_mg")), name="dosecalculation_within_cap"),
            # An independent double check: never the calculating clinician, and only of this calculation.
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True) | ~Q(verified_by=models.F("calculated_by")),
                name="dosecalculation_verifier_independent",
            ),
            models.CheckConstraint(
                condition=Q(verified_by__isnull=True, verified_at__isnull=True, verified_fingerprint="")
                | Q(verified_by__isnull=False, verified_at__isnull=False, verified_fingerprint=models.F("fingerprint")),
                name="dosecalculation_verification_matches",
            ),
            models.UniqueConstraint(
                fields=["session"], condition=Q(superseded_at__isnull=True), name="dosecalculation_one_current"
            ),
        ]
        triggers = [
            locked_with_session("dosecalculation_session_unsigned"),
            pgtrigger.Protect(
                name="dosecalculation_content_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.AnyChange(*_DOSE_CONTENT),
            ),
            pgtrigger.Protect(name="dosecalculation_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.dose_mg} mg for session {self.session_id}"

    @property
    def is_verified(self) -> bool:
        return bool(self.verified_fingerprint) and self.verified_fingerprint == self.fingerprint


@pghistory.track(pghistory.InsertEvent())
class SessionAmendment(AmendmentBase):
    """A correction or addendum to a signed session, shown beside the original."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="amendments")
    kind = models.CharField(
        max_length=10,
        choices=[("amends", "Correction (amends the original)"), ("appends", "Addendum")],
        default="amends",
    )

    class Meta:
        ordering = ["session", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="sessionamendment_reason_given"),
            models.CheckConstraint(condition=~Q(text=""), name="sessionamendment_text_given"),
            models.CheckConstraint(condition=Q(kind__in=["amends", "appends"]), name="sessionamendment_kind_known"),
        ]
        triggers = [append_only("sessionamendment_append_only")]

    def __str__(self) -> str:
        return f"Amendment of {self.session}"
