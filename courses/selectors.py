"""Reads of a course over months: the clinic's settings, cumulative exposure (summed in the
database), the course rules scheduling asks at booking and check-in, the surveillance prompts,
the maintenance gate and a patient's course page. Each issues a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from consents.models import ConsentKind
from consents.selectors import consent_status, required_kinds
from consultations import rules as screening_rules
from consultations.models import StandingOrder, TreatmentPlan
from consultations.selectors import current_order, intake_facts, live_plan_for
from courses import rules
from courses.models import (
    CourseFinding,
    CoursePolicy,
    LiverTest,
    MaintenanceRescreen,
    TitrationReview,
    UrinaryScreen,
)
from infusions.models import InfusionSession
from patients.models import Patient
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus

ZERO = Decimal(0)
MONEY: DecimalField = DecimalField(max_digits=14, decimal_places=6)


def policy() -> CoursePolicy:
    found, _ = CoursePolicy.objects.get_or_create(pk=1)
    return found


def thresholds() -> rules.Thresholds:
    return policy().thresholds


# --- Cumulative exposure ---------------------------------------------------------------


def given_sessions() -> QuerySet[InfusionSession]:
    """Infusions that delivered drug (a stopped-early one counts what it delivered)."""
    return InfusionSession.objects.filter(delivered_mg__gt=0, started_at__isnull=False)


def _exposure_aggregates(at: datetime) -> dict[str, Any]:
    def since(days: int) -> Q:
        return Q(started_at__gt=at - timedelta(days=days))

    per_kg = ExpressionWrapper(F("delivered_mg") / F("started_dose__weight_kg"), output_field=MONEY)
    return {
        "total_mg": Coalesce(Sum("delivered_mg"), ZERO, output_field=MONEY),
        "total_mg_per_kg": Coalesce(Sum(per_kg, filter=Q(started_dose__weight_kg__gt=0)), ZERO, output_field=MONEY),
        "infusions_30d": Count("id", filter=since(30)),
        "infusions_90d": Count("id", filter=since(90)),
        "infusions_365d": Count("id", filter=since(365)),
        "infusions_lifetime": Count("id"),
        "mg_90d": Coalesce(Sum("delivered_mg", filter=since(90)), ZERO, output_field=MONEY),
        "mg_365d": Coalesce(Sum("delivered_mg", filter=since(365)), ZERO, output_field=MONEY),
        "last_given_at": Max("started_at"),
    }


def _as_exposure(row: dict[str, Any]) -> rules.Exposure:
    two = rules.TWO_PLACES
    return rules.Exposure(
        total_mg=Decimal(row["total_mg"]).quantize(two),
        total_mg_per_kg=Decimal(row["total_mg_per_kg"]).quantize(two),
        infusions_30d=row["infusions_30d"],
        infusions_90d=row["infusions_90d"],
        infusions_365d=row["infusions_365d"],
        infusions_lifetime=row["infusions_lifetime"],
        mg_90d=Decimal(row["mg_90d"]).quantize(two),
        mg_365d=Decimal(row["mg_365d"]).quantize(two),
        last_given_at=row["last_given_at"],
    )


def exposure_of(patient: Patient | int, *, at: datetime | None = None) -> rules.Exposure:
    """The patient's cumulative exposure from the delivered amounts, in one query."""
    at = at or timezone.now()
    patient_id = patient if isinstance(patient, int) else patient.pk
    row = given_sessions().filter(patient_id=patient_id).aggregate(**_exposure_aggregates(at))
    return _as_exposure(row)


@dataclass
class ExposureRow:
    patient: Patient
    exposure: rules.Exposure
    over: list[str]
    last_lft_on: Any = None
    lft_prompt: str | None = None


def patients_over_thresholds(*, t: rules.Thresholds, at: datetime | None = None) -> QuerySet[Patient]:
    """Patients at or above any exposure threshold, grouped and filtered in the database, the
    most exposed in 90 days first; each row annotated with its sums (``exposure_row``)."""
    at = at or timezone.now()
    sums = (
        given_sessions()
        .values("patient_id")
        .annotate(**_exposure_aggregates(at))
        .filter(
            Q(infusions_90d__gte=t.frequent_infusions_90d)
            | Q(mg_90d__gte=t.high_dose_mg_90d)
            | Q(infusions_365d__gte=t.report_infusions_365d)
            | Q(total_mg__gte=t.report_lifetime_mg)
        )
        .order_by("-mg_90d", "-total_mg", "patient_id")
    )
    return sums  # type: ignore[return-value]  # rows of sums, one per patient


