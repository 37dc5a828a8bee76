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
from interop import rules
from patients.models import Patient
from scheduling.models import Appointment, Location
from scheduling.rules import AppointmentStatus

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
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


def _phone(p: Patient, field: str) -> str:
    """The number as the database holds it (E.164, what the API sends). The API's patient querysets
    (``interop.selectors.api_patients``) read it as text; any other Patient prints its PhoneNumber,
    which gives the same text."""
    if (stored := p.__dict__.get(f"{field}_stored", _UNREAD)) is not _UNREAD:
        return stored or ""
    value = getattr(p, field)
    return str(value) if value else ""


_UNREAD = object()


def patient(p: Patient) -> Resource:
    names = [{"use": "official", "family": p.legal_last_name, "given": [p.legal_first_name]}]
    if p.preferred_name:
        names.append({"use": "usual", "family": p.legal_last_name, "given": [p.preferred_name]})
    telecom = []
    if phone := _phone(p, "phone"):
        telecom.append({"system": "phone", "value": phone, "use": "mobile"})
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
    emergency_phone = _phone(p, "emergency_contact_phone")
    if p.emergency_contact_name:
        contact.append(
            _drop_empty(
                {
                    "relationship": [{"text": p.emergency_contact_relationship or "Emergency contact"}],
                    "name": {"text": p.emergency_contact_name},
                    "telecom": [{"system": "phone", "value": emergency_phone}] if emergency_phone else [],
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
        "id": CLINIC,
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
    superseded = getattr(r, "superseded_by_pk", None) is not None  # annotated by the selector
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


# Encounter: consultations, infusion sessions, follow-up visits ----------------------------------

# Encounter.class is required; "AMB" (ambulatory) is the value FHIR's own v3 ActCode binding gives
# for a visit to a clinic, a structural code rather than a clinical one.
ENCOUNTER_CLASS = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "AMB",
    "display": "ambulatory",
}
CLINIC = "clinic"


def clinic_reference() -> Resource:
    return reference("Organization", CLINIC, settings.CLINIC_NAME)


def encounter(
    *,
    kind: str,
    pk: int,
    label: str,
    status: str,
    patient_id: int,
    start: datetime | None,
    end: datetime | None,
    participant_id: int | None,
    appointment_id: int | None,
) -> Resource:
    return _drop_empty(
        {
            "resourceType": "Encounter",
            "id": f"{kind}-{pk}",
            "meta": {"profile": [f"{US_CORE}/us-core-encounter"]},
            "status": status,
            "class": ENCOUNTER_CLASS,
            # The kind of visit has no code in the clinical reference: named, not coded.
            "type": [{"text": label}],
            "subject": reference("Patient", patient_id),
            "participant": [{"individual": reference("Practitioner", participant_id)}] if participant_id else [],
            "appointment": [reference("Appointment", appointment_id)] if appointment_id else [],
            "period": _drop_empty({"start": instant(start), "end": instant(end)}),
            "serviceProvider": clinic_reference(),
        }
    )


# Condition: the ICD-10 codes of a signed consultation --------------------------------------------

ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def icd10_codes(text: str) -> list[str]:
    """The consultation's billed codes as written (comma- or space-separated), upper-cased."""
    return [code.strip().upper() for code in text.replace(";", ",").replace(" ", ",").split(",") if code.strip()]


def conditions(c: Any) -> list[Resource]:
    """One encounter diagnosis per ICD-10 code the signing clinician recorded."""
    return [
        _drop_empty(
            {
                "resourceType": "Condition",
                "id": f"{c.pk}-{index}",
                "meta": {"profile": [f"{US_CORE}/us-core-condition-encounter-diagnosis"]},
                "verificationStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                            "code": "confirmed",
                        }
                    ]
                },
                "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "encounter-diagnosis"}]}],
                "code": {"coding": [{"system": ICD10_CM, "code": code}], "text": code},
                "subject": reference("Patient", c.patient_id),
                "encounter": reference("Encounter", f"consultation-{c.pk}"),
                "recordedDate": instant(c.signed_at),
                "recorder": reference("Practitioner", c.signed_by_id) if c.signed_by_id else None,
            }
        )
        for index, code in enumerate(icd10_codes(c.icd10_codes), start=1)
    ]


