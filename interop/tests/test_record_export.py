"""A patient's whole record on request: prepared from the chart by the worker, a zip with the FHIR
Bundle, every PDF issued, the accounting of disclosures and an index page; the export and every
download are disclosures in the audit trail; only administrators and prescribers may ask."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from accounts.models import AuditEvent
from consultations.tests.factories import signed_consultation
from documents import services as documents
from documents.tests.factories import issued_summary
from interop import export_services
from interop.models import Export
from interop.tests.test_fhir_api import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(clinician):
    """A patient with a signed consultation whose summary PDF was issued and downloaded once."""
    document = issued_summary(by=clinician)
    documents.document_disclose(document=document, by=clinician, recipient="Dr Referrer", purpose="referral")
    return document


def prepare(client, user, patient) -> Export:
    client.force_login(user)
    response = client.post(reverse("interop:record-export-new", args=[patient.pk]))
    assert response.status_code == 302
    export = Export.objects.filter(patient=patient, kind=Export.Kind.RECORD).latest("requested_at")
    return export_services.export_run(export_id=str(export.pk))


def download(client, export) -> zipfile.ZipFile:
    response = client.get(reverse("interop:record-download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith(f'record-{export.patient.mrn}.zip"')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_zip_holds_the_bundle_the_pdfs_the_disclosures_and_an_index(client, clinician, summary):
    patient = summary.patient
    export = prepare(client, clinician, patient)
    assert export.status == Export.Status.COMPLETED
    archive = download(client, export)
    names = set(archive.namelist())
    assert {"record.fhir.json", "disclosures.csv", "index.html"} <= names

    bundle = json.loads(archive.read("record.fhir.json"))
    Bundle.model_validate(bundle)
    assert bundle["type"] == "collection"
    for entry in bundle["entry"]:
        validate(entry["resource"])
    patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
    assert [p["id"] for p in patients] == [str(patient.pk)]
    assert "Practitioner" in {e["resource"]["resourceType"] for e in bundle["entry"]}

    pdfs = [n for n in names if n.startswith("documents/")]
    assert len(pdfs) == 1
    assert archive.read(pdfs[0]).startswith(b"%PDF")

    rows = list(csv.DictReader(io.StringIO(archive.read("disclosures.csv").decode())))
    assert any(r["Recipient"] == "Dr Referrer" and r["What"] == summary.title for r in rows)

    index = archive.read("index.html").decode()
    for shown in (patient.display_name, pdfs[0], "Dr Referrer"):
        assert shown in index


def test_only_this_patient_s_resources_are_in_the_bundle(client, clinician, summary):
    other = issued_summary(by=clinician).patient
    archive = download(client, prepare(client, clinician, summary.patient))
    bundle = json.loads(archive.read("record.fhir.json"))
    text = json.dumps(bundle)
    assert f'Patient/{other.pk}"' not in text
    assert other.mrn not in text
    assert len([n for n in archive.namelist() if n.startswith("documents/")]) == 1


def test_the_export_and_its_download_are_disclosures_in_the_audit_trail(client, admin, summary):
    patient = summary.patient
    export = prepare(client, admin, patient)
    made = AuditEvent.objects.get(action=export_services.RECORD_ACTION)
    assert (made.verb, made.patient_id, made.actor_id) == (AuditEvent.Verb.EXPORT, patient.pk, admin.pk)
    download(client, export)
    got = AuditEvent.objects.get(action=export_services.RECORD_DOWNLOAD_ACTION)
    assert (got.verb, got.patient_id, got.actor_id) == (AuditEvent.Verb.EXPORT, patient.pk, admin.pk)
    # The next copy's accounting lists both.
    archive = download(client, prepare(client, admin, patient))
    rows = list(csv.DictReader(io.StringIO(archive.read("disclosures.csv").decode())))
    assert {r["What"] for r in rows} >= {"The whole record", summary.title}
    assert {"Prepared", "Downloaded"} <= {r["How"] for r in rows if r["What"] == "The whole record"}


@pytest.mark.parametrize("who", ["nurse", "frontdesk", "outsider"])
def test_only_prescribers_and_administrators_export_a_record(client, request, summary, who):
    client.force_login(request.getfixturevalue(who))
    patient = summary.patient
    assert client.get(reverse("interop:record-exports", args=[patient.pk])).status_code == 403
    assert client.post(reverse("interop:record-export-new", args=[patient.pk])).status_code == 403
    assert not Export.objects.exists()


def test_someone_without_the_permission_cannot_download_a_prepared_record(client, clinician, nurse, summary):
    export = prepare(client, clinician, summary.patient)
    client.force_login(nurse)
    assert client.get(reverse("interop:record-download", args=[export.pk])).status_code == 403
    assert not AuditEvent.objects.filter(action=export_services.RECORD_DOWNLOAD_ACTION).exists()


def test_the_chart_links_to_the_export_and_the_page_lists_the_copies(client, clinician, summary):
    patient = summary.patient
    client.force_login(clinician)
    chart = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert reverse("interop:record-exports", args=[patient.pk]) in chart
    page = client.get(reverse("interop:record-exports", args=[patient.pk])).content.decode()
    assert "No copy prepared yet." in page
    export = prepare(client, clinician, patient)
    page = client.get(reverse("interop:record-exports", args=[patient.pk])).content.decode()
    assert reverse("interop:record-download", args=[export.pk]) in page


def test_the_list_costs_the_same_queries_however_many_copies(client, clinician, summary, django_assert_max_num_queries):
    patient = summary.patient
    client.force_login(clinician)
    for _ in range(3):
        export_services.export_run(
            export_id=str(export_services.record_export_request(patient=patient, by=clinician).pk)
        )
    with django_assert_max_num_queries(20):
        assert client.get(reverse("interop:record-exports", args=[patient.pk])).status_code == 200


def test_a_record_being_prepared_is_polled_and_not_downloadable(client, clinician, summary):
    client.force_login(clinician)
    export = export_services.record_export_request(patient=summary.patient, by=clinician)
    page = client.get(reverse("interop:record-exports", args=[summary.patient.pk]), HTTP_HX_REQUEST="true")
    assert 'hx-trigger="load delay:2s"' in page.content.decode()
    assert client.get(reverse("interop:record-download", args=[export.pk])).status_code == 404


def test_a_document_the_worker_has_not_rendered_yet_is_rendered_into_the_copy(client, clinician):
    consultation = signed_consultation()
    pending = documents.issue(kind="consultation_summary", subject=consultation, by=consultation.signed_by)
    assert not pending.is_issued
    archive = download(client, prepare(client, clinician, consultation.patient))
    pdfs = [n for n in archive.namelist() if n.startswith("documents/")]
    assert len(pdfs) == 1
    assert archive.read(pdfs[0]).startswith(b"%PDF")
