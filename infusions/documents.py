"""Infusions' documents: the infusion session record and the course-of-treatment summary
(registered with documents). The ledger adds its ketamine entries to the session record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch
from django.utils import timezone

from assessments.documents import outcome_table, response_row
from assessments.selectors import current_responses_for
from consultations.models import TreatmentPlan
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import letterhead, local_text, patient_part, user_text, yes_no
from infusions.models import READING_FIELDS, READING_LABELS, DoseCalculation, DrugGiven, InfusionSession
from infusions.selectors.sessions import current_dose, readings, session_detail
from scheduling.documents import INFUSION_CODES, next_appointment
from scheduling.models import Appointment

# --- Course-of-treatment summary -------------------------------------------------


def _sessions(patient, plan) -> list[dict[str, Any]]:
    qs = (
        Appointment.objects.filter(patient=patient, appointment_type__code__in=INFUSION_CODES)
        .exclude(status__in=["cancelled", "entered_in_error"])
        .select_related("appointment_type", "location")
        .order_by("start")
    )
    if plan is not None:  # this course: from the day of the consultation the plan came from
        day = timezone.localtime(plan.consultation.created_at).replace(hour=0, minute=0, second=0, microsecond=0)
        qs = qs.filter(start__gte=day)
    appointments = list(qs[:200])
    details = _session_details([a.pk for a in appointments])
    rows = []
    for number, appt in enumerate(appointments, start=1):
        dose, tolerability = details.get(appt.pk, ("", ""))
        rows.append(
            {
                "number": number,
                "appointment_id": appt.pk,
                "date": appt.start.astimezone(appt.location.zone).strftime("%m/%d/%Y"),
                "type": appt.appointment_type.name,
                "status": appt.get_status_display(),
                "dose": dose,
                "tolerability": tolerability,
            }
        )
    return rows


def _session_details(appointment_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Dose given and tolerability (adverse events) per infusion appointment, in two queries."""
    sessions = (
        InfusionSession.objects.filter(appointment_id__in=appointment_ids)
        .annotate(adverse_event_count=Count("adverse_events"))
        .prefetch_related(
            Prefetch(
                "dose_calculations",
                queryset=DoseCalculation.objects.filter(superseded_at__isnull=True).only("id", "session_id", "dose_mg"),
                to_attr="current_doses",
            )
        )
        .only("id", "appointment_id", "status", "delivered_mg")
    )
    out = {}
    for session in sessions:
        dose = f"{session.current_doses[0].dose_mg} mg" if session.current_doses else ""
        if session.delivered_mg is not None:
            dose = f"{dose} · {session.delivered_mg} mg delivered".lstrip(" ·")
        tolerability = (
            "no adverse events"
            if not session.adverse_event_count
            else f"{session.adverse_event_count} adverse event(s)"
        )
        out[session.appointment_id] = (dose, tolerability)
    return out


def course_summary(plan) -> dict[str, Any]:
    patient = plan.patient
    consultation = plan.consultation
    location = consultation.appointment.location if consultation.appointment_id else None
    sessions = _sessions(patient, plan)
    return {
        "letterhead": letterhead(location),
        "patient": patient_part(patient),
        "recipient": patient.referring_provider or consultation.referral_source,
        "plan": {
            "id": plan.pk,
            "protocol": str(plan.protocol),
            "indication": plan.get_indication_display(),
            "dose": plan.dose_text,
            "infusion_minutes": plan.infusion_minutes,
            "sessions_planned": plan.sessions_planned,
            "frequency": plan.frequency_text,
            "status": plan.get_status_display(),
            "notes": plan.notes,
            "started": local_text(plan.status_changed_at or plan.created_at, "m/d/Y"),
        },
        "sessions": sessions,
        "sessions_completed": sum(1 for s in sessions if s["status"] == "Completed"),
        "outcomes": outcome_table(patient),
        "next_appointment": next_appointment(patient),
        "clinician": user_text(consultation.signed_by or consultation.clinician),
    }


