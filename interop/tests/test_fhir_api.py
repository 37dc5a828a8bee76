"""The FHIR R4 API as a client sees it: valid resources, the scopes and roles that decide what a
token reads, paging, bad input answered with an OperationOutcome, and the audit of every read."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from oauth2_provider.models import AccessToken, Application

from accounts.models import AuditEvent
from assessments.instruments import INSTRUMENTS
from assessments.services import response_record
from infusions.models import SessionStatusChoice as S
from infusions.tests.factories import advance, open_session
from interop import services
from interop.models import ClientRegistration
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def register(owner, flow="user"):
    application, secret = services.client_register(
        name=f"Test {flow} client",
        flow=flow,
        redirect_uris="https://app.example/callback" if flow == "user" else "",
        purpose="Tests",
        by=owner,
    )
    return application, secret


def bearer(user, scope="user/*.read", *, owner=None, flow="user", expires_in=600):
    """A live access token for ``user`` (None: a back-end service acting for the client's owner)."""
    application, _ = register(owner or user, flow=flow)
    token = AccessToken.objects.create(
        user=user,
        application=application,
        token=secrets.token_urlsafe(30),
        scope=scope,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {token.token}"}


def fhir_get(client, path, headers, **params):
    return client.get(f"/fhir/r4/{path}", params, **headers)


def validate(resource: dict) -> None:
    """fhir.resources (R4B) parses it, or raises naming the element that is wrong."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


@pytest.fixture
def treated(nurse, clinician):
    """A patient with an infusion that ran (vital signs, a PHQ-9 at the chair, the drug delivered)
    and an appointment."""
    session = advance(open_session(by=nurse), S.COMPLETED, nurse_user=nurse, verifier=clinician)
    response_record(
        patient=session.patient, code="gad7", answers=[1, 1, 1, 1, 1, 1, 1], context="baseline", by=clinician
    )
    return session


def test_every_resource_type_read_and_searched_is_valid_fhir(client, clinician, treated):
    headers = bearer(clinician)
    patient_id = treated.patient_id
    seen = set()
    for path, params in [
        (f"Patient/{patient_id}", {}),
        ("Patient", {"_id": patient_id}),
        ("Appointment", {"patient": patient_id, "_include": "Appointment:patient"}),
        ("Observation", {"patient": patient_id}),
        ("Observation", {"patient": patient_id, "category": "vital-signs"}),
        ("MedicationAdministration", {"patient": patient_id}),
        ("Location", {}),
        ("Practitioner", {}),
    ]:
        response = fhir_get(client, path, headers, **params)
        assert response.status_code == 200, (path, response.content[:300])
        assert response["Content-Type"] == "application/fhir+json"
        body = response.json()
        validate(body)
        for entry in body.get("entry", []):
            validate(entry["resource"])
            seen.add(entry["resource"]["resourceType"])
    assert seen == {"Patient", "Appointment", "Observation", "MedicationAdministration", "Location", "Practitioner"}


def test_the_capability_statement_is_public_valid_and_lists_every_resource(client):
    response = client.get(reverse("interop:metadata"))
    assert response.status_code == 200
    body = response.json()
    validate(body)
    served = {r["type"] for r in body["rest"][0]["resource"]}
    assert {"Patient", "Practitioner", "Location", "Appointment", "Observation", "MedicationAdministration"} <= served


def test_scores_carry_their_loinc_total_and_vitals_their_loinc_and_ucum(client, clinician, treated):
    body = fhir_get(client, "Observation", bearer(clinician), patient=treated.patient_id, _count=100).json()
    by_code = {}
    for entry in body["entry"]:
        resource = entry["resource"]
        coding = resource["code"].get("coding", [{}])[0]
        by_code.setdefault(coding.get("code"), resource)
    phq9 = treated.patient.instrument_responses.filter(instrument="phq9").first()
    assert by_code["44261-6"]["valueInteger"] == phq9.total  # PHQ-9 total at the chair [S38]
    assert by_code["70274-6"]["valueInteger"] == 7  # GAD-7 total [S86]
    assert by_code["8867-4"]["valueQuantity"] == {
        "value": 80,
        "unit": "beats/minute",
        "system": "http://unitsofmeasure.org",
        "code": "/min",
    }
    bp = by_code["85354-9"]
    assert {c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in bp["component"]} == {
        "8480-6": 130,
        "8462-4": 80,
    }
    assert by_code["59408-5"]["valueQuantity"]["code"] == "%"


@pytest.mark.parametrize(("yes", "answer"), [({"q1": True}, "LA9194-7"), ({"q2": True, "q4": True}, "LA9193-9")])
def test_a_cssrs_screen_is_its_loinc_risk_level_coded_as_its_loinc_answer(client, clinician, patient, yes, answer):
    answers = dict.fromkeys(INSTRUMENTS["cssrs_screen"].answer_keys, False) | yes
    response_record(patient=patient, code="cssrs_screen", answers=answers, context="baseline", by=clinician)
    headers = bearer(clinician)
    found = fhir_get(client, "Observation", headers, patient=patient.pk, code="93374-7").json()
    validate(found)
    [entry] = found["entry"]
    observation = entry["resource"]
    validate(observation)
    coding = observation["code"]["coding"][0]
    assert (coding["system"], coding["code"]) == ("http://loinc.org", "93374-7")
    assert observation["valueCodeableConcept"]["coding"] == [
        {"system": "http://loinc.org", "code": answer, "display": observation["valueCodeableConcept"]["text"]}
    ]
    assert "valueInteger" not in observation
    [item_answers] = [
        e["resource"] for e in fhir_get(client, "QuestionnaireResponse", headers, patient=patient.pk).json()["entry"]
    ]
    validate(item_answers)


def test_a_corrected_score_read_by_id_says_it_was_entered_in_error(client, clinician, treated):
    """A client that kept the id of a score later corrected must learn, on reading it again, that it
    no longer stands, and the correction says it corrects."""
    original = response_record(patient=treated.patient, code="gad7", answers=[0] * 7, context="baseline", by=clinician)
    correction = response_record(
        patient=treated.patient,
        code="gad7",
        answers=[2, 2, 2, 2, 2, 2, 2],
        context="baseline",
        by=clinician,
        supersedes=original,
        correction_reason="Answers transposed from the paper form",
    )
    headers = bearer(clinician)
    old = fhir_get(client, f"Observation/score-{original.pk}", headers).json()
    new = fhir_get(client, f"Observation/score-{correction.pk}", headers).json()
    assert (old["status"], new["status"]) == ("entered-in-error", "corrected")
    assert new["valueInteger"] == 14
    searched = fhir_get(client, "Observation", headers, patient=treated.patient_id, code="70274-6").json()
    ids = [e["resource"]["id"] for e in searched["entry"]]
    assert f"score-{correction.pk}" in ids
    assert f"score-{original.pk}" not in ids


def test_the_infusion_is_a_medication_administration_with_what_was_delivered(client, clinician, treated):
    body = fhir_get(client, "MedicationAdministration", bearer(clinician), patient=treated.patient_id).json()
    [entry] = body["entry"]
    treated.refresh_from_db()
    assert entry["resource"]["status"] == "completed"
    assert entry["resource"]["dosage"]["dose"]["value"] == float(treated.delivered_mg)
    assert entry["resource"]["medicationCodeableConcept"] == {"text": "Ketamine hydrochloride"}


# Who sees what ----------------------------------------------------------------------------------

SCOPE_TABLE = [
    # persona, scope, resource type, expected status
    ("frontdesk", "user/*.read", "Patient", 200),
    ("frontdesk", "user/*.read", "Appointment", 200),
    ("frontdesk", "user/*.read", "Observation", 403),  # no clinical resources for the front desk
    ("frontdesk", "user/*.read", "MedicationAdministration", 403),
    ("nurse", "user/*.read", "Observation", 200),
    ("prescriber", "user/*.read", "MedicationAdministration", 200),
    ("prescriber", "user/Patient.read", "Patient", 200),
    ("prescriber", "user/Patient.read", "Observation", 403),  # a narrower scope narrows the token
    ("admin", "user/*.read", "Observation", 200),
    ("outsider", "user/*.read", "Patient", 403),  # a token is no more than its user
]


@pytest.mark.parametrize(("who", "scope", "resource_type", "status"), SCOPE_TABLE)
def test_a_token_reads_what_its_scope_and_its_users_role_allow(
    client, persona, treated, who, scope, resource_type, status
):
    headers = bearer(persona[who], scope)
    response = (
        fhir_get(client, resource_type, headers, patient=treated.patient_id)
        if resource_type not in ("Patient",)
        else fhir_get(client, resource_type, headers, _id=treated.patient_id)
    )
    assert response.status_code == status, response.content[:300]
    if status != 200:
        body = response.json()
        validate(body)
        assert body["resourceType"] == "OperationOutcome"


def test_a_front_desk_token_cannot_include_clinical_data_through_a_patient(client, frontdesk, treated):
    response = fhir_get(
        client, f"Observation/score-{treated.patient.instrument_responses.first().pk}", bearer(frontdesk)
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, {"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}],
)
def test_no_valid_token_is_401_with_an_operation_outcome(client, patient, headers):
    response = fhir_get(client, f"Patient/{patient.pk}", headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    validate(response.json())


def test_a_signed_in_browser_session_is_not_a_credential(client, admin, patient):
    client.force_login(admin)
    assert fhir_get(client, f"Patient/{patient.pk}", {}).status_code == 401


def test_an_expired_token_stops_working(client, clinician, patient):
    headers = bearer(clinician, expires_in=-1)
    assert fhir_get(client, f"Patient/{patient.pk}", headers).status_code == 401


def test_retiring_a_client_stops_its_tokens_at_once(client, clinician, admin, patient):
    headers = bearer(clinician)
    assert fhir_get(client, f"Patient/{patient.pk}", headers).status_code == 200
    registration = ClientRegistration.objects.get()
    services.client_retire(registration=registration, reason="Vendor contract ended", by=admin)
    assert fhir_get(client, f"Patient/{patient.pk}", headers).status_code == 401
    event = AuditEvent.objects.filter(action="api_client.retire").get()
    assert event.changes["tokens_revoked"] >= 1


def test_a_deactivated_user_s_token_stops_working(client, clinician, patient):
    headers = bearer(clinician)
    clinician.is_active = False
    clinician.save(update_fields=["is_active"])
    assert fhir_get(client, f"Patient/{patient.pk}", headers).status_code == 401


# Audit --------------------------------------------------------------------------------------------


def test_every_patient_in_an_answer_is_a_read_in_the_audit_trail(client, clinician):
    patients = PatientFactory.create_batch(3)
    for p in patients:
        AppointmentFactory(patient=p)
    headers = bearer(clinician)
    before = AuditEvent.objects.count()
    response = fhir_get(client, "Appointment", headers, patient=",".join(str(p.pk) for p in patients))
    assert response.status_code == 200
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert sorted(e.patient_id for e in events) == sorted(p.pk for p in patients)
    assert {e.verb for e in events} == {"read"}
    assert {e.action for e in events} == {"fhir.Appointment.search"}
    assert {e.changes["client"] for e in events} == {"Test user client"}
    assert {e.actor_id for e in events} == {clinician.pk}


def test_a_back_end_service_reads_for_the_administrator_who_registered_it(client, admin, patient):
    headers = bearer(None, "system/*.read", owner=admin, flow="system")
    response = fhir_get(client, f"Patient/{patient.pk}", headers)
    assert response.status_code == 200
    event = AuditEvent.objects.filter(action="fhir.Patient.read").get()
    assert (event.actor_id, event.patient_id) == (admin.pk, patient.pk)


# Paging and search ------------------------------------------------------------------------------


def test_paging_follows_next_links_to_every_patient_once(client, admin):
    made = {p.pk for p in PatientFactory.create_batch(5, legal_last_name="Paging")}
    headers = bearer(admin)
    url, seen = "/fhir/r4/Patient?family=Paging&_count=2", []
    while url:
        body = client.get(url, **headers).json()
        assert body["total"] == 5
        seen += [int(e["resource"]["id"]) for e in body["entry"]]
        nxt = [link["url"] for link in body["link"] if link["relation"] == "next"]
        url = urlparse(nxt[0])._replace(scheme="", netloc="").geturl() if nxt else None
    assert sorted(seen) == sorted(made)


def test_a_page_costs_the_same_queries_however_many_rows(client, clinician, django_assert_max_num_queries):
    patients = PatientFactory.create_batch(3)
    for p in patients:
        AppointmentFactory(patient=p)
    headers = bearer(clinician)
    ids = ",".join(str(p.pk) for p in patients)
    fhir_get(client, "Appointment", headers, patient=ids)  # warm the permission caches
    with django_assert_max_num_queries(14):
        assert fhir_get(client, "Appointment", headers, patient=ids, _include="Appointment:patient").status_code == 200
    for p in PatientFactory.create_batch(10):
        AppointmentFactory(patient=p)
    with django_assert_max_num_queries(14):
        assert fhir_get(client, "Appointment", headers, _count=50, _include="Appointment:patient").status_code == 200


def test_a_family_name_search_pages_through_every_match_once_in_name_order(client, clinician):
    smiths = [
        PatientFactory(legal_last_name=last, legal_first_name=first)
        for last, first in [("Smith", "Zoe"), ("Smithers", "Al"), ("Smith", "Ann"), ("smith", "Bea"), ("Smyth", "Cy")]
    ]
    PatientFactory(legal_last_name="Jones")
    headers = bearer(clinician)
    seen, params = [], {"family": "SMITH", "_count": 2}
    path = "Patient"
    while True:
        body = fhir_get(client, path, headers, **params).json()
        assert body["total"] == 4
        seen += [(e["resource"]["name"][0]["family"], e["resource"]["name"][0]["given"][0]) for e in body["entry"]]
        following = [link["url"] for link in body["link"] if link["relation"] == "next"]
        if not following:
            break
        path, params = following[0].split("/fhir/r4/", 1)[1], {}
    assert len(seen) == len(set(seen)) == 4
    whole = fhir_get(client, "Patient", headers, family="smith", _count=10).json()
    assert seen == [(e["resource"]["name"][0]["family"], e["resource"]["name"][0]["given"][0]) for e in whole["entry"]]
    assert ("Smyth", "Cy") not in seen
    assert len(smiths) == 5


def test_a_patient_is_found_by_the_mrn_however_the_other_system_cases_it(client, clinician, settings):
    """Another system may send the record number as printed or lower-cased, with or without our
    identifier system; each finds the one patient, and another system's identifier finds no one."""
    patient = PatientFactory()
    PatientFactory()
    headers = bearer(clinician)
    for value in (patient.mrn, patient.mrn.lower(), f"{settings.FHIR_MRN_SYSTEM}|{patient.mrn.lower()}"):
        body = fhir_get(client, "Patient", headers, identifier=value).json()
        assert [e["resource"]["id"] for e in body["entry"]] == [str(patient.pk)], value
    assert fhir_get(client, "Patient", headers, identifier="GM0000000").json()["total"] == 0


def test_appointments_search_by_date_with_fhir_prefixes(client, clinician, patient):
    soon = AppointmentFactory(patient=patient)
    later = AppointmentFactory(
        patient=patient, start=soon.start + timedelta(days=10), end=soon.end + timedelta(days=10)
    )
    headers = bearer(clinician)
    day = timezone.localtime(later.start).date().isoformat()

    def ids(**params):
        entries = fhir_get(client, "Appointment", headers, **params).json().get("entry", [])
        return {e["resource"]["id"] for e in entries}

    assert ids(patient=patient.pk, date=day) == {str(later.pk)}
    assert ids(patient=patient.pk, date=f"lt{day}") == {str(soon.pk)}
    assert ids(patient=patient.pk, date=f"ge{day}") == {str(later.pk)}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("Appointment", {"date": "yesterday"}),
        ("Appointment", {"patient": "Patient/abc"}),
        ("Patient", {"birthdate": "1990-13-45"}),
        ("Patient", {"_offset": "-1"}),
        ("Patient", {"_offset": "99999999"}),
        ("Patient", {"_include": "Patient:organization"}),
        ("Observation", {}),  # an Observation search names its patient
        ("Observation", {"patient": "1", "date": "2026-02-30"}),
        ("Appointment", {"date": "ge9999-12-31"}),  # the last day there is has no end to compare with
        ("Appointment", {"date": "9999-12-31"}),
        ("Observation", {"patient": "1", "date": "gt9999-12-31"}),
        ("Patient", {"birthdate": "9999-12-31"}),
    ],
)
def test_bad_search_values_are_400_with_an_operation_outcome(client, admin, path, params):
    response = fhir_get(client, path, bearer(admin), **params)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    validate(body)
    assert body["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "path",
    ["Patient/²", "Patient/99999999999999999999", "Observation/vs-1-xx", "Observation/bogus", "Basic/1", "Patient/-1"],
)
def test_hostile_ids_and_unknown_types_are_404_never_500(client, admin, path):
    response = fhir_get(client, path, bearer(admin))
    assert response.status_code == 404
    validate(response.json())


