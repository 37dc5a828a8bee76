"""The clinical record over FHIR: encounters, diagnoses, questionnaire answers, allergies, the
medication list, adverse events, the issued PDFs and who signed what, each valid FHIR, searchable by
patient, read for a role that may read it, never for the front desk, and every read audited."""

from __future__ import annotations

import json
import re

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from consultations import services as consultation_services
from consultations.models import Medication
from consultations.tests.factories import ConsultationFactory, fill_clean_intake
from documents import services as document_services
from documents.models import Disclosure, DocumentKind
from followups.tests.factories import visit_for
from infusions.services import adverse_event_record
from interop import selectors
from interop.tests import test_fhir_api
from interop.tests.test_fhir_api import bearer, fhir_get, validate
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

treated = test_fhir_api.treated  # a patient whose infusion ran

RECORD_TYPES = (
    "Encounter",
    "Condition",
    "QuestionnaireResponse",
    "AllergyIntolerance",
    "MedicationStatement",
    "AdverseEvent",
    "DocumentReference",
    "Provenance",
)


def sign_intake(patient, *, icd10_codes="F33.2, F41.1", allergies="Penicillin (rash)"):
    """A signed intake with two diagnoses, an allergy and one medicine on the list, then amended."""
    consultation = ConsultationFactory(patient=patient)
    Medication.objects.create(
        consultation=consultation, name="Sertraline", dose="100 mg daily", interaction_class="none"
    )
    fill_clean_intake(consultation, icd10_codes=icd10_codes, allergies=allergies)
    consultation = consultation_services.consultation_sign(
        consultation=consultation, by=consultation.clinician, decision="eligible", justifications={}, decision_note=""
    )
    consultation_services.amendment_add(
        consultation=consultation,
        by=consultation.clinician,
        kind="appends",
        section="medications",
        reason="Patient remembered a supplement",
        text="Also takes vitamin D.",
    )
    return consultation


@pytest.fixture
def record(treated, nurse):
    """``treated``'s patient with a signed, amended intake, an adverse event in the infusion, an
    issued consultation summary and a follow-up visit under way."""
    consultation = sign_intake(treated.patient)
    adverse_event_record(
        session=treated,
        by=nurse,
        kind="nausea_vomiting",
        severity="mild",
        onset_at=timezone.now(),
        action_taken="Ondansetron given",
        outcome="resolved",
    )
    document = document_services.issue(
        kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by
    )
    document_services.document_render(document_id=document.pk)
    visit_for(patient=treated.patient, clinician=consultation.clinician)
    return consultation


def entries(response) -> list[dict]:
    assert response.status_code == 200, response.content[:400]
    body = response.json()
    validate(body)
    return [entry["resource"] for entry in body.get("entry", [])]


def test_every_clinical_resource_type_is_valid_fhir_searched_and_read_back(client, clinician, record):
    headers = bearer(clinician)
    patient_id = record.patient_id
    for resource_type in RECORD_TYPES:
        found = entries(fhir_get(client, resource_type, headers, patient=patient_id, _count=100))
        assert found, resource_type
        for resource in found:
            validate(resource)
            again = fhir_get(client, f"{resource_type}/{resource['id']}", headers)
            assert again.status_code == 200, (resource_type, resource["id"])
            assert again.json() == resource
    for path in ("Organization/clinic", "Organization", "PractitionerRole", f"PractitionerRole/{clinician.pk}"):
        response = fhir_get(client, path, headers)
        assert response.status_code == 200, path
        validate(response.json())


def test_every_practitioner_the_record_names_can_be_read(client, clinician, record):
    headers = bearer(clinician)
    named = set()
    for resource_type in RECORD_TYPES:
        for resource in entries(fhir_get(client, resource_type, headers, patient=record.patient_id, _count=100)):
            named |= set(re.findall(r"Practitioner/(\d+)", json.dumps(resource)))
    assert len(named) >= 2  # the prescriber who signed, the nurse who recorded the adverse event
    for pk in named:
        assert fhir_get(client, f"Practitioner/{pk}", headers).status_code == 200, pk
        role = fhir_get(client, f"PractitionerRole/{pk}", headers).json()
        assert role["code"][0]["text"] in ("Nurse", "Prescriber")