def _drug_text(drug) -> str:
    """A rescue drug as the record prints it: what, how much, how, when, by whom, and whether
    it is a controlled substance."""
    text = f"{drug.name} {drug.dose.normalize():f} {drug.dose_unit} {drug.get_route_display()}"
    text += f" at {local_text(drug.given_at, 'TIME_FORMAT')}"
    if drug.given_by_id:
        text += f" by {user_text(drug.given_by)}"
    return text + (f" (controlled, {drug.get_dea_schedule_display()})" if drug.controlled else "")


def _minutes(since: datetime | None, at: datetime) -> int | None:
    return round((at - since).total_seconds() / 60) if since else None


def _dose_part(dose) -> dict[str, Any] | None:
    if dose is None:
        return None
    return {
        "weight_kg": dose.weight_kg,
        "mg_per_kg": dose.mg_per_kg,
        "dose_mg": dose.dose_mg,
        "max_mg": dose.max_mg,
        "capped": dose.capped,
        "vial_mg_per_ml": dose.vial_mg_per_ml,
        "drug_volume_ml": dose.drug_volume_ml,
        "diluent_ml": dose.diluent_ml,
        "total_volume_ml": dose.total_volume_ml,
        "final_mg_per_ml": dose.final_mg_per_ml,
        "rate_ml_per_h": dose.rate_ml_per_h,
        "duration_min": dose.duration_min,
        "steps": list(dose.steps),
        "calculated_by": user_text(dose.calculated_by),
        "calculated_at": local_text(dose.calculated_at),
        "verified_by": user_text(dose.verified_by),
        "verified_at": local_text(dose.verified_at),
    }


def infusion_record(session) -> dict[str, Any]:
    """The signed (or in-progress) infusion day: pre-checks, dose with every step and its
    verification, the vitals table and chart data, alerts, adverse events, recovery scores,
    discharge, signature and amendments."""
    appointment = session.appointment
    check = getattr(session, "pre_check", None) if hasattr(session, "pre_check") else None
    rows = readings(session)
    started = session.started_at
    pre = None
    if check is not None:
        pre = {
            "last_clear_liquid_at": local_text(check.last_clear_liquid_at),
            "last_light_meal_at": local_text(check.last_light_meal_at),
            "last_fatty_meal_at": local_text(check.last_fatty_meal_at),
            "escort": f"{yes_no(check.escort_present)} {check.escort_name} {check.escort_phone}".strip(),
            "pregnancy_test": check.get_pregnancy_test_result_display() or "not applicable / not done",
            "medications_changed": yes_no(check.medications_changed),
            "medication_changes": check.medication_changes,
            "vitals": f"{check.sbp_mmhg or '—'}/{check.dbp_mmhg or '—'} mmHg, HR {check.hr_bpm or '—'}, "
            f"SpO2 {check.spo2_pct or '—'} %",
            "weight_kg": check.weight_kg,
            "outcome": check.outcome,
            "results": [
                {
                    "code": r.get("code", ""),
                    "passed": yes_no(r.get("passed")),
                    "message": r.get("message", ""),
                    "source": r.get("source", ""),
                }
                for r in (check.results or [])
            ],
            "recorded_by": user_text(check.recorded_by),
        }
    fields = [f for f in READING_FIELDS if any(getattr(r, f, None) is not None for r in rows)]
    return {
        "letterhead": letterhead(appointment.location),
        "patient": patient_part(session.patient),
        "session": {
            "id": session.pk,
            "date": appointment.start.astimezone(appointment.location.zone).strftime("%m/%d/%Y"),
            "location": appointment.location.name,
            "chair": str(appointment.resource) if appointment.resource_id else "",
            "status": session.status_label,
            "protocol": str(session.plan.protocol),
            "container_lot": session.container_lot,
            "started_at": local_text(session.started_at),
            "ended_at": local_text(session.ended_at),
            "stop_reason": session.stop_reason,
            "delivered_mg": session.delivered_mg,
            "delivered_ml": session.delivered_ml,
            "clearance": session.clearance,
            "clinician_decision": session.clinician_decision_reason,
        },
        "pre_check": pre,
        "dose": _dose_part(current_dose(session)),
        "vitals_columns": [[f, READING_LABELS.get(f, f)] for f in fields],
        "vitals_table": [
            {
                "time": local_text(r.taken_at, "TIME_FORMAT"),
                "phase": r.get_phase_display(),
                "values": [getattr(r, f) for f in fields],
            }
            for r in rows
        ],
        "vitals_rows": [
            {
                "minute": _minutes(started or (rows[0].taken_at if rows else None), r.taken_at),
                "systolic": r.sbp_mmhg,
                "diastolic": r.dbp_mmhg,
                "heart_rate": r.hr_bpm,
                "spo2": r.spo2_pct,
            }
            for r in rows
        ],
        "alerts": [
            {
                "time": local_text(a.raised_at, "TIME_FORMAT"),
                "severity": a.severity,
                "message": a.message,
                "action": a.get_action_display() if a.action else "",
                "note": a.action_note,
            }
            for a in session.alerts.order_by("raised_at", "id")
        ],
        "adverse_events": [
            {
                "kind": e.get_kind_display() + (f": {e.kind_other}" if e.kind_other else ""),
                "severity": e.get_severity_display(),
                "onset": local_text(e.onset_at, "TIME_FORMAT"),
                "action": e.action_taken,
                "outcome": e.get_outcome_display()
                + (f": {e.handover_note}" if e.handover_note else "")
                + (f" ({user_text(e.outcome_by)}, {local_text(e.outcome_at, 'TIME_FORMAT')})" if e.outcome_at else ""),
                "drugs": [_drug_text(d) for d in e.drugs.all()],
            }
            for e in session.adverse_events.select_related("outcome_by")
            .prefetch_related(Prefetch("drugs", queryset=DrugGiven.objects.select_related("given_by")))
            .order_by("onset_at", "id")
        ],
        "scores": [response_row(r) for r in current_responses_for(subject=session)],
        "discharge": {
            "at": local_text(session.discharged_at),
            "escort_present": yes_no(session.escort_present_at_discharge),
            "escort": f"{session.escort_name} {session.escort_phone}".strip(),
            "instructions_given": local_text(session.instructions_given_at),
            "instructions_given_by": user_text(session.instructions_given_by),
            "readiness": session.readiness or {},
        },
        "signature": {
            "signed_by": user_text(session.signed_by),
            "signed_at": local_text(session.signed_at),
            "content_sha256": session.content_sha256,
        },
        "amendments": [
            {
                "kind": a.get_kind_display(),
                "reason": a.reason,
                "text": a.text,
                "author": user_text(a.author),
                "at": local_text(a.at),
            }
            for a in session.amendments.select_related("author").order_by("at", "id")
        ],
    }