def test_count_is_capped_and_garbage_counts_fall_back_to_the_default(client, admin):
    PatientFactory.create_batch(3)
    headers = bearer(admin)
    assert len(fhir_get(client, "Patient", headers, _count="1").json()["entry"]) == 1
    assert len(fhir_get(client, "Patient", headers, _count="x").json()["entry"]) == 3


# OAuth flows end to end ---------------------------------------------------------------------------


def test_a_back_end_service_gets_a_token_with_its_secret_and_reads(client, admin, patient):
    application, secret = register(admin, flow="system")
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200, response.content
    token = response.json()
    assert token["scope"].split() == ["system/*.read"]
    assert token["expires_in"] <= 900
    read = fhir_get(client, f"Patient/{patient.pk}", {"HTTP_AUTHORIZATION": f"Bearer {token['access_token']}"})
    assert read.status_code == 200


def test_a_back_end_service_cannot_ask_for_user_scopes(client, admin):
    application, secret = register(admin, flow="system")
    basic = base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()
    response = client.post(
        "/o/token/", {"grant_type": "client_credentials", "scope": "user/*.read"}, HTTP_AUTHORIZATION=f"Basic {basic}"
    )
    assert response.status_code == 400


def test_a_member_of_staff_authorises_an_app_with_pkce_and_it_reads_as_them(client, frontdesk, admin, treated):
    application, secret = register(admin, flow="user")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    client.force_login(frontdesk)
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": "https://app.example/callback",
        "scope": "user/*.read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "xyz",
    }
    page = client.get("/o/authorize/", query)
    assert page.status_code == 200
    assert b"Allow Test user client to read for you?" in page.content
    approved = client.post("/o/authorize/", {**query, "allow": "Authorize"})
    assert approved.status_code == 302
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
    headers = {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}
    assert fhir_get(client, f"Patient/{treated.patient_id}", headers).status_code == 200
    # The token is the front desk's: no clinical resources.
    assert fhir_get(client, "Observation", headers, patient=treated.patient_id).status_code == 403


