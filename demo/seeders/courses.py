"""A course over months (synthetic): a titration step after a non-response review, liver
function tests for the most exposed patients (one above normal, with its finding), urinary-
symptom screens on past infusions, and a maintenance re-screen waiting for the prescriber.

Written through the courses services where a clinician acts (the step signs a new version of
the standing order), directly for the screens of past infusions (the service records them only
before an infusion starts)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.utils import timezone

from consultations.models import StandingOrder, TreatmentPlan
from courses import selectors, services
from courses.models import UrinaryScreen
from demo.context import SeedContext
from infusions.models import InfusionSession
from patients.models import Patient

OPEN = ("scheduled", "pre_check", "cleared", "infusing", "paused", "completed", "stopped_early", "recovering")


def seed(ctx: SeedContext) -> None:
    selectors.policy()
    counts = {"titration steps": 0, "liver tests": 0, "urinary screens": 0, "re-screens": 0}
    prescriber = ctx.staff.get("clinician") or ctx.staff.get("dr.chen")
    if prescriber is None:
        ctx.counts.update(counts)
        return
    nurse = ctx.staff.get("nurse") or prescriber
    given = selectors.given_sessions()
    busy_today = set(
        InfusionSession.objects.filter(status__in=OPEN, appointment__start__date__gte=ctx.today).values_list(
            "patient_id", flat=True
        )
    )
    # Titration: a depression plan with at least three infusions given and none open today.
    candidates = (
        TreatmentPlan.objects.filter(status="active", protocol__titration_ladder__len__gt=0)
        .exclude(patient_id__in=busy_today)
        .annotate(n=Count("infusion_sessions", filter=None))
        .filter(n__gte=3)
        .order_by("id")
    )
    for plan in candidates[:2]:
        order = StandingOrder.objects.filter(plan=plan, superseded_at__isnull=True).first()
        if order is None:
            continue
        n = given.filter(plan=plan).count()
        if n < 3:
            continue
        try:
            services.titration_review_record(
                plan=plan,
                kind="non_response",
                after_infusion=min(n, 3),
                findings="PHQ-9 down by less than a quarter from baseline after three infusions; tolerated well, "
                "no dissociation beyond the session.",
                decision="step_up",
                by=prescriber,
            )
        except ValidationError:
            continue
        counts["titration steps"] += 1
        break
    # Liver function tests for the patients with most given in 90 days.
    recent = (
        given.filter(started_at__gt=timezone.now() - timedelta(days=90))
        .values("patient_id")
        .annotate(n=Count("id"), last=Max("started_at"))
        .order_by("-n", "patient_id")[:3]
    )
    for i, row in enumerate(recent):
        patient = Patient.objects.get(pk=row["patient_id"])
        abnormal = i == 1
        services.liver_test_record(
            patient=patient,
            taken_on=ctx.today - timedelta(days=20 + 10 * i),
            alt=88 if abnormal else 24 + i,
            alt_uln=40,
            ast=52 if abnormal else 21 + i,
            ast_uln=35,
            laboratory="Northside Laboratory",
            by=nurse,
        )
        counts["liver tests"] += 1
    # Urinary-symptom screens on the latest past infusions of a few patients (one with symptoms).
    screened = 0
    for session in given.exclude(patient_id__in=busy_today).select_related("patient").order_by("-started_at")[:200]:
        if screened >= 4 or UrinaryScreen.objects.filter(session=session).exists():
            continue
        positive = screened == 0
        UrinaryScreen.objects.create(
            session=session,
            patient=session.patient,
            frequency=positive,
            urgency=False,
            pain=positive,
            blood=False,
            notes="Worse after the last two infusions" if positive else "",
            positive=positive,
            recorded_by=nurse,
            recorded_at=(session.started_at or timezone.now()) - timedelta(minutes=15),
        )
        if positive:
            services.finding_raise(
                patient=session.patient,
                kind="urinary",
                message="Urinary symptoms at the pre-check: passing urine more often than before, day or night; "
                "pain or burning passing urine, or bladder pain. Consider ketamine-associated cystitis.",
                source="[S23] CI-16",
                by=nurse,
            )
        screened += 1
    counts["urinary screens"] = screened
    # A maintenance re-screen waiting for the prescriber (a misuse question answered yes).
    maintenance = TreatmentPlan.objects.filter(status__in=["maintenance", "completed"]).order_by("id").first()
    if maintenance is not None:
        services.rescreen_record(
            patient=maintenance.patient,
            facts={"bp_systolic_mmhg": 132, "bp_diastolic_mmhg": 84},
            misuse={"early_requests": True},
            by=nurse,
        )
        counts["re-screens"] = 1
    ctx.counts.update(counts)
