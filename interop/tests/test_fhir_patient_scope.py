"""SMART ``patient/`` scopes: a member of staff allows an app for one patient they may open, and the
token reads that patient's record only — every search narrowed to them, another patient's resource
not found, and never more than the member of staff's own role reads."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken

from accounts.models import AuditEvent
from interop import selectors
from interop.models import PatientLaunch
from interop.tests import test_fhir_api, test_fhir_record
from interop.tests.test_fhir_api import bearer, fhir_get, register, validate
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

treated = test_fhir_api.treated
record = test_fhir_record.record


def patient_bearer(user, patient, scope="launch/patient patient/*.read"):
    """A live token bound to ``patient``, as the approval page makes it."""
    application, _ = register(user)
    token = AccessToken.objects.create(
        user=user,
        application=application,
        token=secrets.token_urlsafe(30),
        scope=scope,
        expires=timezone.now() + timedelta(minutes=10),
    )
    PatientLaunch.objects.create(
        patient=patient, launched_by=user, application=application, launched_at=timezone.now(), access_token=token
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}


@pytest.fixture
def other(clinician):
    """Another patient with a signed intake (diagnoses, allergy, medication list, amendment)."""
    other = PatientFactory()
    test_fhir_record.sign_intake(other)
    AppointmentFactory(patient=other)
    return other


SEARCHABLE = sorted(name for name, rtype in selectors.RESOURCE_TYPES.items() if rtype.searchable)


@pytest.mark.parametrize("resource_type", SEARCHABLE)
def test_every_search_of_a_patient_bound_token_answers_its_patient_only(
    client, clinician, record, other, resource_type
):
    headers = patient_bearer(clinician, record.patient)
    response = fhir_get(client, resource_type, headers, _count=100)  # no patient named: the token's is used
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    validate(body)
    rtype = selectors.RESOURCE_TYPES[resource_type]
    if rtype.compartment:
        params = {"_id": record.patient_id} if resource_type == "Patient" else {"patient": record.patient_id}
        theirs = fhir_get(client, resource_type, bearer(clinician), _count=100, **params).json()
        expected = {e["resource"]["id"] for e in theirs["entry"]}
        assert expected, resource_type
        assert {e["resource"]["id"] for e in body["entry"]} == expected
        naming_other = {"_id": other.pk} if resource_type == "Patient" else {"patient": other.pk}
        refused = fhir_get(client, resource_type, headers, **naming_other)
        assert refused.status_code == 403
        validate(refused.json())


# The other patient has no infusion (adverse events) nor PDF (tested below).
@pytest.mark.parametrize(
    "resource_type",
    sorted(set(test_fhir_record.RECORD_TYPES) - {"AdverseEvent", "DocumentReference"} | {"Patient", "Appointment"}),
)
def test_a_patient_bound_token_gets_404_for_another_patient_s_resource(
    client, clinician, admin, record, other, resource_type
):
    params = {"_id": other.pk} if resource_type == "Patient" else {"patient": other.pk}
    [theirs, *_] = [e["resource"] for e in fhir_get(client, resource_type, bearer(admin), **params).json()["entry"]]
    headers = patient_bearer(clinician, record.patient)
    response = fhir_get(client, f"{resource_type}/{theirs['id']}", headers)
    assert response.status_code == 404
    validate(response.json())
    mine = fhir_get(client, resource_type, headers).json()["entry"][0]["resource"]
    assert fhir_get(client, f"{resource_type}/{mine['id']}", headers).status_code == 200


def test_a_patient_bound_token_cannot_fetch_another_patient_s_pdf(client, clinician, admin, record, other):
    from documents import services as document_services
    from documents.models import DocumentKind

    consultation = other.consultations.get()
    document = document_services.issue(
        kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by
    )
    document_services.document_render(document_id=document.pk)
    headers = patient_bearer(clinician, record.patient)
    assert fhir_get(client, f"Binary/{document.pk}", headers).status_code == 404
    assert fhir_get(client, f"DocumentReference/{document.pk}", headers).status_code == 404


# The scope table: which patient-bound token sees what ---------------------------------------------

PATIENT_SCOPE_TABLE = [
    # persona who allowed the app, scope, resource type, expected status
    ("frontdesk", "patient/*.read", "Patient", 200),
    ("frontdesk", "patient/*.read", "Appointment", 200),
    *[("frontdesk", "patient/*.read", name, 403) for name in test_fhir_record.RECORD_TYPES],
    ("frontdesk", "patient/*.read", "Observation", 403),
    ("frontdesk", "patient/*.read", "MedicationAdministration", 403),
    *[("nurse", "patient/*.read", name, 200) for name in test_fhir_record.RECORD_TYPES],
    ("prescriber", "patient/*.read", "Observation", 200),
    ("prescriber", "patient/Condition.read", "Condition", 200),
    ("prescriber", "patient/Condition.read", "Observation", 403),  # a narrower scope narrows the token
    ("admin", "patient/*.read", "MedicationAdministration", 200),
    ("outsider", "patient/*.read", "Patient", 403),
]


@pytest.mark.parametrize(("who", "scope", "resource_type", "status"), PATIENT_SCOPE_TABLE)
def test_a_patient_bound_token_reads_what_its_scope_and_its_staff_member_s_role_allow(
    client, persona, record, who, scope, resource_type, status
):
    headers = patient_bearer(persona[who], record.patient, scope=f"launch/patient {scope}")
    response = fhir_get(client, resource_type, headers)
    assert response.status_code == status, response.content[:300]


def test_a_patient_scope_token_with_no_patient_bound_reads_nothing(client, clinician, patient):
    headers = bearer(clinician, "patient/*.read")
    assert fhir_get(client, f"Patient/{patient.pk}", headers).status_code == 401


def test_every_read_of_a_patient_bound_token_is_audited_for_its_patient(client, clinician, record):
    headers = patient_bearer(clinician, record.patient)
    before = AuditEvent.objects.count()
    assert fhir_get(client, "Condition", headers).status_code == 200
    [event] = AuditEvent.objects.order_by("id")[before:]
    assert (event.verb, event.patient_id, event.actor_id) == ("read", record.patient_id, clinician.pk)


# The approval page and the token exchange -----------------------------------------------------------


def _authorize(client, application, scope="launch/patient patient/*.read"):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": "https://app.example/callback",
        "scope": scope,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
    }
    return query, verifier


def test_staff_name_the_patient_when_allowing_an_app_and_the_token_reads_that_patient_only(
    client, clinician, admin, record, other
):
    application, secret = register(admin)
    query, verifier = _authorize(client, application)
    client.force_login(clinician)
    page = client.get("/o/authorize/", query)
    assert page.status_code == 200
    assert b"Patient&#x27;s MRN" in page.content or b"Patient's MRN" in page.content
    # A missing or unknown MRN is said at the field, what was typed kept, no code issued.
    refused = client.post("/o/authorize/", {**query, "allow": "Authorize", "patient_mrn": "NOPE-1"})
    assert refused.status_code == 200
    assert refused.context["form"].errors["patient_mrn"]
    assert b'value="NOPE-1"' in refused.content
    assert b"Allow Test user client" in refused.content
    assert not PatientLaunch.objects.exists()
    approved = client.post("/o/authorize/", {**query, "allow": "Authorize", "patient_mrn": record.patient.mrn})
    assert approved.status_code == 302, approved.content[:300]
    code = parse_qs(urlparse(approved["Location"]).query)["code"][0]
    client.logout()
    response = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://app.example/callback",
            "client_id": application.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    )
    assert response.status_code == 200, response.content
    token = response.json()
    assert token["patient"] == str(record.patient_id)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token['access_token']}"}
    assert fhir_get(client, f"Patient/{record.patient_id}", headers).status_code == 200
    assert fhir_get(client, f"Patient/{other.pk}", headers).status_code == 404
    assert AuditEvent.objects.filter(action="fhir.patient_launch", patient_id=record.patient_id).count() == 1
    # The refresh token does not carry the patient on: the app launches again.
    refreshed = client.post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": application.client_id,
            "client_secret": secret,
        },
    )
    assert refreshed.status_code == 400


def test_staff_cannot_launch_an_app_for_a_patient_whose_chart_they_may_not_open(client, outsider, admin, patient):
    application, _ = register(admin)
    query, _ = _authorize(client, application)
    client.force_login(outsider)
    response = client.post("/o/authorize/", {**query, "allow": "Authorize", "patient_mrn": patient.mrn})
    assert response.status_code in (200, 403)
    assert not PatientLaunch.objects.exists()


def test_a_patient_bound_token_cannot_start_a_bulk_export(client, admin, record):
    headers = patient_bearer(admin, record.patient)
    for path in ("$export", "Patient/$export"):
        response = client.get(
            f"/fhir/r4/{path}", HTTP_ACCEPT="application/fhir+json", HTTP_PREFER="respond-async", **headers
        )
        assert response.status_code == 403, (path, response.content[:200])