def exposure_rows(rows: list[dict[str, Any]], *, t: rules.Thresholds, today) -> list[ExposureRow]:
    """One page of ``patients_over_thresholds``: the patients and their last LFTs, two queries."""
    ids = [row["patient_id"] for row in rows]
    patients = Patient.objects.in_bulk(ids)
    last_lft = dict(
        LiverTest.objects.filter(patient_id__in=ids)
        .values("patient_id")
        .annotate(last=Max("taken_on"))
        .values_list("patient_id", "last")
    )
    found = []
    for row in rows:
        exposure = _as_exposure(row)
        last = last_lft.get(row["patient_id"])
        found.append(
            ExposureRow(
                patient=patients[row["patient_id"]],
                exposure=exposure,
                over=exposure.over(t),
                last_lft_on=last,
                lft_prompt=rules.lft_prompt(exposure=exposure, last_lft_on=last, t=t, today=today),
            )
        )
    return found


def last_lft_on(patient: Patient):
    return LiverTest.objects.filter(patient=patient).aggregate(last=Max("taken_on"))["last"]


def lft_prompt_for(patient: Patient, exposure: rules.Exposure, t: rules.Thresholds) -> str | None:
    return rules.lft_prompt(exposure=exposure, last_lft_on=last_lft_on(patient), t=t, today=timezone.localdate())


# --- Course rules: booking, check-in, start ------------------------------------------------


def _is_infusion(appointment_type) -> bool:
    return appointment_type.code in rules.INFUSION_TYPE_CODES


def _other_infusion_starts(patient_id: int, *, exclude_id: int | None, statuses) -> list[datetime]:
    qs = Appointment.objects.filter(
        patient_id=patient_id, appointment_type__code__in=rules.INFUSION_TYPE_CODES, status__in=statuses
    )
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return list(qs.values_list("start", flat=True))


def plan_counts(plan: TreatmentPlan, patient_id: int, *, exclude_id: int | None = None) -> tuple[int, int]:
    """(infusions of the plan started, the patient's infusion bookings not yet started)."""
    sessions = InfusionSession.objects.filter(plan=plan, started_at__isnull=False)
    booked = Appointment.objects.filter(
        patient_id=patient_id,
        appointment_type__code__in=rules.INFUSION_TYPE_CODES,
        status__in=ACTIVE_STATUSES,
    ).exclude(infusion_session__started_at__isnull=False)
    if exclude_id is not None:
        sessions = sessions.exclude(appointment_id=exclude_id)
        booked = booked.exclude(pk=exclude_id)
    return sessions.count(), booked.count()


@dataclass
class Gate:
    """What the maintenance gate found for a patient."""

    after_gap: bool = False
    last_given_at: datetime | None = None
    rescreen: MaintenanceRescreen | None = None
    consent_current: bool = True
    refusals: list[str] = field(default_factory=list)


def consent_current(patient: Patient, *, since: datetime) -> bool:
    """Whether the patient has consented again after ``since`` (the last infusion): every consent
    the clinic requires is current and was signed after it (the consents app's standing)."""
    kinds = required_kinds() or [ConsentKind.TREATMENT]
    return all(
        not status.blocks and status.signed_at is not None and status.signed_at > since
        for status in consent_status(patient, kinds=kinds).values()
    )