def find_plan(patient, subject_id: int | None) -> TreatmentPlan | None:
    if subject_id is None:
        return None
    return (
        TreatmentPlan.objects.select_related("patient", "protocol", "consultation__appointment__location")
        .filter(pk=subject_id, patient=patient)
        .first()
    )


def plans(patient) -> list[TreatmentPlan]:
    return list(
        TreatmentPlan.objects.filter(patient=patient)
        .exclude(status="draft")
        .select_related("protocol")
        .only("id", "status", "protocol__name")
        .order_by("-created_at")[:10]
    )


def find_session(patient, subject_id: int | None) -> InfusionSession | None:
    """The printable record of one infusion day (signed or not: an unsigned one says so)."""
    session = session_detail(subject_id) if subject_id else None
    return session if session is not None and session.patient_id == patient.pk else None


def sessions(patient) -> list[InfusionSession]:
    return list(
        InfusionSession.objects.filter(patient=patient)
        .exclude(status__in=["scheduled"])
        .select_related("appointment")
        .only("id", "status", "appointment__start")
        .order_by("-appointment__start")[:12]
    )


registry.register(
    DocumentKind.INFUSION_RECORD,
    template="documents/infusion_record.html",
    build=infusion_record,
    patient_of=lambda session: session.patient,
    find=find_session,
    choices=sessions,
    not_found="No such infusion session for this patient.",
)
registry.register(
    DocumentKind.COURSE_SUMMARY,
    template="documents/course_summary.html",
    build=course_summary,
    patient_of=lambda plan: plan.patient,
    find=find_plan,
    choices=plans,
    not_found="No such treatment plan for this patient.",
)
