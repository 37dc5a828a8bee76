"""Follow-up visits, the maintenance (booster) policy and suggestions, questionnaire links
and safety alerts.

Immutability is the database's job (security-reference R8): a signed visit note refuses
UPDATE/DELETE (pgtrigger); amendments are append-only. Tokens are stored only as SHA-256
hashes (security-reference A9). Writes go through ``followups.services``.
"""

from __future__ import annotations

from typing import ClassVar

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from assessments.models import ResponseContext
from core.models import AmendmentBase
from core.triggers import append_only, signed_record_locked
from followups import rules


def _tracked():
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())


@_tracked()
class FollowUpPolicy(models.Model):
    """The clinic's follow-up settings: one row, edited by administrators in the admin."""

    booster_enabled = models.BooleanField("Suggest boosters", default=True)
    booster_fraction_percent = models.PositiveSmallIntegerField(
        "Suggest a booster when PHQ-9 rises above this % of baseline",
        default=rules.BOOSTER_FRACTION_PERCENT_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Default 50 (clinic policy: no sourced relapse number; 50 % of baseline is the loss of the "
        "≥50 % reduction that defines PHQ-9 response, clinical-reference §3 [S37]).",
    )
    booster_min_baseline = models.PositiveSmallIntegerField(
        "Minimum baseline PHQ-9 for the rule",
        default=rules.BOOSTER_MIN_BASELINE_DEFAULT,
        validators=[MinValueValidator(0), MaxValueValidator(27)],
        help_text="Default 10: NQF response is only defined for baseline >9 (clinical-reference §3 [S37]).",
    )
    worsened_min_rise = models.PositiveSmallIntegerField(
        "Worklist: flag a PHQ-9 rise of at least",
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(27)],
        help_text="Default 5 points (clinic policy).",
    )
    link_expiry_hours = models.PositiveSmallIntegerField(
        "Questionnaire links expire after (hours)",
        default=rules.LINK_EXPIRY_HOURS_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text="Default 72 (clinic policy).",
    )
    dob_max_failures = models.PositiveSmallIntegerField(
        "Wrong dates of birth before a link locks",
        default=rules.DOB_MAX_FAILURES_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Default 5 (clinic policy).",
    )
    rate_limit_per_window = models.PositiveSmallIntegerField(
        "Link requests per client per 10 minutes",
        default=rules.RATE_LIMIT_PER_WINDOW_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Default 20 (clinic policy; security-reference A9 / ASVS 2.4.1 anti-automation).",
    )
    madrs_item10_alert_min = models.PositiveSmallIntegerField(
        "Safety alert: MADRS item 10 (suicidal thoughts) at or above",
        default=rules.MADRS_ITEM10_ALERT_MIN_DEFAULT,
        validators=[
            MinValueValidator(rules.MADRS_ITEM10_ALERT_RANGE[0]),
            MaxValueValidator(rules.MADRS_ITEM10_ALERT_RANGE[1]),
        ],
        help_text="Default 1, any answer above 0 (clinic policy: no sourced cut-off; follows the PHQ-9 item-9 "
        "rule [S36]). 1–6.",
    )
    qids_item12_alert_min = models.PositiveSmallIntegerField(
        "Safety alert: QIDS-SR16 item 12 (thoughts of death or suicide) at or above",
        default=rules.QIDS_ITEM12_ALERT_MIN_DEFAULT,
        validators=[
            MinValueValidator(rules.QIDS_ITEM12_ALERT_RANGE[0]),
            MaxValueValidator(rules.QIDS_ITEM12_ALERT_RANGE[1]),
        ],
        help_text="Default 1, any answer above 0 (clinic policy: no sourced cut-off; follows the PHQ-9 item-9 "
        "rule [S36]). 1–3.",
    )
    alert_escalate_after_minutes = models.PositiveSmallIntegerField(
        "Escalate an unacknowledged safety alert after (minutes)",
        default=rules.ESCALATE_AFTER_MINUTES_DEFAULT,
        validators=[
            MinValueValidator(rules.ESCALATE_AFTER_MINUTES_RANGE[0]),
            MaxValueValidator(rules.ESCALATE_AFTER_MINUTES_RANGE[1]),
        ],
        help_text="Default 30 (clinic policy). After this the second clinician is e-mailed, after twice this the "
        "administrators too. 5–1440.",
    )
    escalation_second_clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="Second clinician for unacknowledged safety alerts",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Named here, this clinician is e-mailed first. Blank: whoever holds the on-call prescriber "
        "permission (Followups | follow-up policy | Is the on-call prescriber); with nobody on call, every other "
        "clinician who may acknowledge alerts.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "follow-up policy"
        verbose_name_plural = "follow-up policy"
        permissions = [
            ("manage_followup_policy", "Can change the booster rule and questionnaire-link settings"),
            ("on_call_prescriber", "Is the on-call prescriber (receives escalated safety alerts)"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="followuppolicy_singleton"),
            models.CheckConstraint(
                condition=Q(booster_fraction_percent__gte=1, booster_fraction_percent__lte=100),
                name="followuppolicy_fraction_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    madrs_item10_alert_min__gte=rules.MADRS_ITEM10_ALERT_RANGE[0],
                    madrs_item10_alert_min__lte=rules.MADRS_ITEM10_ALERT_RANGE[1],
                    qids_item12_alert_min__gte=rules.QIDS_ITEM12_ALERT_RANGE[0],
                    qids_item12_alert_min__lte=rules.QIDS_ITEM12_ALERT_RANGE[1],
                ),
                name="followuppolicy_suicide_item_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    alert_escalate_after_minutes__gte=rules.ESCALATE_AFTER_MINUTES_RANGE[0],
                    alert_escalate_after_minutes__lte=rules.ESCALATE_AFTER_MINUTES_RANGE[1],
                ),
                name="followuppolicy_escalation_range",
            ),
        ]

    def __str__(self) -> str:
        return "Follow-up policy"