# AllergyIntolerance and MedicationStatement: from a signed consultation ---------------------------


def allergy_intolerance(c: Any) -> Resource:
    """The allergies the signed consultation records, as the clinician wrote them (free text: no code
    is known, so none is sent), asserted by the patient at intake and not otherwise confirmed. An
    entry that only denies allergies ("NKDA", "none known") is sent as that denial, coded."""
    written = c.allergies.strip()
    denial = rules.denied_allergy(written)
    code: Resource = {"text": written}
    if denial is not None:
        code["coding"] = [{"system": SNOMED, "code": denial[0], "display": denial[1]}]
    return _drop_empty(
        {
            "resourceType": "AllergyIntolerance",
            "id": str(c.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-allergyintolerance"]},
            "clinicalStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}
                ]
            },
            "verificationStatus": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                        "code": "unconfirmed",
                    }
                ]
            },
            "code": code,
            "patient": reference("Patient", c.patient_id),
            "encounter": reference("Encounter", f"consultation-{c.pk}"),
            "recordedDate": instant(c.signed_at),
            "recorder": reference("Practitioner", c.signed_by_id) if c.signed_by_id else None,
        }
    )


def medication_statement(m: Any) -> Resource:
    """A medicine on the signed consultation's medication list, as listed (named, not coded)."""
    c = m.consultation
    return _drop_empty(
        {
            "resourceType": "MedicationStatement",
            "id": str(m.pk),
            "status": "active",
            "medicationCodeableConcept": {"text": m.name},
            "subject": reference("Patient", c.patient_id),
            "context": reference("Encounter", f"consultation-{c.pk}"),
            "dateAsserted": instant(c.signed_at),
            "informationSource": reference("Practitioner", c.signed_by_id) if c.signed_by_id else None,
            "dosage": [{"text": m.dose}] if m.dose else [],
            "note": [{"text": f"Interaction class: {m.get_interaction_class_display()}"}],
        }
    )


# QuestionnaireResponse: an instrument's item answers ---------------------------------------------


def _answer(value: object) -> Resource | None:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    if isinstance(value, str) and value:
        return {"valueString": value}
    return None


def questionnaire_response(r: InstrumentResponse) -> Resource:
    """The answers item by item, grouped under the instrument (its LOINC panel where the clinical
    reference gives one); each item's link id is its LOINC item code where there is one."""
    instrument = INSTRUMENTS.get(r.instrument)
    name = instrument.name if instrument else r.get_instrument_display()
    items: list[Resource] = []
    if isinstance(r.answers, dict):
        pairs = [(str(key), str(key).replace("_", " "), value) for key, value in r.answers.items()]
    else:
        pairs = []
        for index, value in enumerate(r.answers if isinstance(r.answers, list) else []):
            loinc = instrument.loinc_items[index] if instrument and index < len(instrument.loinc_items) else ""
            text = instrument.items[index] if instrument and index < len(instrument.items) else ""
            pairs.append((loinc or f"item-{index + 1}", text, value))
    for link_id, text, value in pairs:
        answer = _answer(value)
        items.append(_drop_empty({"linkId": link_id, "text": text, "answer": [answer] if answer else []}))
    superseded = getattr(r, "superseded_by_pk", None) is not None  # annotated by the selector
    panel = instrument.loinc_panel if instrument else ""
    return _drop_empty(
        {
            "resourceType": "QuestionnaireResponse",
            "id": str(r.pk),
            "status": "entered-in-error" if superseded else ("amended" if r.supersedes_id else "completed"),
            "subject": reference("Patient", r.patient_id),
            "authored": instant(r.administered_at),
            "author": reference("Practitioner", r.entered_by_id) if r.entered_by_id else None,
            "source": reference("Patient", r.patient_id) if r.source == "patient" else None,
            "item": [
                _drop_empty(
                    {
                        "linkId": panel or r.instrument,
                        "text": f"{name} (version {r.instrument_version})",
                        "item": items,
                    }
                )
            ],
        }
    )