def maintenance_gate(patient: Patient, *, start: datetime, t: rules.Thresholds) -> Gate:
    """Whether an infusion at ``start`` is a booster after the clinic's gap, and if so what it
    still lacks: a re-screen since the last infusion, cleared, and renewed consent."""
    last = given_sessions().filter(patient=patient).aggregate(last=Max("started_at"))["last"]
    gate = Gate(last_given_at=last)
    if last is None or not rules.after_gap(last_given_at=last, start=start, t=t):
        return gate
    gate.after_gap = True
    gate.rescreen = MaintenanceRescreen.objects.filter(patient=patient, recorded_at__gt=last).first()
    gate.consent_current = consent_current(patient, since=last)
    gate.refusals = rules.maintenance_refusals(
        rescreen=gate.rescreen.state if gate.rescreen else "",
        consent_current=gate.consent_current,
        last_given_at=last,
        t=t,
    )
    return gate


def booking_refusals(patient, appointment_type, start: datetime, *, end: datetime, location) -> list[str]:
    """Scheduling's booking check: the course rules for an infusion or booster."""
    if not _is_infusion(appointment_type):
        return []
    t = thresholds()
    found: list[str] = []
    plan = live_plan_for(patient)
    order = current_order(plan) if plan is not None else None
    hours, whose = rules.min_interval(
        policy_hours=t.min_interval_hours, order_hours=order.min_interval_hours if order else None
    )
    others = _other_infusion_starts(
        patient.pk, exclude_id=None, statuses=[*ACTIVE_STATUSES, AppointmentStatus.COMPLETED]
    )
    if problem := rules.interval_refusal(start=start, others=others, min_hours=hours, whose=whose, zone=location.zone):
        found.append(problem)
    if plan is not None and order is not None:
        given, booked = plan_counts(plan, patient.pk)
        if problem := rules.count_refusal(
            planned=order.sessions_planned, given=given, booked=booked, order_number=order.number
        ):
            found.append(problem)
    found += maintenance_gate(patient, start=start, t=t).refusals
    return found


def check_in_refusals(appointment: Appointment) -> list[str]:
    """Scheduling's check-in check: the same rules on the day (the plan may have changed)."""
    if not _is_infusion(appointment.appointment_type):
        return []
    t = thresholds()
    patient = appointment.patient
    found: list[str] = []
    plan = live_plan_for(patient)
    order = current_order(plan) if plan is not None else None
    hours, whose = rules.min_interval(
        policy_hours=t.min_interval_hours, order_hours=order.min_interval_hours if order else None
    )
    others = _other_infusion_starts(
        patient.pk,
        exclude_id=appointment.pk,
        statuses=[AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED],
    )
    if problem := rules.interval_refusal(
        start=appointment.start, others=others, min_hours=hours, whose=whose, zone=appointment.location.zone
    ):
        found.append(problem)
    if plan is not None and order is not None:
        given, _ = plan_counts(plan, patient.pk, exclude_id=appointment.pk)
        if problem := rules.check_in_count_refusal(
            planned=order.sessions_planned, given=given, order_number=order.number
        ):
            found.append(problem)
    found += maintenance_gate(patient, start=appointment.start, t=t).refusals
    return found


def infusion_number(session: InfusionSession) -> int:
    """Which of the patient's infusions this one is (1 = the first ever given)."""
    return given_sessions().filter(patient_id=session.patient_id).exclude(pk=session.pk).count() + 1


def urinary_screen_due(session: InfusionSession, t: rules.Thresholds | None = None) -> bool:
    return rules.urinary_screen_due(infusion_number=infusion_number(session), t=t or thresholds())


def start_problems(session) -> list[str]:
    """The infusions' start check: the urinary-symptom screen, when due, is recorded first."""
    t = thresholds()
    number = infusion_number(session)
    if not rules.urinary_screen_due(infusion_number=number, t=t):
        return []
    if UrinaryScreen.objects.filter(session_id=session.pk).exists():
        return []
    return [
        f"Record the urinary-symptom screen first: this is infusion {number}, and the clinic asks it at every "
        f"pre-check from infusion {t.urinary_screen_from_infusion} on ([S23])."
    ]


# --- A patient's course ---------------------------------------------------------------------


