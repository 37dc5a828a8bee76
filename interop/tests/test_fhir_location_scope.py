"""A chain of clinics over FHIR: a token whose user works at some locations reads the patients of
those locations only (every search, ``_include``, every read by id and every bulk export), and a
chain-wide user's token reads every location's."""

from __future__ import annotations

import pytest

from interop import selectors
from interop.tests import test_bulk_export, test_fhir_api, test_fhir_record
from interop.tests.test_bulk_export import fetch_lines, kick_off, run_to_completion, system_token
from interop.tests.test_fhir_api import bearer, fhir_get, validate
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory, LocationFactory

pytestmark = pytest.mark.django_db

treated = test_fhir_api.treated
record = test_fhir_record.record
administrator = test_bulk_export.administrator  # by role, not a superuser (a superuser sees every location)

SEARCHABLE = sorted(name for name, rtype in selectors.RESOURCE_TYPES.items() if rtype.searchable)
# What the North patient's record holds, each read by id below.
READABLE = sorted({*test_fhir_record.RECORD_TYPES, "Patient", "Appointment", "Observation", "MedicationAdministration"})


@pytest.fixture
def south(db):
    return LocationFactory(name="South")


@pytest.fixture
def southern(south, clinician):
    """A patient with care at South only, with a signed intake."""
    patient = PatientFactory(legal_last_name="Southey")
    AppointmentFactory(patient=patient, location=south)
    test_fhir_record.sign_intake(patient)
    return patient


@pytest.fixture
def scoped(record, southern, nurse, scope_to, south):
    """A nurse working at South only; ``record``'s patient has care elsewhere."""
    return scope_to(nurse, south)


def _ids(body) -> set[str]:
    return {e["resource"]["id"] for e in body.get("entry", [])}


def _patients_in(body) -> set[int]:
    """The patients the entries are about (their own id, or the patient they reference)."""
    found = set()
    for entry in body.get("entry", []):
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            found.add(int(resource["id"]))
            continue
        for key in ("subject", "patient"):
            if isinstance(resource.get(key), dict):
                found.add(int(resource[key]["reference"].rsplit("/", 1)[1]))
        for participant in resource.get("participant", []):
            reference = (participant.get("actor") or {}).get("reference", "")
            if reference.startswith("Patient/"):
                found.add(int(reference.rsplit("/", 1)[1]))
    return found


@pytest.mark.parametrize("resource_type", SEARCHABLE)
def test_every_search_of_a_scoped_users_token_holds_their_locations_patients_only(
    client, admin, record, southern, scoped, resource_type
):
    rtype = selectors.RESOURCE_TYPES[resource_type]
    headers = bearer(scoped)
    if not rtype.compartment:  # the clinic's staff and places: about no patient
        assert fhir_get(client, resource_type, headers).status_code == 200
        return
    key = "_id" if resource_type == "Patient" else "patient"
    elsewhere = {key: record.patient_id, "_count": 100}
    theirs = fhir_get(client, resource_type, bearer(admin), **elsewhere).json()
    assert _ids(theirs), f"a chain-wide token reads the North patient's {resource_type}"
    response = fhir_get(client, resource_type, headers, **elsewhere)
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    validate(body)
    assert _ids(body) == set()
    both = fhir_get(client, resource_type, headers, **{key: f"{record.patient_id},{southern.pk}", "_count": 100})
    assert _patients_in(both.json()) <= {southern.pk}
    if not rtype.needs_patient:  # a search naming no patient: the user's locations' patients only
        unnamed = fhir_get(client, resource_type, headers, _count=100).json()
        assert _patients_in(unnamed) == {southern.pk}
        assert record.patient_id in _patients_in(fhir_get(client, resource_type, bearer(admin), _count=100).json())


def test_include_brings_only_the_scoped_users_patients(client, record, southern, scoped):
    body = fhir_get(client, "Appointment", bearer(scoped), _include="Appointment:patient", _count=100).json()
    included = {e["resource"]["id"] for e in body["entry"] if e["resource"]["resourceType"] == "Patient"}
    assert included == {str(southern.pk)}