def test_the_capability_statement_lists_every_resource_type(client):
    body = client.get("/fhir/r4/metadata").json()
    validate(body)
    served = {r["type"]: r for r in body["rest"][0]["resource"]}
    assert set(served) == set(selectors.RESOURCE_TYPES)
    assert set(RECORD_TYPES) | {"Organization", "PractitionerRole", "Binary"} <= set(served)
    assert served["Binary"]["interaction"] == [{"code": "read"}]


def test_encounters_are_the_intake_the_infusion_and_the_follow_up(client, clinician, record, treated):
    found = entries(fhir_get(client, "Encounter", bearer(clinician), patient=record.patient_id))
    by_kind = {resource["id"].rsplit("-", 1)[0]: resource for resource in found}
    assert set(by_kind) == {"consultation", "infusion", "followup"}
    assert by_kind["followup"]["status"] == "in-progress"
    assert by_kind["infusion"]["appointment"] == [{"reference": f"Appointment/{treated.appointment_id}"}]
    finished = entries(fhir_get(client, "Encounter", bearer(clinician), patient=record.patient_id, status="finished"))
    signed = record.patient.consultations.filter(signed_at__isnull=False)  # the plan's intake and this one
    assert {r["id"] for r in finished} == {f"consultation-{c.pk}" for c in signed}


def test_conditions_are_the_icd10_codes_the_signed_intake_recorded(client, clinician, record):
    headers = bearer(clinician)
    found = entries(fhir_get(client, "Condition", headers, patient=record.patient_id))
    assert [r["code"]["coding"][0] for r in found] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.2"},
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F41.1"},
    ]
    assert found[0]["recorder"] == {"reference": f"Practitioner/{record.signed_by_id}"}
    coded = entries(fhir_get(client, "Condition", headers, patient=record.patient_id, code="F41.1"))
    assert [r["code"]["text"] for r in coded] == ["F41.1"]


def test_a_draft_intake_gives_no_diagnosis_allergy_or_medication(client, clinician, patient):
    consultation = ConsultationFactory(patient=patient)
    fill_clean_intake(consultation, icd10_codes="F32.2", allergies="Latex")
    headers = bearer(clinician)
    for resource_type in ("Condition", "AllergyIntolerance", "MedicationStatement", "Provenance"):
        assert entries(fhir_get(client, resource_type, headers, patient=patient.pk)) == [], resource_type


def test_allergies_and_the_medication_list_come_as_written(client, clinician, record):
    headers = bearer(clinician)
    [allergy] = entries(fhir_get(client, "AllergyIntolerance", headers, patient=record.patient_id))
    assert allergy["code"] == {"text": "Penicillin (rash)"}
    [medicine] = entries(fhir_get(client, "MedicationStatement", headers, patient=record.patient_id))
    assert medicine["medicationCodeableConcept"] == {"text": "Sertraline"}
    assert medicine["dosage"] == [{"text": "100 mg daily"}]


def test_questionnaire_responses_carry_each_item_answer_with_its_loinc_item_code(client, clinician, record):
    found = entries(fhir_get(client, "QuestionnaireResponse", bearer(clinician), patient=record.patient_id, _count=50))
    gad7 = record.patient.instrument_responses.filter(instrument="gad7").order_by("-id").first()
    [resource] = [r for r in found if r["id"] == str(gad7.pk)]
    [group] = resource["item"]
    assert [item["answer"][0]["valueInteger"] for item in group["item"]] == list(gad7.answers)
    assert group["item"][0]["linkId"] == "69725-0"  # GAD-7 item 1 [S86]


def test_the_adverse_event_names_the_infusion_and_its_severity(client, clinician, record, treated):
    [event] = entries(fhir_get(client, "AdverseEvent", bearer(clinician), patient=record.patient_id))
    assert event["event"] == {"text": "Nausea/vomiting"}
    assert event["severity"]["coding"][0]["code"] == "mild"
    assert event["outcome"]["coding"][0]["code"] == "resolved"
    assert event["encounter"] == {"reference": f"Encounter/infusion-{treated.pk}"}