@dataclass
class Course:
    patient: Patient
    thresholds: rules.Thresholds
    exposure: rules.Exposure
    plan: TreatmentPlan | None
    order: StandingOrder | None
    orders: list[StandingOrder]
    reviews: list[TitrationReview]
    ladder: list[Decimal]
    lfts: list[LiverTest]
    lft_prompt: str | None
    findings: list[CourseFinding]
    screens: list[UrinaryScreen]
    rescreens: list[MaintenanceRescreen]
    gate: Gate
    given: int = 0
    booked: int = 0

    @property
    def open_findings(self) -> list[CourseFinding]:
        return [f for f in self.findings if f.acknowledged_at is None]

    @property
    def next_up(self) -> Decimal | None:
        if self.order is None or not self.ladder:
            return None
        return rules.ladder_step(ladder=self.ladder, current=self.order.dose, up=True)

    @property
    def next_down(self) -> Decimal | None:
        if self.order is None or not self.ladder:
            return None
        return rules.ladder_step(ladder=self.ladder, current=self.order.dose, up=False)


LIST_LIMIT = 50


def course_of(patient: Patient, *, at: datetime | None = None) -> Course:
    """Everything the course page shows, in a fixed number of queries."""
    at = at or timezone.now()
    t = thresholds()
    exposure = exposure_of(patient, at=at)
    plan = live_plan_for(patient)
    orders = (
        list(StandingOrder.objects.filter(plan=plan).select_related("signed_by").order_by("-number"))
        if plan is not None
        else []
    )
    order = next((o for o in orders if o.superseded_at is None), None)
    lfts = list(LiverTest.objects.filter(patient=patient).select_related("recorded_by")[:LIST_LIMIT])
    given, booked = plan_counts(plan, patient.pk) if plan is not None else (0, 0)
    return Course(
        patient=patient,
        thresholds=t,
        exposure=exposure,
        plan=plan,
        order=order,
        orders=orders,
        reviews=list(
            TitrationReview.objects.filter(patient=patient).select_related("reviewed_by", "order")[:LIST_LIMIT]
        ),
        ladder=list(plan.protocol.titration_ladder) if plan is not None else [],
        lfts=lfts,
        lft_prompt=rules.lft_prompt(
            exposure=exposure, last_lft_on=lfts[0].taken_on if lfts else None, t=t, today=timezone.localdate()
        ),
        findings=list(CourseFinding.objects.filter(patient=patient).select_related("acknowledged_by")[:LIST_LIMIT]),
        screens=list(UrinaryScreen.objects.filter(patient=patient).select_related("recorded_by")[:LIST_LIMIT]),
        rescreens=list(
            MaintenanceRescreen.objects.filter(patient=patient).select_related("recorded_by", "reviewed_by")[
                :LIST_LIMIT
            ]
        ),
        gate=maintenance_gate(patient, start=at, t=t),
        given=given,
        booked=booked,
    )


# --- Maintenance re-screen ----------------------------------------------------------------

# The facts a re-screen asks again: the ones that change over months (vitals, pregnancy, new
# conditions and medicines, psychosis, substance use, urinary symptoms).
RESCREEN_FACTS = (
    "bp_systolic_mmhg",
    "bp_diastolic_mmhg",
    "pregnant",
    "breastfeeding",
    "hypertension",
    "hypertension_controlled",
    "ischaemic_heart_disease",
    "stroke_history",
    "other_cardiovascular_disease",
    "hepatic_disease",
    "active_psychosis",
    "bipolar_or_mania",
    "substance_use_disorder_active",
    "ketamine_misuse_history",
    "cystitis_or_urinary_symptoms",
    "takes_theophylline_or_aminophylline",
    "takes_benzodiazepine",
    "takes_opioid",
    "takes_other_sedative",
    "takes_psychostimulant",
    "takes_maoi",
)


def rescreen_base_facts(patient: Patient) -> screening_rules.IntakeFacts:
    """What the intake recorded, the re-screen's starting point (the plan's consultation, else
    the patient's last signed one; none: nothing recorded)."""
    plan = live_plan_for(patient) or TreatmentPlan.objects.filter(patient=patient).first()
    if plan is None:
        return screening_rules.IntakeFacts(date_of_birth=patient.date_of_birth)
    return intake_facts(plan.consultation)


def open_findings(patient: Patient) -> list[CourseFinding]:
    return list(CourseFinding.objects.filter(patient=patient, acknowledged_at__isnull=True)[:LIST_LIMIT])