@pytest.mark.parametrize("resource_type", READABLE)
def test_a_scoped_users_token_gets_404_for_another_locations_resource(
    client, admin, record, southern, scoped, resource_type
):
    params = {"_id": record.patient_id} if resource_type == "Patient" else {"patient": record.patient_id}
    [theirs, *_] = [e["resource"] for e in fhir_get(client, resource_type, bearer(admin), **params).json()["entry"]]
    path = f"{resource_type}/{theirs['id']}"
    assert fhir_get(client, path, bearer(admin)).status_code == 200
    response = fhir_get(client, path, bearer(scoped))
    assert response.status_code == 404
    validate(response.json())


def test_a_scoped_users_token_reads_their_own_locations_resources(client, southern, scoped):
    headers = bearer(scoped)
    assert fhir_get(client, f"Patient/{southern.pk}", headers).status_code == 200
    [condition, *_] = fhir_get(client, "Condition", headers, patient=southern.pk).json()["entry"]
    assert fhir_get(client, f"Condition/{condition['resource']['id']}", headers).status_code == 200


def test_a_scoped_search_costs_one_more_query_whatever_the_rows(client, nurse, scope_to, django_assert_max_num_queries):
    south = LocationFactory(name="South")
    scope_to(nurse, south)
    for p in PatientFactory.create_batch(3):
        AppointmentFactory(patient=p, location=south)
    AppointmentFactory()  # elsewhere
    headers = bearer(nurse)
    fhir_get(client, "Appointment", headers)  # warm the permission caches
    # The chain-wide search's 14 and the user's locations (one statement; the patients are a semi-join).
    with django_assert_max_num_queries(15):
        body = fhir_get(client, "Appointment", headers, _include="Appointment:patient").json()
    assert body["total"] == 3
    for p in PatientFactory.create_batch(10):
        AppointmentFactory(patient=p, location=south)
    with django_assert_max_num_queries(15):
        body = fhir_get(client, "Appointment", headers, _count=50, _include="Appointment:patient").json()
    assert body["total"] == 13


@pytest.fixture
def two_sites(db):
    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    return north, south, AppointmentFactory(location=north), AppointmentFactory(location=south)


def _exported_patients(client, headers, response) -> set[str]:
    assert response.status_code == 202, response.content[:300]
    manifest = run_to_completion(client, headers, response)
    url = next(e["url"] for e in manifest["output"] if e["type"] == "Patient")
    return {p["id"] for p in fetch_lines(client, headers, url)}


def test_a_scoped_administrators_bulk_export_holds_their_locations_patients(client, administrator, scope_to, two_sites):
    north, south, there, here = two_sites
    headers = system_token(scope_to(administrator, south))
    system = kick_off(client, headers, _type="Patient,Appointment,Location")
    assert _exported_patients(client, headers, system) == {str(here.patient_id)}
    everyone = kick_off(client, headers, "Patient/$export", _type="Patient")
    assert _exported_patients(client, headers, everyone) == {str(here.patient_id)}
    group = kick_off(client, headers, f"Group/location-{south.pk}/$export", _type="Patient")
    assert _exported_patients(client, headers, group) == {str(here.patient_id)}
    refused = kick_off(client, headers, f"Group/location-{north.pk}/$export", _type="Patient")
    assert refused.status_code == 403
    validate(refused.json())


def test_a_chain_wide_administrators_bulk_export_holds_every_location(client, administrator, two_sites):
    north, _south, there, here = two_sites
    headers = system_token(administrator)
    assert _exported_patients(client, headers, kick_off(client, headers, _type="Patient")) == {
        str(there.patient_id),
        str(here.patient_id),
    }
    group = kick_off(client, headers, f"Group/location-{north.pk}/$export", _type="Patient")
    assert _exported_patients(client, headers, group) == {str(there.patient_id)}