def test_provenance_names_who_signed_and_who_amended(client, clinician, record):
    found = entries(fhir_get(client, "Provenance", bearer(clinician), patient=record.patient_id))
    target = [{"reference": f"Encounter/consultation-{record.pk}"}]
    found = [r for r in found if r["target"] == target]  # not the plan's own intake
    activities = {r["activity"]["text"]: r for r in found}
    assert set(activities) == {"Signed", "Addendum (adds to the original)"}
    for resource in found:
        assert resource["agent"][0]["who"] == {"reference": f"Practitioner/{record.signed_by_id}"}
    assert activities["Addendum (adds to the original)"]["reason"] == [{"text": "Patient remembered a supplement"}]


# The issued PDFs ---------------------------------------------------------------------------------


def test_a_document_reference_links_a_pdf_read_with_the_same_token_as_a_disclosure(client, clinician, record):
    headers = bearer(clinician)
    [reference] = entries(fhir_get(client, "DocumentReference", headers, patient=record.patient_id))
    url = reference["content"][0]["attachment"]["url"]
    assert url.endswith(f"/fhir/r4/Binary/{reference['id']}")
    path = url.split("/fhir/r4/", 1)[1]
    assert fhir_get(client, path, {}).status_code == 401  # the link alone is no credential
    pdf = fhir_get(client, path, headers)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    disclosure = Disclosure.objects.get()
    assert (disclosure.by_id, disclosure.patient_id) == (clinician.pk, record.patient_id)
    assert "Test user client" in disclosure.recipient
    assert AuditEvent.objects.filter(action="fhir.Binary.read", patient_id=record.patient_id, verb="read").exists()
    as_json = client.get(f"/fhir/r4/{path}", HTTP_ACCEPT="application/fhir+json", **headers)
    assert as_json.json()["resourceType"] == "Binary"
    validate(as_json.json())


def test_binary_is_read_by_id_only(client, admin):
    response = fhir_get(client, "Binary", bearer(admin))
    assert response.status_code == 400
    validate(response.json())


# Who sees what -----------------------------------------------------------------------------------

# Every resource type, for every role: the front desk sees no clinical resource.
ROLE_TABLE = [
    ("frontdesk", {"Patient", "Practitioner", "PractitionerRole", "Organization", "Location", "Appointment"}),
    ("nurse", set(selectors.RESOURCE_TYPES) - {"Binary"}),
    ("prescriber", set(selectors.RESOURCE_TYPES) - {"Binary"}),
    ("admin", set(selectors.RESOURCE_TYPES) - {"Binary"}),
    ("outsider", set()),
]


@pytest.mark.parametrize(("who", "allowed"), ROLE_TABLE)
def test_a_role_token_searches_every_type_its_role_may_read_and_no_other(client, persona, record, who, allowed):
    headers = bearer(persona[who])
    for resource_type in sorted(set(selectors.RESOURCE_TYPES) - {"Binary"}):
        params = {"_id": record.patient_id} if resource_type == "Patient" else {"patient": record.patient_id}
        if not selectors.RESOURCE_TYPES[resource_type].needs_patient and resource_type != "Patient":
            params = {}
        response = fhir_get(client, resource_type, headers, **params)
        expected = 200 if resource_type in allowed else 403
        assert response.status_code == expected, (who, resource_type, response.content[:200])


@pytest.mark.parametrize("resource_type", RECORD_TYPES)
def test_a_front_desk_token_cannot_read_a_clinical_resource_by_id(client, frontdesk, clinician, record, resource_type):
    [resource, *_] = entries(fhir_get(client, resource_type, bearer(clinician), patient=record.patient_id))
    response = fhir_get(client, f"{resource_type}/{resource['id']}", bearer(frontdesk))
    assert response.status_code == 403
    validate(response.json())


