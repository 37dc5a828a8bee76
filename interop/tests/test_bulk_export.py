"""FHIR Bulk Data ``$export`` as a client sees it: kick-off, status, manifest, NDJSON files that
are valid FHIR, who may ask and who may fetch, cancelling, and the audit of every patient exported."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from interop import export_services
from interop.models import Export, ExportFile
from interop.tests.test_fhir_api import bearer, treated, validate  # noqa: F401 - treated is a fixture
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

ASYNC = {"HTTP_PREFER": "respond-async", "HTTP_ACCEPT": "application/fhir+json"}


@pytest.fixture
def administrator(db):
    """An administrator by role (not a superuser): the role's own permissions decide."""
    return UserFactory(username="admin.role", role=Role.ADMINISTRATOR)


def system_token(user):
    return bearer(None, "system/*.read", owner=user, flow="system")


def kick_off(client, headers, path="$export", **params):
    return client.get(f"/fhir/r4/{path}", params, **headers, **ASYNC)


def status_path(response) -> str:
    location = response["Content-Location"]
    assert "/fhir/r4/$export-status/" in location
    return location.split("/fhir/r4/", 1)[1]


def run_to_completion(client, headers, response) -> dict:
    """Run the worker's task for the export the kick-off queued, then fetch the manifest."""
    path = status_path(response)
    export_services.export_run(export_id=path.rsplit("/", 1)[1])
    done = client.get(f"/fhir/r4/{path}", **headers)
    assert done.status_code == 200, done.content[:300]
    return done.json()


def fetch_lines(client, headers, url: str) -> list[dict]:
    response = client.get("/fhir/r4/" + url.split("/fhir/r4/", 1)[1], **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+ndjson"
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def test_a_system_export_writes_valid_ndjson_per_type_and_a_manifest(client, administrator, treated):  # noqa: F811
    other = PatientFactory()
    AppointmentFactory(patient=other)
    headers = system_token(administrator)
    response = kick_off(client, headers)
    assert response.status_code == 202, response.content[:300]
    pending = client.get(f"/fhir/r4/{status_path(response)}", **headers)
    assert pending.status_code == 202
    assert pending["X-Progress"]
    assert pending["Retry-After"]

    manifest = run_to_completion(client, headers, response)
    assert manifest["requiresAccessToken"] is True
    assert manifest["request"].endswith("/fhir/r4/$export")
    assert manifest["transactionTime"]
    assert manifest["error"] == []
    types = {entry["type"] for entry in manifest["output"]}
    assert {"Patient", "Appointment", "Observation", "MedicationAdministration", "Location", "Practitioner"} <= types
    for entry in manifest["output"]:
        lines = fetch_lines(client, headers, entry["url"])
        assert len(lines) == entry["count"] > 0
        for resource in lines:
            assert resource["resourceType"] == entry["type"]
            validate(resource)
    patients = fetch_lines(client, headers, next(e["url"] for e in manifest["output"] if e["type"] == "Patient"))
    assert {p["id"] for p in patients} == {str(treated.patient_id), str(other.pk)}


def test_type_and_since_narrow_what_is_exported(client, administrator, treated):  # noqa: F811
    headers = system_token(administrator)
    manifest = run_to_completion(client, headers, kick_off(client, headers, _type="Patient,Appointment"))
    assert {e["type"] for e in manifest["output"]} == {"Patient", "Appointment"}

    later = (timezone.now() + timedelta(minutes=5)).isoformat()
    manifest = run_to_completion(client, headers, kick_off(client, headers, _type="Patient", _since=later))
    assert manifest["output"] == []  # nothing changed since: no file at all (the spec's rule)


def test_a_group_is_a_location_s_patients(client, administrator):
    here = AppointmentFactory()
    AppointmentFactory()  # another patient, at another location
    headers = system_token(administrator)
    response = kick_off(client, headers, f"Group/location-{here.location_id}/$export", _type="Patient,Appointment")
    assert response.status_code == 202
    manifest = run_to_completion(client, headers, response)
    lines = fetch_lines(client, headers, next(e["url"] for e in manifest["output"] if e["type"] == "Patient"))
    assert [p["id"] for p in lines] == [str(here.patient_id)]
    assert kick_off(client, headers, "Group/location-999999/$export").status_code == 404
    assert kick_off(client, headers, "Group/course-1/$export").status_code == 404


def test_a_patient_export_leaves_out_what_is_about_no_patient(client, administrator, treated):  # noqa: F811
    headers = system_token(administrator)
    manifest = run_to_completion(client, headers, kick_off(client, headers, "Patient/$export"))
    types = {e["type"] for e in manifest["output"]}
    assert {"Patient", "MedicationAdministration"} <= types
    assert not types & {"Location", "Practitioner"}


def test_every_patient_exported_is_an_export_in_the_audit_trail(client, administrator, treated):  # noqa: F811
    other = PatientFactory()
    headers = system_token(administrator)
    run_to_completion(client, headers, kick_off(client, headers, _type="Patient"))
    events = AuditEvent.objects.filter(action="fhir.$export", verb=AuditEvent.Verb.EXPORT)
    assert set(events.values_list("patient_id", flat=True)) == {treated.patient_id, other.pk}
    assert all(e.actor_id == administrator.pk and e.changes["client"] for e in events)


@pytest.mark.parametrize("who", ["clinician", "nurse", "frontdesk"])
def test_bulk_export_is_for_administrators_only(client, request, who):
    user = request.getfixturevalue(who)
    response = kick_off(client, bearer(user))
    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Export.objects.exists()


def test_an_administrator_s_user_token_may_export_too(client, administrator, treated):  # noqa: F811
    headers = bearer(administrator, "user/*.read")
    assert run_to_completion(client, headers, kick_off(client, headers, _type="Patient"))["output"]


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({}, {"HTTP_ACCEPT": "application/fhir+json"}, 400),  # no Prefer: respond-async
        ({"_type": "Spaceship"}, ASYNC, 400),
        ({"_since": "yesterday"}, ASYNC, 400),
        ({"_since": "2026-01-01T00:00:00"}, ASYNC, 400),  # an instant needs its zone
        ({"_outputFormat": "text/csv"}, ASYNC, 400),
        ({"_typeFilter": "Patient?active=true"}, ASYNC, 400),
        ({}, {**ASYNC, "HTTP_ACCEPT": "text/html"}, 400),
    ],
)
def test_bad_kick_offs_are_refused_with_an_operation_outcome(client, administrator, params, headers, status):
    token = system_token(administrator)
    response = client.get("/fhir/r4/$export", params, **token, **headers)
    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not Export.objects.exists()


