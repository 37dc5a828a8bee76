"""The live flowsheet: vitals readings, the alerts they raise, rate changes and adverse events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from infusions import rules
from infusions.models._locking import locked_with_session, tracked
from infusions.models.session import InfusionSession

PHASE_CHOICES = [("pre", "Baseline"), ("intra", "During infusion"), ("post", "Recovery")]
READING_FIELDS = tuple(rules.PLAUSIBLE_RANGES)
READING_LABELS = {
    "sbp_mmhg": "Systolic BP (mmHg)",
    "dbp_mmhg": "Diastolic BP (mmHg)",
    "hr_bpm": "Heart rate (bpm)",
    "spo2_pct": "SpO₂ (%)",
    "rr_per_min": "Resp. rate (/min)",
    "temp_c": "Temp (°C)",
    "moaas": "MOAA/S",
    "cadss6": "CADSS-6",
    "pain_nrs": "Pain NRS",
}


def _plausible(name: str) -> models.CheckConstraint:
    low, high, _unit = rules.PLAUSIBLE_RANGES[name]
    return models.CheckConstraint(
        condition=Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__range": (low, high)}),
        name=f"flowsheetreading_{name}_plausible",
    )


def _reading_field(name: str) -> models.Field:
    low, high, unit = rules.PLAUSIBLE_RANGES[name]
    help_text = f"Possible range {low}–{high} {unit}".strip()
    if name == "temp_c":
        return models.DecimalField(
            READING_LABELS[name], max_digits=4, decimal_places=1, null=True, blank=True, help_text=help_text
        )
    return models.PositiveSmallIntegerField(READING_LABELS[name], null=True, blank=True, help_text=help_text)


@tracked()
class FlowsheetReading(models.Model):
    """One row of vitals and scores at the chair. Rows are never merged: two nurses
    entering at once each keep their row."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="readings")
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=5, choices=PHASE_CHOICES)
    sbp_mmhg = _reading_field("sbp_mmhg")
    dbp_mmhg = _reading_field("dbp_mmhg")
    hr_bpm = _reading_field("hr_bpm")
    spo2_pct = _reading_field("spo2_pct")
    rr_per_min = _reading_field("rr_per_min")
    temp_c = _reading_field("temp_c")
    moaas = _reading_field("moaas")
    cadss6 = _reading_field("cadss6")
    pain_nrs = _reading_field("pain_nrs")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        ordering = ["session", "taken_at", "id"]
        indexes = [models.Index(fields=["session", "taken_at"], name="flowsheetreading_session")]
        constraints = [
            *[_plausible(name) for name in READING_FIELDS],
            models.CheckConstraint(condition=Q(phase__in=["pre", "intra", "post"]), name="flowsheetreading_phase"),
            models.CheckConstraint(
                condition=Q(sbp_mmhg__isnull=True) | Q(dbp_mmhg__isnull=True) | Q(sbp_mmhg__gt=models.F("dbp_mmhg")),
                name="flowsheetreading_sbp_above_dbp",
            ),
            models.CheckConstraint(
                condition=Q(taken_at__lte=models.F("entered_at")), name="flowsheetreading_not_future"
            ),
        ]
        triggers = [locked_with_session("flowsheetreading_session_unsigned")]

    def __str__(self) -> str:
        return f"Reading at {self.taken_at:%H:%M}"

    def as_rule_reading(self) -> rules.VitalsReading:
        return rules.VitalsReading(**{name: getattr(self, name) for name in READING_FIELDS})


ALERT_ACTION_CHOICES = [(code, rules.ALERT_ACTION_LABELS[code]) for code in rules.ALERT_ACTIONS]