class PlanDecision(models.TextChoices):
    CONTINUE = "continue", "Continue the current plan"
    BOOSTER = "booster", "Booster infusion"
    PAUSE = "pause", "Pause treatment"
    DISCHARGE = "discharge", "Discharge from care"
    REFER = "refer", "Refer elsewhere"


class VisitStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SIGNED = "signed", "Signed"


@_tracked()
class FollowUpVisit(models.Model):
    """The clinician's note of one follow-up (or booster) appointment."""

    Status = VisitStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="followup_visits")
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="followup_visit"
    )
    clinician = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=VisitStatus.choices, default=VisitStatus.DRAFT)
    current_symptoms = models.TextField(blank=True)
    side_effects = models.TextField("Side effects since the last visit", blank=True)
    medication_changes = models.TextField(blank=True)
    plan_decision = models.CharField(max_length=12, choices=PlanDecision.choices, blank=True)
    decision_note = models.TextField(blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("sign_followupvisit", "Can sign a follow-up visit note")]
        indexes = [models.Index(fields=["patient", "-created_at"], name="followupvisit_patient")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=VisitStatus.values), name="followupvisit_status_known"),
            models.CheckConstraint(
                condition=Q(plan_decision="") | Q(plan_decision__in=PlanDecision.values),
                name="followupvisit_decision_known",
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="signed", signed_at__isnull=False, signed_by__isnull=False)
                    & ~Q(plan_decision="")
                    & ~Q(content_sha256="")
                )
                | Q(status="draft", signed_at__isnull=True, signed_by__isnull=True, content_sha256=""),
                name="followupvisit_signed_complete",
            ),
        ]
        triggers = [
            signed_record_locked("followupvisit_signed_locked"),
            # A note records a visit that took place: never signed before its appointment's start,
            # whoever writes the row (the service refuses first, with the start time).
            pgtrigger.Trigger(
                name="followupvisit_signed_after_start",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func="""
                    IF NEW.signed_at IS NOT NULL AND NEW.signed_at < (
                        SELECT a.start FROM scheduling_appointment a WHERE a.id = NEW.appointment_id
                    ) THEN
                        RAISE EXCEPTION 'a follow-up note cannot be signed before its appointment starts'
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"Follow-up visit #{self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


@pghistory.track(pghistory.InsertEvent())
class FollowUpAmendment(AmendmentBase):
    """A correction or addendum to a signed follow-up note, shown beside it (ONC (d)(4))."""

    visit = models.ForeignKey(FollowUpVisit, on_delete=models.PROTECT, related_name="amendments")

    class Meta:
        ordering = ["visit", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="followupamendment_reason_given"),
            models.CheckConstraint(condition=~Q(text=""), name="followupamendment_text_given"),
        ]
        triggers = [
            append_only("followupamendment_append_only"),
        ]

    def __str__(self) -> str:
        return f"Amendment of {self.visit}"


class SuggestionStatus(models.TextChoices):
    OPEN = "open", "Awaiting a clinician"
    ACCEPTED = "accepted", "Accepted: ready to book"
    DISMISSED = "dismissed", "Dismissed"
    BOOKED = "booked", "Booked"


@_tracked()
class BoosterSuggestion(models.Model):
    """The maintenance rule's suggestion for one patient, decided by a clinician."""

    Status = SuggestionStatus
    TRANSITIONS: ClassVar[dict[str, set[str]]] = {
        SuggestionStatus.OPEN: {SuggestionStatus.ACCEPTED, SuggestionStatus.DISMISSED},
        SuggestionStatus.ACCEPTED: {SuggestionStatus.BOOKED},
    }

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="booster_suggestions")
    # The PHQ-9 that fired the rule; empty when a clinician decided a booster at a follow-up visit.
    response = models.ForeignKey(
        "assessments.InstrumentResponse", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visit = models.ForeignKey(
        FollowUpVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="booster_suggestions"
    )
    baseline_total = models.SmallIntegerField(null=True, blank=True)
    current_total = models.SmallIntegerField(null=True, blank=True)
    fraction_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=300, blank=True)
    booked_appointment = models.OneToOneField(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("decide_boostersuggestion", "Can accept or dismiss a booster suggestion"),
            ("view_booster_booking_status", "Can see which boosters are ready to book (no clinical content)"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=SuggestionStatus.values), name="booster_status_known"),
            # One undecided suggestion per patient.
            models.UniqueConstraint(fields=["patient"], condition=Q(status="open"), name="booster_one_open"),
            models.CheckConstraint(
                condition=Q(status="open", decided_at__isnull=True)
                | (~Q(status="open") & Q(decided_at__isnull=False, decided_by__isnull=False)),
                name="booster_decision_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(decision_reason=""), name="booster_dismissal_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(response__isnull=False) | Q(visit__isnull=False), name="booster_has_origin"
            ),
        ]

    def __str__(self) -> str:
        return f"Booster suggestion #{self.pk}"