def test_no_token_is_401(client):
    assert client.get("/fhir/r4/$export", **ASYNC).status_code == 401


def test_a_token_without_the_scope_for_a_type_cannot_ask_for_it(client, administrator):
    headers = bearer(None, "system/Patient.read", owner=administrator, flow="system")
    assert kick_off(client, headers, _type="Observation").status_code == 403
    assert kick_off(client, headers).status_code == 202  # left unsaid: the types the scope reads
    assert Export.objects.get().resource_types == ["Patient"]


def test_only_the_requester_polls_and_fetches_the_files(client, administrator, admin, treated):  # noqa: F811
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")
    manifest = run_to_completion(client, headers, response)
    stranger = system_token(admin)
    assert client.get(f"/fhir/r4/{status_path(response)}", **stranger).status_code == 404
    url = manifest["output"][0]["url"].split("/fhir/r4/", 1)[1]
    assert client.get(f"/fhir/r4/{url}", **stranger).status_code == 404
    assert client.get(f"/fhir/r4/{url}").status_code == 401
    client.get(f"/fhir/r4/{url}", **headers)
    assert AuditEvent.objects.filter(action="fhir.$export.downloaded", actor=administrator).count() == 1


def test_delete_cancels_and_deletes_the_files(client, administrator, treated):  # noqa: F811
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")
    run_to_completion(client, headers, response)
    path = status_path(response)
    assert client.delete(f"/fhir/r4/{path}", **headers).status_code == 202
    assert not ExportFile.objects.exists()
    assert client.get(f"/fhir/r4/{path}", **headers).status_code == 404
    assert client.delete(f"/fhir/r4/{path}", **headers).status_code == 404


