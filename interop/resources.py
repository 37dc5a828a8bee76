"""Our records as FHIR R4 resources (plain dicts, serialised as JSON by the views).

US Core-aligned where US Core defines the resource. Codes come only from the clinical reference:
LOINC for the instrument totals (assessments.instruments) and the vital signs (clinical-reference
section 3, [S107]), UCUM units for the vitals. Where the reference gives no code (the drug, the
route) the concept is sent as text rather than with a code we would have to invent.
The tests validate every resource with ``fhir.resources`` (R4B).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from assessments.instruments import CSSRS_RISK_LOINC, CSSRS_RISK_LOINC_ANSWERS, INSTRUMENTS
from assessments.models import InstrumentResponse
from infusions.models import FlowsheetReading, InfusionSession
from patients.models import Patient
from scheduling.models import Appointment, Location
from scheduling.rules import AppointmentStatus

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"

Resource = dict[str, Any]


def mrn_system() -> str:
    return settings.FHIR_MRN_SYSTEM


def instant(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def reference(resource_type: str, pk: object, display: str = "") -> Resource:
    ref: Resource = {"reference": f"{resource_type}/{pk}"}
    if display:
        ref["display"] = display
    return ref


def _drop_empty(resource: Resource) -> Resource:
    """FHIR forbids empty strings, lists and objects: leave the element out instead."""
    return {key: value for key, value in resource.items() if value not in ("", None, [], {})}


# Patient -----------------------------------------------------------------------------------------

_GENDER = {"female": "female", "male": "male", "intersex": "other", "unknown": "unknown"}
_BIRTH_SEX = {"female": "F", "male": "M"}


def patient(p: Patient) -> Resource:
    names = [{"use": "official", "family": p.legal_last_name, "given": [p.legal_first_name]}]
    if p.preferred_name:
        names.append({"use": "usual", "family": p.legal_last_name, "given": [p.preferred_name]})
    telecom = []
    if p.phone:
        telecom.append({"system": "phone", "value": str(p.phone), "use": "mobile"})
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    address = _drop_empty(
        {
            "line": [line for line in (p.address_line1, p.address_line2) if line],
            "city": p.city,
            "state": p.state,
            "postalCode": p.postal_code,
        }
    )
    contact = []
    if p.emergency_contact_name:
        contact.append(
            _drop_empty(
                {
                    "relationship": [{"text": p.emergency_contact_relationship or "Emergency contact"}],
                    "name": {"text": p.emergency_contact_name},
                    "telecom": [{"system": "phone", "value": str(p.emergency_contact_phone)}]
                    if p.emergency_contact_phone
                    else [],
                }
            )
        )
    extensions = []
    if p.sex_at_birth in _BIRTH_SEX:
        extensions.append({"url": f"{US_CORE}/us-core-birthsex", "valueCode": _BIRTH_SEX[p.sex_at_birth]})
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": str(p.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-patient"], "lastUpdated": instant(p.updated_at)},
            "extension": extensions,
            "identifier": [
                {
                    "use": "usual",
                    "type": {"text": "Medical record number"},
                    "system": mrn_system(),
                    "value": p.mrn,
                }
            ],
            "active": p.status == Patient.Status.ACTIVE,
            "name": names,
            "telecom": telecom,
            "gender": _GENDER.get(p.sex_at_birth, "unknown"),
            "birthDate": p.date_of_birth.isoformat(),
            "deceasedBoolean": True if p.status == Patient.Status.DECEASED else None,
            "address": [address] if address else [],
            "contact": contact,
            "communication": [{"language": {"text": p.preferred_language}}] if p.preferred_language else [],
        }
    )


# Practitioner, Location, Organization ------------------------------------------------------------


def practitioner(user: Any) -> Resource:
    profile = getattr(user, "prescriber_profile", None)
    identifier = []
    qualification = []
    if profile is not None:
        identifier.append({"system": "http://hl7.org/fhir/sid/us-npi", "value": profile.npi})
        qualification.append({"code": {"text": profile.get_credential_display()}})
    return _drop_empty(
        {
            "resourceType": "Practitioner",
            "id": str(user.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-practitioner"]},
            "identifier": identifier,
            "active": user.is_active,
            "name": [
                _drop_empty(
                    {"family": user.last_name or user.username, "given": [user.first_name] if user.first_name else []}
                )
            ],
            "qualification": qualification,
        }
    )


def organization() -> Resource:
    return {
        "resourceType": "Organization",
        "id": "clinic",
        "meta": {"profile": [f"{US_CORE}/us-core-organization"]},
        "active": True,
        "name": settings.CLINIC_NAME,
    }


def location(loc: Location) -> Resource:
    return _drop_empty(
        {
            "resourceType": "Location",
            "id": str(loc.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-location"]},
            "status": "active" if getattr(loc, "is_active", True) else "inactive",
            "name": loc.name,
            "address": {"text": loc.address} if loc.address else None,
            "managingOrganization": reference("Organization", "clinic", settings.CLINIC_NAME),
        }
    )


# Appointment -------------------------------------------------------------------------------------

APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED: "booked",
    AppointmentStatus.CONFIRMED: "booked",
    AppointmentStatus.CHECKED_IN: "checked-in",
    AppointmentStatus.IN_PROGRESS: "arrived",
    AppointmentStatus.COMPLETED: "fulfilled",
    AppointmentStatus.CANCELLED: "cancelled",
    AppointmentStatus.NO_SHOW: "noshow",
    AppointmentStatus.ENTERED_IN_ERROR: "entered-in-error",
}


def appointment(a: Appointment) -> Resource:
    participants: list[Resource] = [
        {"actor": reference("Patient", a.patient_id), "status": "accepted"},
        {"actor": reference("Location", a.location_id, a.location.name), "status": "accepted"},
    ]
    if a.clinician_id is not None:
        participants.append({"actor": reference("Practitioner", a.clinician_id), "status": "accepted"})
    return _drop_empty(
        {
            "resourceType": "Appointment",
            "id": str(a.pk),
            "status": APPOINTMENT_STATUS.get(AppointmentStatus(a.status), "booked"),
            "cancelationReason": {"text": a.cancel_reason} if a.cancel_reason else None,
            "serviceType": [{"text": a.appointment_type.name}],
            "start": instant(a.start),
            "end": instant(a.end),
            "created": a.created_at.date().isoformat() if a.created_at else None,
            "participant": participants,
        }
    )


# Observation: instrument scores ------------------------------------------------------------------


def score_observation(r: InstrumentResponse) -> Resource:
    instrument = INSTRUMENTS.get(r.instrument)
    name = instrument.name if instrument else r.get_instrument_display()
    coding = (
        [{"system": LOINC, "code": instrument.loinc_total, "display": f"{name} total"}]
        if (instrument and instrument.loinc_total)
        else []
    )
    value: Resource
    if instrument is not None and instrument.loinc_total == CSSRS_RISK_LOINC and r.band in CSSRS_RISK_LOINC_ANSWERS:
        value = {
            "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": CSSRS_RISK_LOINC_ANSWERS[r.band], "display": r.band.title()}],
                "text": r.band.title(),
            }
        }
    else:
        value = {"valueInteger": r.total}
    superseded = hasattr(r, "superseded_by_id") and getattr(r, "superseded_by_id", None) is not None
    return _drop_empty(
        {
            "resourceType": "Observation",
            "id": f"score-{r.pk}",
            "status": "entered-in-error" if superseded else ("corrected" if r.supersedes_id else "final"),
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}],
            "code": {"coding": coding, "text": name},
            "subject": reference("Patient", r.patient_id),
            "effectiveDateTime": instant(r.administered_at),
            "issued": instant(r.recorded_at),
            **value,
            "interpretation": [{"text": r.band}] if r.band and "valueInteger" in value else [],
            "note": [{"text": f"Correction: {r.correction_reason}"}] if r.correction_reason else [],
        }
    )


# Observation: vital signs ------------------------------------------------------------------------

# field → (id suffix, LOINC, display, UCUM code, unit shown) [S107]
VITALS: dict[str, tuple[str, str, str, str, str]] = {
    "hr_bpm": ("hr", "8867-4", "Heart rate", "/min", "beats/minute"),
    "rr_per_min": ("rr", "9279-1", "Respiratory rate", "/min", "breaths/minute"),
    "spo2_pct": ("spo2", "59408-5", "Oxygen saturation by pulse oximetry", "%", "%"),
    "temp_c": ("temp", "8310-5", "Body temperature", "Cel", "C"),
}
BP = ("bp", "85354-9", "Blood pressure panel")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
VITAL_SUFFIXES = {suffix for suffix, *_ in VITALS.values()} | {BP[0]}


def _quantity(value: Decimal | int, ucum: str, unit: str) -> Resource:
    return {"value": value if isinstance(value, int) else float(value), "unit": unit, "system": UCUM, "code": ucum}


def _vital_base(reading: FlowsheetReading, suffix: str, patient_id: int, code: str, display: str) -> Resource:
    return {
        "resourceType": "Observation",
        "id": f"vs-{reading.pk}-{suffix}",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": reference("Patient", patient_id),
        "effectiveDateTime": instant(reading.taken_at),
    }


def vital_observations(reading: FlowsheetReading, patient_id: int) -> list[Resource]:
    """The vital signs of one flowsheet row, one Observation each (blood pressure as one panel)."""
    out = []
    if reading.sbp_mmhg is not None or reading.dbp_mmhg is not None:
        resource = _vital_base(reading, BP[0], patient_id, BP[1], BP[2])
        resource["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                "valueQuantity": _quantity(value, "mm[Hg]", "mmHg"),
            }
            for (code, display), value in ((SYSTOLIC, reading.sbp_mmhg), (DIASTOLIC, reading.dbp_mmhg))
            if value is not None
        ]
        out.append(resource)
    for field, (suffix, code, display, ucum, unit) in VITALS.items():
        value = getattr(reading, field)
        if value is None:
            continue
        resource = _vital_base(reading, suffix, patient_id, code, display)
        resource["valueQuantity"] = _quantity(value, ucum, unit)
        out.append(resource)
    return out


# MedicationAdministration: the infusion ----------------------------------------------------------


def medication_administration(s: InfusionSession) -> Resource:
    if s.ended_at is None:
        status = "in-progress"
    elif s.stop_reason_code:
        status = "stopped"
    else:
        status = "completed"
    dosage: Resource = {"route": {"text": "Intravenous"}, "text": "Ketamine intravenous infusion"}
    if s.delivered_mg is not None:
        dosage["dose"] = {"value": float(s.delivered_mg), "unit": "mg", "system": UCUM, "code": "mg"}
    return _drop_empty(
        {
            "resourceType": "MedicationAdministration",
            "id": str(s.pk),
            "status": status,
            "statusReason": [{"text": s.get_stop_reason_code_display()}] if s.stop_reason_code else [],
            # The clinical reference gives no RxNorm code, so the drug is named, not coded.
            "medicationCodeableConcept": {"text": "Ketamine hydrochloride"},
            "subject": reference("Patient", s.patient_id),
            "effectivePeriod": _drop_empty({"start": instant(s.started_at), "end": instant(s.ended_at)}),
            "dosage": dosage,
        }
    )


def bundle(
    entries: list[Resource], *, base: str, self_url: str, total: int | None, next_url: str | None, prev_url: str | None
) -> Resource:
    """A searchset. ``total`` is left out where it is not known without expanding every row."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    if prev_url:
        links.append({"relation": "previous", "url": prev_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        **({"total": total} if total is not None else {}),
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{entry['resourceType']}/{entry['id']}",
                "resource": entry,
                "search": {"mode": entry.pop("_search_mode", "match")},
            }
            for entry in entries
        ],
    }


def operation_outcome(severity: str, code: str, diagnostics: str) -> Resource:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }
