"""A course over months: the clinic's course settings, titration reviews, the surveillance
records (urinary-symptom screens, liver function tests, the findings they raise) and the
maintenance re-screens. Clinical records here are append-only, except a finding's
acknowledgement and a re-screen's review, which are written once."""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from core.triggers import append_only
from courses import rules


def _setting(name: str) -> models.PositiveIntegerField:
    spec = rules.SETTINGS_BY_NAME[name]
    label = f"{spec.label} ({spec.unit})" if spec.unit else spec.label
    return models.PositiveIntegerField(
        label,
        default=int(spec.default),
        validators=[MinValueValidator(int(spec.low)), MaxValueValidator(int(spec.high))],
        help_text=spec.help_text(),
    )


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class CoursePolicy(models.Model):
    """The clinic's course settings (one row, id 1), edited by administrators in the admin."""

    min_interval_hours = _setting("min_interval_hours")
    urinary_screen_from_infusion = _setting("urinary_screen_from_infusion")
    frequent_infusions_90d = _setting("frequent_infusions_90d")
    high_dose_mg_90d = _setting("high_dose_mg_90d")
    lft_follow_up_days = _setting("lft_follow_up_days")
    report_infusions_365d = _setting("report_infusions_365d")
    report_lifetime_mg = _setting("report_lifetime_mg")
    maintenance_gap_days = _setting("maintenance_gap_days")

    class Meta:
        verbose_name = "course policy"
        verbose_name_plural = "course policy"
        permissions = [("view_exposure_report", "Can see the report of patients over the exposure thresholds")]
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{s.name}__gte": int(s.low), f"{s.name}__lte": int(s.high)}),
                name=f"coursepolicy_{s.name}_bounds",
            )
            for s in rules.SETTINGS
        ]

    def __str__(self) -> str:
        return "Course policy"

    @property
    def thresholds(self) -> rules.Thresholds:
        return rules.Thresholds(**{s.name: getattr(self, s.name) for s in rules.SETTINGS})


class ReviewKind(models.TextChoices):
    NON_RESPONSE = "non_response", "Non-response review"
    TOLERABILITY = "tolerability", "Tolerability review"


class ReviewDecision(models.TextChoices):
    STEP_UP = "step_up", "Step up the ladder"
    STEP_DOWN = "step_down", "Step down the ladder"
    KEEP = "keep", "Keep the dose"


class TitrationReview(models.Model):
    """A prescriber's documented review of the course at a named point (after infusion N),
    and the step it decided: a step is a new signed version of the standing order."""

    plan = models.ForeignKey("consultations.TreatmentPlan", on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ReviewKind.choices)
    after_infusion = models.PositiveSmallIntegerField(
        "Reviewed after infusion number", validators=[MinValueValidator(1), MaxValueValidator(200)]
    )
    findings = models.TextField(help_text="What was reviewed: scores, side effects, the patient's account.")
    decision = models.CharField(max_length=20, choices=ReviewDecision.choices)
    dose_before = models.DecimalField(max_digits=6, decimal_places=3)
    dose_after = models.DecimalField(max_digits=6, decimal_places=3)
    ladder_source = models.CharField(max_length=300, blank=True)
    order = models.ForeignKey(
        "consultations.StandingOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ReviewKind.values), name="titrationreview_kind_known"),
            models.CheckConstraint(
                condition=Q(decision__in=ReviewDecision.values), name="titrationreview_decision_known"
            ),
            models.CheckConstraint(
                condition=Q(decision="keep", order__isnull=True) | (~Q(decision="keep") & Q(order__isnull=False)),
                name="titrationreview_step_has_order",
            ),
        ]
        triggers = [append_only("titrationreview_append_only")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} after infusion {self.after_infusion}"


class UrinaryScreen(models.Model):
    """The short urinary-symptom screen at an infusion's pre-check ([S23], CI-16)."""

    session = models.OneToOneField("infusions.InfusionSession", on_delete=models.PROTECT, related_name="urinary_screen")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    frequency = models.BooleanField(rules.URINARY_QUESTIONS[0][1])
    urgency = models.BooleanField(rules.URINARY_QUESTIONS[1][1])
    pain = models.BooleanField(rules.URINARY_QUESTIONS[2][1])
    blood = models.BooleanField(rules.URINARY_QUESTIONS[3][1])
    notes = models.CharField(max_length=300, blank=True)
    positive = models.BooleanField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        triggers = [append_only("urinaryscreen_append_only")]

    def __str__(self) -> str:
        return f"Urinary-symptom screen of session #{self.session_id}"


class LiverTest(models.Model):
    """One set of liver function test results, with the laboratory's upper limits of normal."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    taken_on = models.DateField("Sample taken on")
    alt = models.PositiveIntegerField("ALT (U/L)", validators=[MaxValueValidator(20000)])
    alt_uln = models.PositiveIntegerField(
        "ALT upper limit of normal (U/L)", validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    ast = models.PositiveIntegerField("AST (U/L)", validators=[MaxValueValidator(20000)])
    ast_uln = models.PositiveIntegerField(
        "AST upper limit of normal (U/L)", validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    laboratory = models.CharField(max_length=120, blank=True)
    abnormal = models.BooleanField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-taken_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(alt_uln__gt=0, ast_uln__gt=0), name="livertest_uln_positive"),
        ]
        triggers = [append_only("livertest_append_only")]

    def __str__(self) -> str:
        return f"Liver function tests of {self.taken_on:%m/%d/%Y}"


class FindingKind(models.TextChoices):
    ABNORMAL_LFT = "abnormal_lft", "Liver function tests above normal"
    URINARY = "urinary", "Urinary symptoms"
    MISUSE = "misuse", "Possible misuse or diversion"


class CourseFinding(models.Model):
    """A surveillance result that needs a clinician's attention, open until acknowledged."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=FindingKind.choices)
    message = models.CharField(max_length=400)
    source = models.CharField(max_length=60)
    created_at = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledgement = models.CharField("What was done", max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["patient", "acknowledged_at"], name="coursefinding_open")]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=FindingKind.values), name="coursefinding_kind_known"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | ~Q(acknowledgement=""),
                name="coursefinding_acknowledged_says_what",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()


class RescreenState(models.TextChoices):
    CLEARED = "cleared", "Cleared for boosters"
    REVIEW = "review", "Waiting for the prescriber's review"
    INELIGIBLE = "ineligible", "Absolute contraindication"


class MaintenanceRescreen(models.Model):
    """Before the first booster after the clinic's gap: the intake's contraindication rules
    re-run on updated facts, with the misuse and diversion questions."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(
        "consultations.TreatmentPlan", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    facts = models.JSONField(default=dict, help_text="The updated facts as recorded.")
    screening = models.JSONField(default=dict, help_text="The rules' result on the updated facts.")
    outcome = models.CharField(max_length=20)
    misuse_answers = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=RescreenState.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=RescreenState.values), name="rescreen_state_known"),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | ~Q(review_reason=""), name="rescreen_review_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"Maintenance re-screen of {self.recorded_at:%m/%d/%Y}"