def test_a_front_desk_token_cannot_fetch_the_pdf(client, frontdesk, clinician, record):
    [reference] = entries(fhir_get(client, "DocumentReference", bearer(clinician), patient=record.patient_id))
    assert fhir_get(client, f"Binary/{reference['id']}", bearer(frontdesk)).status_code == 403
    assert not Disclosure.objects.exists()


@pytest.mark.parametrize("resource_type", RECORD_TYPES)
def test_every_read_of_a_clinical_resource_is_audited_for_its_patient(client, clinician, record, resource_type):
    headers = bearer(clinician)
    [resource, *_] = entries(fhir_get(client, resource_type, headers, patient=record.patient_id))
    before = AuditEvent.objects.count()
    assert fhir_get(client, f"{resource_type}/{resource['id']}", headers).status_code == 200
    [event] = AuditEvent.objects.order_by("id")[before:]
    assert (event.verb, event.action, event.patient_id) == ("read", f"fhir.{resource_type}.read", record.patient_id)
    assert event.data_category == "clinical"


@pytest.mark.parametrize("resource_type", RECORD_TYPES)
def test_a_clinical_search_names_its_patient(client, admin, resource_type):
    response = fhir_get(client, resource_type, bearer(admin))
    assert response.status_code == 400
    validate(response.json())


@pytest.mark.parametrize(
    "path",
    ["Encounter/bogus-1", "Encounter/consultation-x", "Condition/1", "Condition/1-x", "Provenance/x", "Binary/²"],
)
def test_hostile_ids_are_404(client, admin, path):
    response = fhir_get(client, path, bearer(admin))
    assert response.status_code == 404
    validate(response.json())


def test_a_page_of_encounters_costs_a_bounded_number_of_queries(
    client, clinician, record, django_assert_max_num_queries
):
    headers = bearer(clinician)
    fhir_get(client, "Encounter", headers, patient=record.patient_id)
    for _ in range(3):
        sign_intake(record.patient, icd10_codes="F32.1")
    with django_assert_max_num_queries(20):
        assert fhir_get(client, "Encounter", headers, patient=record.patient_id, _count=50).status_code == 200
    with django_assert_max_num_queries(24):
        assert fhir_get(client, "Provenance", headers, patient=record.patient_id, _count=50).status_code == 200


def test_encounters_page_newest_first_across_their_kinds(client, clinician, record):
    headers = bearer(clinician)
    first = fhir_get(client, "Encounter", headers, patient=record.patient_id, _count=2).json()
    assert first["total"] == 4  # two intakes (the plan's and this one), the infusion, the follow-up
    assert len(first["entry"]) == 2
    second = fhir_get(client, "Encounter", headers, patient=record.patient_id, _count=2, _offset=2).json()
    assert not [link for link in second["link"] if link["relation"] == "next"]
    ids = [e["resource"]["id"] for e in first["entry"] + second["entry"]]
    assert len(set(ids)) == 4
    starts = [e["resource"]["period"]["start"] for e in first["entry"] + second["entry"]]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize(
    ("written", "code"),
    [("NKDA", "409137002"), ("No known allergies.", "716186003"), ("none known", "716186003"), ("Nil", "716186003")],
)
def test_an_entry_denying_allergies_is_sent_as_the_coded_denial_not_as_an_allergy(client, clinician, written, code):
    """A receiving system must not list "NKDA" as a substance the patient reacts to."""
    consultation = sign_intake(PatientFactory(), allergies=written)
    [allergy] = entries(fhir_get(client, "AllergyIntolerance", bearer(clinician), patient=consultation.patient_id))
    validate(allergy)
    assert allergy["code"]["text"] == written
    assert allergy["code"]["coding"] == [
        {"system": "http://snomed.info/sct", "code": code, "display": allergy["code"]["coding"][0]["display"]}
    ]


def test_an_entry_naming_an_allergy_beside_a_denial_stays_as_written(client, clinician):
    consultation = sign_intake(PatientFactory(), allergies="None to drugs; latex (hives)")
    [allergy] = entries(fhir_get(client, "AllergyIntolerance", bearer(clinician), patient=consultation.patient_id))
    assert allergy["code"] == {"text": "None to drugs; latex (hives)"}
