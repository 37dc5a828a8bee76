"""Consultations' documents: the consultation summary (registered with documents)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from assessments.documents import response_row
from consents.models import ConsentKind
from consents.selectors import consent_status
from consultations import selectors as consultation_selectors
from consultations.choices import AmendmentSection, Decision
from consultations.models import Consultation
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import date_text, letterhead, local_text, patient_part, user_text, yes_no


def _consent_part(consultation) -> dict[str, str]:
    """An intake that recorded consent in its own form keeps what it recorded; a later one shows
    the treatment consent as the consents app held it when the intake was signed."""
    if consultation.consent_given is not None:
        return {
            "given": yes_no(consultation.consent_given),
            "document_version": consultation.consent_document_version,
            "signed_on": date_text(consultation.consent_signed_on),
        }
    status = consent_status(consultation.patient, kinds=[ConsentKind.TREATMENT], at=consultation.signed_at)[
        ConsentKind.TREATMENT
    ]
    return {
        "given": "Yes" if status.is_current else status.state_label,
        "document_version": status.signed_version_label,
        "signed_on": date_text(timezone.localtime(status.signed_at).date()) if status.signed_at else "",
    }


def consultation_summary(consultation) -> dict[str, Any]:
    patient = consultation.patient
    responses = consultation_selectors.baseline_responses(consultation)
    screening = consultation.screening or {}
    location = consultation.appointment.location if consultation.appointment_id else None
    plans = list(consultation.plans.select_related("protocol").order_by("created_at"))
    amendments = list(consultation.amendments.select_related("author").order_by("at", "id"))
    return {
        "letterhead": letterhead(location),
        "patient": patient_part(patient),
        "consultation": {
            "id": consultation.pk,
            "date": local_text(
                consultation.appointment.start if consultation.appointment_id else consultation.created_at,
                "%m/%d/%Y",
            ),
            "clinician": user_text(consultation.clinician),
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
        "baseline": [response_row(r) for r in sorted(responses.values(), key=lambda r: r.instrument)],
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
        "consent": _consent_part(consultation),
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
            "signed_by": user_text(consultation.signed_by),
            "signed_at": local_text(consultation.signed_at),
            "content_sha256": consultation.content_sha256,
        },
        "amendments": [
            {
                "kind": a.get_kind_display(),
                "section": AmendmentSection(a.section).label if a.section in AmendmentSection.values else a.section,
                "reason": a.reason,
                "text": a.text,
                "author": user_text(a.author),
                "at": local_text(a.at),
            }
            for a in amendments
        ],
    }


def find_consultation(patient, subject_id: int | None) -> Consultation | None:
    if subject_id is None:
        return None
    return (
        Consultation.objects.select_related("patient", "appointment__location", "clinician", "signed_by")
        .filter(pk=subject_id, patient=patient)
        .first()
    )


def signed_consultations(patient) -> list[Consultation]:
    return list(
        Consultation.objects.filter(patient=patient, signed_at__isnull=False)
        .only("id", "signed_at")
        .order_by("-signed_at")[:10]
    )


def unsigned(consultation: Consultation) -> str:
    if not consultation.is_signed:
        return "A consultation summary is issued from a signed consultation only."
    return ""


registry.register(
    DocumentKind.CONSULTATION_SUMMARY,
    template="documents/consultation_summary.html",
    build=consultation_summary,
    patient_of=lambda consultation: consultation.patient,
    find=find_consultation,
    choices=signed_consultations,
    refuse=unsigned,
    not_found="No such consultation for this patient.",
)
