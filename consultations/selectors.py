"""Reads for consultations and plans. Each function owns its query shape and bounds.

``intake_facts`` is the one place the recorded intake becomes ``rules.IntakeFacts``:
screening always sees exactly what was recorded, and unknown stays None.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from assessments.instruments import INSTRUMENTS
from assessments.models import InstrumentResponse, ResponseContext
from assessments.selectors import current_responses_for
from consultations import decisions, rules
from consultations.choices import CLASS_FACT, LIVE_PLAN_STATUSES, PlanStatus
from consultations.forms import INTAKE_FIELDS
from consultations.models import (
    DIRECT_FACTS,
    AntidepressantTrial,
    Consultation,
    ConsultationDraft,
    ConsultationStatus,
    Medication,
    Protocol,
    ScreeningPolicy,
    StandingOrder,
    TreatmentPlan,
)
from core import hashing
from scheduling.access import in_their_patients, location_ids_for
from scheduling.hooks import RecordLink
from scheduling.models import ACTIVE_STATUSES, Appointment
from scheduling.selectors import clinician_day

# --- Policy --------------------------------------------------------------------------


def screening_policy() -> ScreeningPolicy:
    policy, _ = ScreeningPolicy.objects.get_or_create(pk=1)
    return policy


def screening_thresholds(policy: ScreeningPolicy | None = None) -> rules.ScreeningThresholds:
    policy = policy or screening_policy()
    names = [f.name for f in dataclasses.fields(rules.ScreeningThresholds)]
    return rules.ScreeningThresholds(**{name: getattr(policy, name) for name in names})


# --- One consultation ----------------------------------------------------------------


def consultation_detail(consultation_id: int) -> Consultation | None:
    return (
        Consultation.objects.select_related(
            "patient",
            "appointment__appointment_type",
            "appointment__location",
            "clinician",
            "signed_by",
        )
        .prefetch_related(
            Prefetch("medications", queryset=Medication.objects.order_by("id")),
            Prefetch("antidepressant_trials", queryset=AntidepressantTrial.objects.order_by("id")),
            "amendments__author",
            Prefetch("plans", queryset=TreatmentPlan.objects.select_related("protocol").order_by("-created_at")),
        )
        .filter(pk=consultation_id)
        .first()
    )


def baseline_responses(consultation: Consultation) -> dict[str, InstrumentResponse]:
    """The current baseline response per instrument recorded for this consultation."""
    found: dict[str, InstrumentResponse] = {}
    for response in current_responses_for(subject=consultation):
        if response.context == ResponseContext.BASELINE:
            found[response.instrument] = response  # oldest first, so the newest wins
    return found


def draft_for(consultation: Consultation, user) -> ConsultationDraft | None:
    return ConsultationDraft.objects.filter(consultation=consultation, author=user).first()


def _tri(values: Iterable[bool]) -> bool | None:
    return True if any(values) else None


def intake_facts(
    consultation: Consultation,
    *,
    medications: Iterable[Medication] | None = None,
    trials: Iterable[AntidepressantTrial] | None = None,
    responses: dict[str, InstrumentResponse] | None = None,
) -> rules.IntakeFacts:
    """The recorded intake as screening facts. Children and responses may be passed in when
    the caller already holds them (no extra queries); otherwise they are read here."""
    medications = list(consultation.medications.all() if medications is None else medications)
    trials = list(consultation.antidepressant_trials.all() if trials is None else trials)
    responses = baseline_responses(consultation) if responses is None else responses

    values: dict[str, Any] = {name: getattr(consultation, name) for name in DIRECT_FACTS}
    values["hepatic_severity"] = (
        rules.HepaticSeverity(values["hepatic_severity"]) if values["hepatic_severity"] else None
    )
    values["date_of_birth"] = consultation.patient.date_of_birth
    values["indications"] = frozenset(rules.Indication(code) for code in consultation.indications)
    # A class is "taken" when a listed medicine has it; "not taken" only once the list is
    # marked complete; otherwise unknown (None), which the rules report as missing.
    classes = {m.interaction_class for m in medications}
    for klass, fact in CLASS_FACT.items():
        if klass in classes:
            values[fact] = True
        else:
            values[fact] = False if consultation.medications_complete else None
    adequate = sum(1 for t in trials if t.adequate)
    values["prior_adequate_antidepressant_trials"] = (
        adequate if (trials or consultation.antidepressant_trials_taken) else None
    )
    phq9 = responses.get("phq9")
    values["phq9_item9"] = phq9.answers[8] if phq9 is not None else None
    cssrs = responses.get("cssrs_screen")
    values["cssrs_risk"] = cssrs.band if cssrs is not None else None
    return rules.IntakeFacts(**values)


def facts_sha256(facts: rules.IntakeFacts) -> str:
    """Fingerprint of what a screening saw, to tell whether it is out of date."""
    return hashing.content_sha256(dataclasses.asdict(facts))


def screening_result(consultation: Consultation, facts: rules.IntakeFacts, *, today: date) -> rules.ScreeningResult:
    return rules.screen(facts, screening_thresholds(), today=today)


def missing_instruments(consultation: Consultation, facts: rules.IntakeFacts, responses: dict) -> list[str]:
    needed = decisions.required_instruments(consultation.indications, facts.phq9_item9)
    return [INSTRUMENTS[code].name for code in needed if code not in responses]


def record_content(
    consultation: Consultation,
    *,
    medications: Iterable[Medication],
    trials: Iterable[AntidepressantTrial],
    responses: dict[str, InstrumentResponse],
) -> dict[str, Any]:
    """Everything the clinician signs, as plain data (the hashed part of a signature)."""

    return hashing.normalised(
        {
            "consultation_id": consultation.pk,
            "patient": {
                "id": consultation.patient_id,
                "mrn": consultation.patient.mrn,
                "date_of_birth": consultation.patient.date_of_birth,
            },
            "appointment_id": consultation.appointment_id,
            "intake": {name: getattr(consultation, name) for name in INTAKE_FIELDS},
            "medications": [
                {"id": m.pk, "name": m.name, "dose": m.dose, "interaction_class": m.interaction_class}
                for m in medications
            ],
            "antidepressant_trials": [
                {
                    "id": t.pk,
                    "drug": t.drug,
                    "dose": t.dose,
                    "duration_weeks": t.duration_weeks,
                    "adequate": t.adequate,
                    "response": t.response,
                }
                for t in trials
            ],
            "instruments": [
                {
                    "id": r.pk,
                    "instrument": r.instrument,
                    "version": r.instrument_version,
                    "answers": r.answers,
                    "total": r.total,
                    "band": r.band,
                    "flags": r.flags,
                    "administered_at": r.administered_at,
                }
                for r in sorted(responses.values(), key=lambda r: r.instrument)
            ],
        }
    )


def verify_signature(consultation: Consultation, *, responses: dict | None = None) -> bool:
    """The stored hash matches the stored snapshot, and the snapshot matches the live rows."""
    if not consultation.is_signed:
        return False
    stored = consultation.signed_content
    if hashing.content_sha256(stored) != consultation.content_sha256:
        return False
    live = record_content(
        consultation,
        medications=consultation.medications.all(),
        trials=consultation.antidepressant_trials.all(),
        responses=baseline_responses(consultation) if responses is None else responses,
    )
    return {key: stored.get(key) for key in live} == live


# --- Lists ---------------------------------------------------------------------------


def patient_panel(patient) -> dict[str, list]:
    consultations = list(
        Consultation.objects.filter(patient=patient)
        .select_related("clinician", "signed_by", "appointment")
        .order_by("-created_at")[:20]
    )
    plans = list(TreatmentPlan.objects.filter(patient=patient).select_related("protocol").order_by("-created_at")[:20])
    return {"consultations": consultations, "plans": plans, "booked_intakes": booked_intakes(patient)}


def booked_intakes(patient) -> list[Appointment]:
    """The patient's consultation appointments still to happen or happening, whatever the day, whose
    intake is not opened yet (the chart offers each; starting an intake attaches to the nearest)."""
    return list(
        Appointment.objects.filter(
            patient=patient,
            appointment_type__code="consultation",
            consultation__isnull=True,
            status__in=[s.value for s in ACTIVE_STATUSES],
        )
        .select_related("location")
        .order_by("start")[:10]
    )


def appointment_record_links(appointment, user) -> list[RecordLink]:
    """Registered with ``scheduling.hooks``: the appointment page links to its intake, or offers
    to open it, for those who may see (and open) intakes."""
    if appointment.appointment_type.code != "consultation" or not user.has_perm("consultations.view_consultation"):
        return []
    consultation = Consultation.objects.filter(appointment=appointment).only("id", "status").first()
    if consultation is not None:
        label = f"Intake consultation ({consultation.get_status_display().lower()})"
        return [RecordLink(label, reverse("consultations:detail", args=[consultation.pk]))]
    if appointment.status in ACTIVE_STATUSES and user.has_perm("consultations.add_consultation"):
        return [RecordLink("Open the intake", reverse("consultations:open", args=[appointment.pk]), opens=True)]
    return []


def clinician_home(*, user, today: date, appointments: list | None = None) -> dict[str, Any]:
    """Today's consultation appointments with their intake, drafts to finish, and screenings
    awaiting a decision, at ``user``'s locations. ``appointments``: the clinician's day (of their
    locations) if the caller already has it.
    Bounded: 2 queries (4 without ``appointments``) whatever the volume."""
    if appointments is None:
        appointments = clinician_day(clinician=user, today=today, location_ids=location_ids_for(user))
    appointments = [a for a in appointments if a.appointment_type.code == "consultation"]
    by_appointment = {
        c.appointment_id: c
        for c in Consultation.objects.filter(appointment__in=[a.pk for a in appointments]).only(
            "id", "appointment_id", "status", "screened_at"
        )
    }
    todays = [(a, by_appointment.get(a.pk)) for a in appointments]
    # Their own drafts of their locations' patients: a chart elsewhere opens only through break-glass.
    drafts = list(
        in_their_patients(user, Consultation.objects.filter(clinician=user, status=ConsultationStatus.DRAFT))
        .select_related("patient")
        .order_by("created_at")[:20]
    )
    awaiting = [c for c in drafts if c.screened_at is not None]
    return {"todays_consultations": todays, "drafts": drafts, "awaiting_decision": awaiting}


def active_plan_for(patient) -> TreatmentPlan | None:
    """The plan infusions may be given under now (active or maintenance), with its protocol
    and consultation, or None. Infusions read dose, dose unit, duration, weight basis,
    maximum dose and measurement schedule from it."""
    return (
        TreatmentPlan.objects.filter(patient=patient, status__in=[PlanStatus.ACTIVE, PlanStatus.MAINTENANCE])
        .select_related("protocol", "consultation")
        .first()
    )


def live_plan_for(patient) -> TreatmentPlan | None:
    """The patient's one live plan, on hold included (a database constraint allows one)."""
    return (
        TreatmentPlan.objects.filter(patient=patient, status__in=LIVE_PLAN_STATUSES)
        .select_related("protocol", "consultation")
        .first()
    )