# Administrators register and retire clients ------------------------------------------------------


def test_an_administrator_registers_a_client_and_sees_its_secret_once(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("interop:client-new"),
        {"name": "Outcomes registry", "flow": "system", "redirect_uris": "", "purpose": "Monthly PHQ-9 upload"},
    )
    assert response.status_code == 200
    application = Application.objects.get(name="Outcomes registry")
    secret = response.context["secret"]
    assert secret.encode() in response.content
    assert application.client_secret != secret  # only a hash is kept
    listing = client.get(reverse("interop:clients"))
    assert b"Outcomes registry" in listing.content
    assert secret.encode() not in listing.content
    assert AuditEvent.objects.filter(action="api_client.register", verb="create").count() == 1


def test_a_client_form_with_missing_parts_says_so_at_the_field_and_keeps_what_was_typed(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("interop:client-new"), {"name": "Portal", "flow": "user", "redirect_uris": "", "purpose": ""}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "redirect_uris" in form.errors or "purpose" in form.errors
    assert b'value="Portal"' in response.content
    assert not Application.objects.exists()


def test_a_redirect_address_that_is_not_https_is_refused_outside_development(client, admin, settings):
    client.force_login(admin)
    response = client.post(
        reverse("interop:client-new"),
        {"name": "Portal", "flow": "user", "redirect_uris": "javascript:alert(1)", "purpose": "Staff app"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["redirect_uris"]
    assert not Application.objects.exists()