@_tracked()
class QuestionnaireLink(models.Model):
    """A one-time link that lets one patient fill in one questionnaire (security-reference A9)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaire_links")
    instruments = ArrayField(models.CharField(max_length=20), size=5)
    context = models.CharField(max_length=20, choices=ResponseContext.choices, default=ResponseContext.FOLLOW_UP)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Who is paged if the answers raise a safety alert.
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token_sha256 = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_channels = models.CharField(max_length=20, blank=True)
    dob_failures = models.PositiveSmallIntegerField(default=0)
    exchanged_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "-created_at"], name="qlink_patient")]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="qlink_expiry_after"),
            models.CheckConstraint(
                condition=Q(completed_at__isnull=True) | Q(exchanged_at__isnull=False), name="qlink_completed_opened"
            ),
            models.CheckConstraint(condition=Q(context__in=ResponseContext.values), name="qlink_context_known"),
            # The scheduled invitation (created by the system) is sent once per appointment.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(created_by__isnull=True, appointment__isnull=False),
                name="qlink_one_invitation_per_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"Questionnaire link #{self.pk}"

    @property
    def outstanding(self) -> bool:
        return self.completed_at is None and self.revoked_at is None


class AlertReason(models.TextChoices):
    PHQ9_ITEM9 = rules.ALERT_PHQ9_ITEM9, "PHQ-9 item 9 (thoughts of self-harm) answered above 'Not at all'"
    CSSRS_MODERATE = rules.ALERT_CSSRS_MODERATE, "C-SSRS screener: moderate risk"
    CSSRS_HIGH = rules.ALERT_CSSRS_HIGH, "C-SSRS screener: high risk"
    MADRS_ITEM10 = rules.ALERT_MADRS_ITEM10, "MADRS item 10 (suicidal thoughts) at or above the clinic's threshold"
    QIDS_ITEM12 = rules.ALERT_QIDS_ITEM12, "QIDS-SR16 item 12 (thoughts of death or suicide) at or above the threshold"


class AlertAction(models.TextChoices):
    CALLED_PATIENT = "called_patient", "Called the patient; risk assessed"
    SAFETY_PLAN = "safety_plan", "Safety plan reviewed with the patient"
    SAME_DAY_VISIT = "same_day_visit", "Same-day visit arranged"
    CRISIS_REFERRAL = "crisis_referral", "Referred to crisis services"
    EMERGENCY = "emergency", "Emergency services contacted (911)"
    NO_RISK = "no_risk", "Reviewed: answer entered in error / no current risk"


@_tracked()
class SafetyAlert(models.Model):
    """An urgent alert raised by a patient's answers; closed only by an acknowledgement with an action."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="safety_alerts")
    response = models.OneToOneField(
        "assessments.InstrumentResponse", on_delete=models.PROTECT, related_name="safety_alert"
    )
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=AlertReason.choices)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=AlertAction.choices, blank=True)
    action_note = models.CharField(max_length=500, blank=True)
    # 0 only the responsible clinician told; 1 the second clinician too; 2 the administrators too.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("acknowledge_safetyalert", "Can acknowledge a safety alert")]
        indexes = [models.Index(fields=["acknowledged_at", "-created_at"], name="safetyalert_open")]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=AlertReason.values), name="safetyalert_reason_known"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True, acknowledged_by__isnull=True, action="")
                | (Q(acknowledged_at__isnull=False, acknowledged_by__isnull=False) & Q(action__in=AlertAction.values)),
                name="safetyalert_ack_complete",
            ),
            models.CheckConstraint(
                condition=Q(escalation_level=0, escalated_at__isnull=True)
                | Q(escalation_level__in=[1, 2], escalated_at__isnull=False),
                name="safetyalert_escalation_known",
            ),
        ]
        triggers = [
            # Once acknowledged, the alert is a record: it never changes or disappears.
            pgtrigger.Protect(
                name="safetyalert_ack_locked",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=pgtrigger.Q(old__acknowledged_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Safety alert #{self.pk}"


class SafetyAlertView(models.Model):
    """Who has opened an alert, and when first: the alert page lists them, so a colleague
    sees whether anyone has looked before it is acknowledged."""

    alert = models.ForeignKey(SafetyAlert, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    first_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["first_seen_at", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "user"], name="safetyalertview_once_per_user")]

    def __str__(self) -> str:
        return f"{self.alert} seen by {self.user_id}"
