"""What each document shows, copied into plain JSON at issue time (reads only).

A snapshot is the whole content of one version: the PDF is rendered from it and
from nothing else, so re-rendering gives the same words, and a later change to
the record (an amendment, a new score) shows only in a new version. Texts are
kept as typed; the templates escape them (hostile text prints literally).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import timezone

from documents.models import DocumentKind

LOGO_STATIC_NAMES = ("documents/letterhead-logo.svg", "documents/letterhead-logo.png")
OUTCOME_CODES = ("phq9", "gad7", "madrs", "qids_sr16", "pcl5", "nrs_pain")
INFUSION_CODES = ("infusion", "booster")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def sha256(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def local_text(value: datetime | None, fmt: str = "%m/%d/%Y %H:%M") -> str:
    return timezone.localtime(value).strftime(fmt) if value else ""


def date_text(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


# --- Shared parts ----------------------------------------------------------------


def patient_part(patient) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "name": f"{patient.legal_first_name} {patient.legal_last_name}",
        "preferred_name": patient.preferred_name,
        "date_of_birth": date_text(patient.date_of_birth),
        "mrn": patient.mrn,
        "referring_provider": patient.referring_provider,
        "preferred_language": patient.preferred_language,
    }


def letterhead(location=None) -> dict[str, Any]:
    """The clinic's letterhead from the scheduling Location (name, address, phone) and
    CLINIC_NAME; a logo at static/documents/letterhead-logo.(svg|png) when present."""
    if location is None:
        from scheduling.models import Location

        location = Location.objects.filter(active=True).order_by("name").first()
    logo = next((found for name in LOGO_STATIC_NAMES if (found := finders.find(name))), None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "location_name": getattr(location, "name", ""),
        "address": getattr(location, "address", ""),
        "phone": location.phone.as_national if location is not None and location.phone else "",
        "logo_url": f"file://{logo}" if logo else "",
    }


def _user(user) -> str:
    return str(user) if user is not None else ""


def _drug_text(drug) -> str:
    """A rescue drug as the record prints it: what, how much, how, when, by whom, and whether
    it is a controlled substance."""
    text = f"{drug.name} {drug.dose.normalize():f} {drug.dose_unit} {drug.get_route_display()}"
    text += f" at {local_text(drug.given_at, '%H:%M')}"
    if drug.given_by_id:
        text += f" by {_user(drug.given_by)}"
    return text + (f" (controlled, {drug.get_dea_schedule_display()})" if drug.controlled else "")


def _response_row(response) -> dict[str, Any]:
    from assessments.instruments import INSTRUMENTS

    inst = INSTRUMENTS[response.instrument]
    band = next((b for b in inst.bands if b.name == response.band), None)
    return {
        "code": response.instrument,
        "name": inst.name,
        "total": response.total,
        "total_max": inst.total_max,
        "band": response.band,
        "band_range": f"{band.low}–{band.high}" if band else "",
        "flags": sorted(response.flags),
        "context": response.get_context_display(),
        "administered_at": local_text(response.administered_at),
        "administered_on": timezone.localdate(response.administered_at).isoformat(),
        "source": inst.source,
    }


def _next_appointment(patient) -> dict[str, Any] | None:
    from scheduling.models import ACTIVE_STATUSES, Appointment

    appt = (
        Appointment.objects.filter(
            patient=patient, status__in=[s.value for s in ACTIVE_STATUSES], start__gt=timezone.now()
        )
        .select_related("appointment_type", "location")
        .order_by("start")
        .first()
    )
    if appt is None:
        return None
    local = appt.start.astimezone(appt.location.zone)
    return {
        "what": appt.appointment_type.name,
        "when": local.strftime("%A %B %-d, %Y at %-I:%M %p"),
        "where": appt.location.name,
        "address": appt.location.address,
    }


# --- Consultation summary --------------------------------------------------------


def consultation_summary(consultation) -> dict[str, Any]:
    from consultations import selectors as consultation_selectors
    from consultations.choices import AmendmentSection, Decision

    patient = consultation.patient
    responses = consultation_selectors.baseline_responses(consultation)
    screening = consultation.screening or {}
    location = consultation.appointment.location if consultation.appointment_id else None
    plans = list(consultation.plans.select_related("protocol").order_by("created_at"))
    amendments = list(consultation.amendments.select_related("author").order_by("at", "id"))
    return _jsonable(
        {
            "kind": DocumentKind.CONSULTATION_SUMMARY,
            "letterhead": letterhead(location),
            "patient": patient_part(patient),
            "consultation": {
                "id": consultation.pk,
                "date": local_text(
                    consultation.appointment.start if consultation.appointment_id else consultation.created_at,
                    "%m/%d/%Y",
                ),
                "clinician": _user(consultation.clinician),
                "referral_source": consultation.referral_source,
                "presenting_problem": consultation.presenting_problem,
            },
            "indications": consultation.indication_labels,
            "icd10_codes": consultation.icd10_codes,
            "indication_other": consultation.indication_other,
            "history": [
                ["Psychiatric history", consultation.psychiatric_history],
                ["Substance use", consultation.substance_use],
                ["Medical history", consultation.medical_history],
                ["Allergies", consultation.allergies],
            ],
            "risk_facts": [
                ["Psychosis (active)", yes_no(consultation.active_psychosis)],
                ["Bipolar disorder or mania", yes_no(consultation.bipolar_or_mania)],
                ["Substance use disorder (active)", yes_no(consultation.substance_use_disorder_active)],
                ["Hypertension", yes_no(consultation.hypertension)],
                ["Pregnant", yes_no(consultation.pregnant)],
            ],
            "medications": [
                {"name": m.name, "dose": m.dose, "class": m.get_interaction_class_display()}
                for m in consultation.medications.order_by("id")
            ],
            "trials": [
                {
                    "drug": t.drug,
                    "dose": t.dose,
                    "weeks": t.duration_weeks,
                    "adequate": yes_no(t.adequate),
                    "response": t.get_response_display(),
                }
                for t in consultation.antidepressant_trials.order_by("id")
            ],
            "vitals": {
                "bp": f"{consultation.bp_systolic_mmhg}/{consultation.bp_diastolic_mmhg} mmHg"
                if consultation.bp_systolic_mmhg
                else "",
                "heart_rate": f"{consultation.heart_rate_bpm} bpm" if consultation.heart_rate_bpm else "",
                "spo2": f"{consultation.spo2_percent} %" if consultation.spo2_percent else "",
                "weight": f"{consultation.weight_kg} kg" if consultation.weight_kg else "",
                "bmi": f"{consultation.bmi} kg/m²" if consultation.bmi else "",
            },
            "baseline": [_response_row(r) for r in sorted(responses.values(), key=lambda r: r.instrument)],
            "screening": {
                "outcome": screening.get("outcome", ""),
                "rule_set_version": screening.get("rule_set_version", consultation.rule_set_version),
                "findings": [
                    {
                        "rule_id": f.get("rule_id", ""),
                        "klass": f.get("klass", ""),
                        "fact": f.get("fact", ""),
                        "message": f.get("message", ""),
                        "source": f.get("source", ""),
                        "justification": (consultation.justifications or {}).get(f.get("rule_id", ""), ""),
                    }
                    for f in screening.get("findings", [])
                ],
            },
            "decision": Decision(consultation.decision).label if consultation.decision else "",
            "decision_note": consultation.decision_note,
            "consent": {
                "given": yes_no(consultation.consent_given),
                "document_version": consultation.consent_document_version,
                "signed_on": date_text(consultation.consent_signed_on),
            },
            "plans": [
                {
                    "id": p.pk,
                    "protocol": str(p.protocol),
                    "dose": p.dose_text,
                    "infusion_minutes": p.infusion_minutes,
                    "max_dose_mg": p.max_dose_mg,
                    "sessions_planned": p.sessions_planned,
                    "frequency": p.frequency_text,
                    "status": p.get_status_display(),
                    "notes": p.notes,
                }
                for p in plans
            ],
            "signature": {
                "signed_by": _user(consultation.signed_by),
                "signed_at": local_text(consultation.signed_at),
                "content_sha256": consultation.content_sha256,
            },
            "amendments": [
                {
                    "kind": a.get_kind_display(),
                    "section": AmendmentSection(a.section).label if a.section in AmendmentSection.values else a.section,
                    "reason": a.reason,
                    "text": a.text,
                    "author": _user(a.author),
                    "at": local_text(a.at),
                }
                for a in amendments
            ],
        }
    )


# --- Discharge instructions -----------------------------------------------------


def discharge_instructions(patient, appointment=None) -> dict[str, Any]:
    """Plain-language hand-out. The advice is fixed text in the template; the snapshot
    holds who it is for, the visit, whom to call and the next appointment."""
    location = appointment.location if appointment is not None else None
    head = letterhead(location)
    return _jsonable(
        {
            "kind": DocumentKind.DISCHARGE_INSTRUCTIONS,
            "letterhead": head,
            "patient": patient_part(patient),
            "visit": {
                "date": appointment.start.astimezone(appointment.location.zone).strftime("%A %B %-d, %Y")
                if appointment is not None
                else timezone.localdate().strftime("%A %B %-d, %Y"),
                "what": appointment.appointment_type.name if appointment is not None else "",
            },
            "clinic_phone": head["phone"],
            "escort": patient.escort_name,
            "next_appointment": _next_appointment(patient),
        }
    )


# --- Course-of-treatment summary -------------------------------------------------


def _sessions(patient, plan) -> list[dict[str, Any]]:
    from scheduling.models import Appointment

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
    from django.db.models import Count, Prefetch

    from infusions.models import DoseCalculation, InfusionSession

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


def _applicable(value: bool | None) -> str:
    return "not applicable" if value is None else yes_no(value)


def outcome_table(patient) -> dict[str, Any]:
    """Scores per instrument (oldest first), change from baseline, response and remission."""
    from assessments.instruments import CHANGE_CODES, INSTRUMENTS, change
    from assessments.selectors import patient_responses

    instruments = []
    for code in OUTCOME_CODES:
        found = list(reversed(patient_responses(patient=patient, code=code, limit=200)))
        if not found:
            continue
        baseline = next((r for r in reversed(found) if r.context == "baseline"), found[0])
        latest = found[-1]
        outcome = (
            change(code, baseline.total, latest.total) if code in CHANGE_CODES and latest is not baseline else None
        )
        instruments.append(
            {
                "code": code,
                "name": INSTRUMENTS[code].name,
                "total_max": INSTRUMENTS[code].total_max,
                "rows": [_response_row(r) for r in found],
                "baseline_total": baseline.total,
                "latest_total": latest.total,
                "percent_change": outcome.percent_change if outcome else None,
                "response": yes_no(outcome.response) if outcome and outcome.response is not None else "not applicable",
                "remission": yes_no(outcome.remission)
                if outcome and outcome.remission is not None
                else "not applicable",
                "bands": [[b.low, b.high, b.name] for b in INSTRUMENTS[code].bands],
            }
        )
    return {"instruments": instruments}


def course_summary(plan) -> dict[str, Any]:
    patient = plan.patient
    consultation = plan.consultation
    location = consultation.appointment.location if consultation.appointment_id else None
    sessions = _sessions(patient, plan)
    return _jsonable(
        {
            "kind": DocumentKind.COURSE_SUMMARY,
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
                "started": local_text(plan.status_changed_at or plan.created_at, "%m/%d/%Y"),
            },
            "sessions": sessions,
            "sessions_completed": sum(1 for s in sessions if s["status"] == "Completed"),
            "outcomes": outcome_table(patient),
            "next_appointment": _next_appointment(patient),
            "clinician": _user(consultation.signed_by or consultation.clinician),
        }
    )


# --- Infusion session record -------------------------------------------------------


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
        "calculated_by": _user(dose.calculated_by),
        "calculated_at": local_text(dose.calculated_at),
        "verified_by": _user(dose.verified_by),
        "verified_at": local_text(dose.verified_at),
    }


def _ketamine_part(session) -> list[dict[str, Any]]:
    """The session's ledger entries: each draw with its vial and lot, each waste with its witness,
    reversals included (21 CFR 1304.22(c) wants the record as it stands, corrections visible)."""
    from controlled_substances.selectors import session_entries

    return [
        {
            "kind": e.get_kind_display(),
            "time": local_text(e.occurred_at, "%H:%M"),
            "vial": e.container.code,
            "lot": e.container.lot.lot_number,
            "product": str(e.container.lot.product),
            "volume_ml": e.quantity_ml,
            "mg": e.quantity_mg,
            "by": _user(e.actor),
            "witness": _user(e.witness),
            "manner": e.manner,
            "reason": e.reason,
            "reversed": e.is_reversed,
        }
        for e in session_entries(session)
    ]


def infusion_record(session) -> dict[str, Any]:
    """The signed (or in-progress) infusion day: pre-checks, dose with every step and its
    verification, the vitals table and chart data, alerts, adverse events, recovery scores,
    discharge, signature and amendments."""
    from django.db.models import Prefetch

    from assessments.selectors import current_responses_for
    from infusions.models import READING_FIELDS, READING_LABELS, DrugGiven
    from infusions.selectors.sessions import current_dose, readings

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
            "recorded_by": _user(check.recorded_by),
        }
    fields = [f for f in READING_FIELDS if any(getattr(r, f, None) is not None for r in rows)]
    return _jsonable(
        {
            "kind": DocumentKind.INFUSION_RECORD,
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
            "ketamine": _ketamine_part(session),
            "vitals_columns": [[f, READING_LABELS.get(f, f)] for f in fields],
            "vitals_table": [
                {
                    "time": local_text(r.taken_at, "%H:%M"),
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
                    "time": local_text(a.raised_at, "%H:%M"),
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
                    "onset": local_text(e.onset_at, "%H:%M"),
                    "action": e.action_taken,
                    "outcome": e.get_outcome_display()
                    + (f": {e.handover_note}" if e.handover_note else "")
                    + (f" ({_user(e.outcome_by)}, {local_text(e.outcome_at, '%H:%M')})" if e.outcome_at else ""),
                    "drugs": [_drug_text(d) for d in e.drugs.all()],
                }
                for e in session.adverse_events.select_related("outcome_by")
                .prefetch_related(Prefetch("drugs", queryset=DrugGiven.objects.select_related("given_by")))
                .order_by("onset_at", "id")
            ],
            "scores": [_response_row(r) for r in current_responses_for(subject=session)],
            "discharge": {
                "at": local_text(session.discharged_at),
                "escort_present": yes_no(session.escort_present_at_discharge),
                "escort": f"{session.escort_name} {session.escort_phone}".strip(),
                "instructions_given": local_text(session.instructions_given_at),
                "instructions_given_by": _user(session.instructions_given_by),
                "readiness": session.readiness or {},
            },
            "signature": {
                "signed_by": _user(session.signed_by),
                "signed_at": local_text(session.signed_at),
                "content_sha256": session.content_sha256,
            },
            "amendments": [
                {
                    "kind": a.get_kind_display(),
                    "reason": a.reason,
                    "text": a.text,
                    "author": _user(a.author),
                    "at": local_text(a.at),
                }
                for a in session.amendments.select_related("author").order_by("at", "id")
            ],
        }
    )