def plan_detail(plan_id: int) -> TreatmentPlan | None:
    return (
        TreatmentPlan.objects.select_related("protocol", "patient", "consultation", "created_by")
        .prefetch_related("status_changes__by")
        .filter(pk=plan_id)
        .first()
    )


def _ready_to_book() -> QuerySet[TreatmentPlan]:
    upcoming = Appointment.objects.filter(
        patient=OuterRef("patient"),
        appointment_type__code__in=["infusion", "booster"],
        status__in=[s.value for s in ACTIVE_STATUSES],
        start__gte=timezone.now(),
    )
    return (
        TreatmentPlan.objects.filter(status=PlanStatus.ACTIVE)
        .filter(~Exists(upcoming))
        .select_related("patient")
        .only(
            "id",
            "status",
            "sessions_planned",
            "sessions_per_week",
            "status_changed_at",
            "patient__id",
            "patient__mrn",
            "patient__legal_first_name",
            "patient__legal_last_name",
            "patient__preferred_name",
        )
        .order_by("status_changed_at", "id")
    )


def plans_ready_to_book(*, limit: int = 100, user=None) -> list[TreatmentPlan]:
    """Active plans whose patient has no upcoming infusion booked: what the front desk books
    next (of ``user``'s locations' patients, when given). Only booking facts are selected (no
    clinical content)."""
    plans = _ready_to_book() if user is None else in_their_patients(user, _ready_to_book())
    return list(plans[:limit])


def plan_is_ready_to_book(plan: TreatmentPlan) -> bool:
    return plan.status == PlanStatus.ACTIVE and _ready_to_book().filter(pk=plan.pk).exists()


def active_protocols(indication: str | None = None) -> QuerySet[Protocol]:
    qs = Protocol.objects.filter(active=True)
    if indication:
        qs = qs.filter(indications__contains=[indication])
    return qs.order_by("name")


def has_live_plan(patient, *, exclude: int | None = None) -> bool:
    qs = TreatmentPlan.objects.filter(patient=patient, status__in=LIVE_PLAN_STATUSES)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def current_order(plan) -> StandingOrder | None:
    """The version of the plan's standing order in force (signed, not superseded), or None."""
    return StandingOrder.objects.filter(plan=plan, superseded_at__isnull=True).select_related("signed_by").first()


def order_versions(plan) -> list[StandingOrder]:
    """Every version of the plan's standing order, newest first (the old ones stay readable)."""
    return list(StandingOrder.objects.filter(plan=plan).select_related("signed_by").order_by("-number"))