def test_a_cancelled_export_is_not_built(client, administrator, treated):  # noqa: F811
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")
    assert client.delete(f"/fhir/r4/{status_path(response)}", **headers).status_code == 202
    export = export_services.export_run(export_id=status_path(response).rsplit("/", 1)[1])
    assert export.status == Export.Status.CANCELLED
    assert not ExportFile.objects.exists()
    assert not AuditEvent.objects.filter(action="fhir.$export").exists()


def test_a_failed_export_answers_500_with_an_operation_outcome(client, administrator, treated, monkeypatch):  # noqa: F811
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_services, "_audit_included", broken)
    export_services.export_run(export_id=status_path(response).rsplit("/", 1)[1])
    failed = client.get(f"/fhir/r4/{status_path(response)}", **headers)
    assert failed.status_code == 500
    outcome = failed.json()
    validate(outcome)
    assert "disk full" not in json.dumps(outcome)  # the error is logged, not sent
    assert not ExportFile.objects.exists()


@pytest.mark.usefixtures("treated")
def test_a_type_that_fails_is_left_out_whole_and_reported_in_the_error_file(client, administrator, monkeypatch):
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient,Appointment")
    real_rows = export_services.bulk.rows

    def failing_appointments(rtype, scope):
        if rtype.name != "Appointment":
            return real_rows(rtype, scope)

        def rows():
            yield from real_rows(rtype, scope)
            raise RuntimeError("connection lost")

        return rows()

    monkeypatch.setattr(export_services.bulk, "rows", failing_appointments)
    monkeypatch.setattr(export_services, "PART_BYTES", 1)  # a file of the failing type was stored already
    manifest = run_to_completion(client, headers, response)
    assert [e["type"] for e in manifest["output"]] == ["Patient"]
    assert [e["type"] for e in manifest["error"]] == ["OperationOutcome"]
    (outcome,) = fetch_lines(client, headers, manifest["error"][0]["url"])
    validate(outcome)
    assert "Appointment" in outcome["issue"][0]["diagnostics"]
    assert "connection lost" not in json.dumps(outcome)
    assert not ExportFile.objects.filter(resource_type="Appointment").exists()


def test_a_second_delivery_of_the_task_does_nothing(client, administrator, treated):  # noqa: F811
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")
    export_id = status_path(response).rsplit("/", 1)[1]
    export_services.export_run(export_id=export_id)
    export_services.export_run(export_id=export_id)
    assert ExportFile.objects.count() == 1
    assert AuditEvent.objects.filter(action="fhir.$export").count() == 1


def test_the_capability_statement_offers_the_bulk_export_operations(client):
    body = client.get("/fhir/r4/metadata").json()
    validate(body)
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in body["instantiates"]
    assert {op["name"] for op in body["rest"][0]["operation"]} == {"export", "patient-export", "group-export"}


def test_a_large_type_is_split_into_several_files(client, administrator, monkeypatch):
    for _ in range(5):
        PatientFactory()
    monkeypatch.setattr(export_services, "PART_BYTES", 1)  # every resource its own file
    headers = system_token(administrator)
    manifest = run_to_completion(client, headers, kick_off(client, headers, _type="Patient"))
    assert [e["type"] for e in manifest["output"]] == ["Patient"] * 5
    ids = set()
    for entry in manifest["output"]:
        lines = fetch_lines(client, headers, entry["url"])
        assert len(lines) == entry["count"] == 1
        ids |= {line["id"] for line in lines}
    assert len(ids) == 5


def test_with_a_documents_storage_the_files_live_there(client, administrator, settings, tmp_path, treated):  # noqa: F811
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    headers = system_token(administrator)
    response = kick_off(client, headers, _type="Patient")
    manifest = run_to_completion(client, headers, response)
    stored = ExportFile.objects.get()
    assert stored.storage_name
    assert stored.content is None
    assert (tmp_path / stored.storage_name).exists()
    assert [p["id"] for p in fetch_lines(client, headers, manifest["output"][0]["url"])] == [str(treated.patient_id)]
    assert client.delete(f"/fhir/r4/{status_path(response)}", **headers).status_code == 202
    assert not (tmp_path / stored.storage_name).exists()