# AdverseEvent: an infusion's adverse events ------------------------------------------------------

_AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
_AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
_OUTCOMES = {"resolved": "resolved", "resolving": "recovering", "ongoing": "ongoing"}


def adverse_event(e: Any) -> Resource:
    outcome = (
        {"coding": [{"system": _AE_OUTCOME, "code": _OUTCOMES[e.outcome]}], "text": e.get_outcome_display()}
        if e.outcome in _OUTCOMES
        else {"text": e.get_outcome_display()}
    )
    session = e.session
    return _drop_empty(
        {
            "resourceType": "AdverseEvent",
            "id": str(e.pk),
            "actuality": "actual",
            "event": {"text": str(e)},
            "subject": reference("Patient", session.patient_id),
            "encounter": reference("Encounter", f"infusion-{session.pk}"),
            "date": instant(e.onset_at),
            "recordedDate": instant(e.recorded_at),
            "recorder": reference("Practitioner", e.recorded_by_id),
            "severity": {"coding": [{"system": _AE_SEVERITY, "code": e.severity}], "text": e.get_severity_display()},
            "outcome": outcome,
            "suspectEntity": [{"instance": reference("MedicationAdministration", session.pk)}],
        }
    )


# DocumentReference: the issued PDFs --------------------------------------------------------------


def document_reference(d: Any, *, base: str) -> Resource:
    """An issued PDF; its content is the Binary at ``base``/Binary/<id>, read with the same token
    (authorised and accounted as a disclosure like a download from the chart)."""
    superseded = getattr(d, "superseded_by_pk", None)  # annotated by the selector
    return _drop_empty(
        {
            "resourceType": "DocumentReference",
            "id": str(d.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-documentreference"]},
            "status": "superseded" if superseded else "current",
            "type": {"text": d.get_kind_display()},
            "category": [{"text": d.get_kind_display()}],
            "subject": reference("Patient", d.patient_id),
            "date": instant(d.issued_at),
            "author": [reference("Practitioner", d.issued_by_id)],
            "custodian": clinic_reference(),
            "description": d.title,
            "content": [
                {
                    "attachment": _drop_empty(
                        {
                            "contentType": "application/pdf",
                            "url": f"{base}/Binary/{d.pk}",
                            "size": d.size_bytes,
                            "title": d.title,
                            "creation": instant(d.rendered_at),
                        }
                    )
                }
            ],
        }
    )


# Provenance: who signed and who amended ----------------------------------------------------------


def provenance(*, pid: str, target: Resource, at: datetime, who: int, activity: str, reason: str = "") -> Resource:
    return _drop_empty(
        {
            "resourceType": "Provenance",
            "id": pid,
            "target": [target],
            "recorded": instant(at),
            "activity": {"text": activity},
            "reason": [{"text": reason}] if reason else [],
            "agent": [
                {
                    "type": {"text": "Author" if activity == "Signed" else "Amending author"},
                    "who": reference("Practitioner", who),
                    "onBehalfOf": clinic_reference(),
                }
            ],
        }
    )


# PractitionerRole --------------------------------------------------------------------------------


def practitioner_role(user: Any) -> Resource:
    return _drop_empty(
        {
            "resourceType": "PractitionerRole",
            "id": str(user.pk),
            "meta": {"profile": [f"{US_CORE}/us-core-practitionerrole"]},
            "active": user.is_active,
            "practitioner": reference("Practitioner", user.pk),
            "organization": clinic_reference(),
            # The clinic's roles are its own (Nurse, Prescriber…): named, not coded.
            "code": [{"text": group.name} for group in user.groups.all()],
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