@tracked()
class SessionAlert(models.Model):
    """An out-of-range reading that needs a nurse's or clinician's action. A critical one
    stays open on the session page, the chair board and the clinician's home until someone
    records what was done (who, when, which action, a note)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="alerts")
    reading = models.ForeignKey(FlowsheetReading, on_delete=models.PROTECT, related_name="alerts")
    code = models.CharField(max_length=40)
    field = models.CharField(max_length=20)
    severity = models.CharField(max_length=10, choices=[("warning", "Warning"), ("critical", "Critical")])
    message = models.CharField(max_length=300)
    source = models.CharField(max_length=200)
    raised_at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=ALERT_ACTION_CHOICES, blank=True)
    action_note = models.TextField(blank=True)
    actioned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "raised_at", "id"]
        indexes = [models.Index(fields=["session", "action"], name="sessionalert_open")]
        constraints = [
            models.CheckConstraint(
                condition=Q(action="", actioned_by__isnull=True, actioned_at__isnull=True)
                | (~Q(action="") & Q(actioned_by__isnull=False, actioned_at__isnull=False)),
                name="sessionalert_action_complete",
            ),
            models.CheckConstraint(
                condition=~Q(severity="critical") | Q(action="") | Q(action__in=rules.CRITICAL_ALERT_ACTIONS),
                name="sessionalert_critical_action",
            ),
            models.CheckConstraint(
                condition=~Q(severity="critical") | Q(action="") | ~Q(action_note=""),
                name="sessionalert_critical_note",
            ),
        ]
        triggers = [locked_with_session("sessionalert_session_unsigned")]

    def __str__(self) -> str:
        return self.message

    @property
    def is_critical(self) -> bool:
        return self.severity == "critical"

    @property
    def action_choices(self) -> list[tuple[str, str]]:
        codes = rules.CRITICAL_ALERT_ACTIONS if self.is_critical else rules.ALERT_ACTIONS
        return [(code, rules.ALERT_ACTION_LABELS[code]) for code in codes]


@tracked()
class RateChange(models.Model):
    """A pump rate change while infusing (an event, not a status move: 5.2)."""

    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="rate_changes")
    at = models.DateTimeField()
    rate_ml_per_h = models.DecimalField(max_digits=6, decimal_places=1)
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A rate above the calculated one stands only on a prescriber's documented order.
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order_text = models.CharField("Prescriber's order", max_length=300, blank=True)
    above_calculated = models.BooleanField(default=False)

    class Meta:
        ordering = ["session", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(above_calculated=False) | (Q(ordered_by__isnull=False) & ~Q(order_text="")),
                name="ratechange_above_calculated_ordered",
            ),
            models.CheckConstraint(condition=Q(rate_ml_per_h__gte=0), name="ratechange_not_negative"),
            models.CheckConstraint(condition=~Q(reason=""), name="ratechange_reason_given"),
        ]
        triggers = [locked_with_session("ratechange_session_unsigned")]

    def __str__(self) -> str:
        return f"{self.rate_ml_per_h} mL/h"


class AdverseEventKind(models.TextChoices):
    NAUSEA_VOMITING = "nausea_vomiting", "Nausea/vomiting"
    EMERGENCE = "emergence", "Emergence reaction/agitation"
    HYPERTENSION = "hypertension", "Hypertension"
    TACHYCARDIA = "tachycardia", "Tachycardia"
    DESATURATION = "desaturation", "Desaturation"
    EXCESSIVE_SEDATION = "excessive_sedation", "Excessive sedation"
    HEADACHE = "headache", "Headache"
    RESPIRATORY_DEPRESSION = "resp_depression", "Respiratory depression/apnoea"
    LARYNGOSPASM = "laryngospasm", "Laryngospasm"
    HYPOTENSION = "hypotension", "Hypotension"
    BRADYCARDIA = "bradycardia", "Bradycardia"
    ANAPHYLAXIS = "anaphylaxis", "Anaphylaxis"
    SEIZURE = "seizure", "Seizure"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


class Outcome(models.TextChoices):
    RESOLVED = "resolved", "Resolved"
    RESOLVING = "resolving", "Resolving"
    ONGOING = "ongoing", "Ongoing at discharge"
    TRANSFERRED = "transferred", "Transferred to emergency care"
    HANDED_OVER = "handed_over", "Handed over (with a note)"


# Still going on: these block discharge until the event is resolved or handed over.
OPEN_OUTCOMES = (Outcome.ONGOING, Outcome.RESOLVING)


@tracked()
class AdverseEvent(models.Model):
    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="adverse_events")
    kind = models.CharField(max_length=20, choices=AdverseEventKind.choices)
    kind_other = models.CharField("Other (describe)", max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    onset_at = models.DateTimeField()
    action_taken = models.TextField()
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    # The latest change of outcome after the event was recorded (resolved, handed over…).
    handover_note = models.TextField(
        "Hand-over note", blank=True, help_text="To whom the event was handed over and what they were told."
    )
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "onset_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AdverseEventKind.values), name="adverseevent_kind_known"),
            models.CheckConstraint(condition=Q(severity__in=Severity.values), name="adverseevent_severity_known"),
            models.CheckConstraint(condition=Q(outcome__in=Outcome.values), name="adverseevent_outcome_known"),
            models.CheckConstraint(condition=~Q(kind="other") | ~Q(kind_other=""), name="adverseevent_other_described"),
            models.CheckConstraint(condition=~Q(action_taken=""), name="adverseevent_action_given"),
            models.CheckConstraint(
                condition=~Q(outcome="handed_over")
                | (~Q(handover_note="") & Q(outcome_by__isnull=False, outcome_at__isnull=False)),
                name="adverseevent_handover_noted",
            ),
            models.CheckConstraint(
                condition=Q(outcome_by__isnull=True, outcome_at__isnull=True)
                | Q(outcome_by__isnull=False, outcome_at__isnull=False),
                name="adverseevent_outcome_change_complete",
            ),
        ]
        triggers = [locked_with_session("adverseevent_session_unsigned")]

    def __str__(self) -> str:
        return self.kind_other or self.get_kind_display()

    @property
    def is_open(self) -> bool:
        """Still going on: blocks discharge until resolved or handed over."""
        return self.outcome in OPEN_OUTCOMES


class Route(models.TextChoices):
    IV = "iv", "IV"
    IM = "im", "IM"
    PO = "po", "PO"
    SL = "sl", "Sublingual"
    INHALED = "inhaled", "Inhaled"
    OTHER = "other", "Other"


DOSE_UNIT_CHOICES = [("mg", "mg"), ("mcg", "mcg"), ("mL", "mL"), ("g", "g")]
DEA_SCHEDULE_CHOICES = [("CII", "Schedule II"), ("CIII", "Schedule III"), ("CIV", "Schedule IV"), ("CV", "Schedule V")]


@tracked()
class RescueDrug(models.Model):
    """The clinic's formulary of rescue medications (administrators edit it in the admin).
    A default dose is shown only where a source gives one; the dose given is always typed."""

    name = models.CharField(max_length=120, unique=True)
    default_dose = models.DecimalField(
        max_digits=8, decimal_places=3, null=True, blank=True, help_text="Blank where no source gives a dose."
    )
    dose_unit = models.CharField(max_length=10, choices=DOSE_UNIT_CHOICES, default="mg")
    route = models.CharField(max_length=10, choices=Route.choices, default=Route.IV)
    controlled = models.BooleanField(
        default=False, help_text="A controlled substance: each dose given is listed for the controlled-substance log."
    )
    dea_schedule = models.CharField("DEA schedule", max_length=4, choices=DEA_SCHEDULE_CHOICES, blank=True)
    source = models.CharField(
        max_length=200, blank=True, help_text='The clinical-reference key for the default dose, or "clinic policy".'
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(controlled=False, dea_schedule="") | (Q(controlled=True) & ~Q(dea_schedule="")),
                name="rescuedrug_schedule_iff_controlled",
            ),
            models.CheckConstraint(
                condition=Q(default_dose__isnull=True) | Q(default_dose__gt=0), name="rescuedrug_default_positive"
            ),
            models.CheckConstraint(condition=Q(route__in=Route.values), name="rescuedrug_route_known"),
            models.CheckConstraint(condition=~Q(name=""), name="rescuedrug_name_given"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (C-{self.dea_schedule[1:]})" if self.controlled else self.name


@tracked()
class DrugGiven(models.Model):
    """A drug given to treat an adverse event: from the formulary (its name and controlled
    status copied at the time), dose, unit, route, time and who gave it."""

    adverse_event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="drugs")
    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="+")
    # Blank only on rows recorded before the formulary (free text then).
    formulary = models.ForeignKey(RescueDrug, null=True, blank=True, on_delete=models.PROTECT, related_name="given")
    name = models.CharField(max_length=120)
    dose = models.DecimalField(max_digits=8, decimal_places=3)
    dose_unit = models.CharField(max_length=10, choices=DOSE_UNIT_CHOICES)
    route = models.CharField(max_length=10, choices=Route.choices)
    given_at = models.DateTimeField()
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    controlled = models.BooleanField(default=False)
    dea_schedule = models.CharField(max_length=4, choices=DEA_SCHEDULE_CHOICES, blank=True)

    class Meta:
        ordering = ["adverse_event", "given_at", "id"]
        indexes = [
            models.Index(fields=["given_at"], name="druggiven_controlled", condition=Q(controlled=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(dose__gt=0), name="druggiven_dose_positive"),
            models.CheckConstraint(condition=~Q(name=""), name="druggiven_name_given"),
            models.CheckConstraint(condition=Q(route__in=Route.values), name="druggiven_route_known"),
            models.CheckConstraint(
                condition=Q(controlled=False, dea_schedule="") | (Q(controlled=True) & ~Q(dea_schedule="")),
                name="druggiven_schedule_iff_controlled",
            ),
        ]
        triggers = [locked_with_session("druggiven_session_unsigned")]

    def __str__(self) -> str:
        return f"{self.name} {self.dose} {self.dose_unit} {self.route}"
