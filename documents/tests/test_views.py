"""Download, issue and the patient panel: roles, disclosures, versions, bounded queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from consultations.services import amendment_add
from documents import services
from documents.models import Disclosure, Document, DocumentKind
from documents.tests.factories import course, signed
from documents.tests.helpers import flat

pytestmark = pytest.mark.django_db


def _issue(client, patient, kind, subject_id=""):
    return client.post(reverse("documents:issue", args=[patient.pk]), {"kind": kind, "subject_id": subject_id})


def test_clinician_issues_and_downloads_a_consultation_summary_with_a_disclosure(client_as, clinician):
    consultation = signed()
    client = client_as(clinician)
    response = _issue(client, consultation.patient, DocumentKind.CONSULTATION_SUMMARY, consultation.pk)
    document = Document.objects.get(subject_id=consultation.pk, kind=DocumentKind.CONSULTATION_SUMMARY)
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:download", args=[document.pk])
    download = client.get(response["Location"])  # first request renders synchronously
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert consultation.patient.mrn in flat(download.content)
    disclosure = Disclosure.objects.get(document=document)
    assert (disclosure.by, disclosure.patient, disclosure.purpose) == (clinician, consultation.patient, "treatment")
    assert disclosure.pdf_sha256 == Document.objects.get(pk=document.pk).pdf_sha256
    assert AuditEvent.objects.filter(action="documents.document.download", patient_id=consultation.patient.pk).exists()


def test_every_download_is_accounted_with_recipient_and_purpose(client_as, clinician):
    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    client = client_as(clinician)
    url = reverse("documents:download", args=[document.pk])
    client.get(url)
    client.get(url, {"purpose": "referral", "recipient": "Dr Ada Lovelace, <script>"})
    rows = list(Disclosure.objects.filter(document=document).order_by("at", "id"))
    assert [(r.purpose, r.recipient) for r in rows][1] == ("referral", "Dr Ada Lovelace, <script>")
    assert len(rows) == 2


def test_an_unknown_purpose_is_a_bad_request_not_a_500(client_as, clinician):
    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    response = client_as(clinician).get(reverse("documents:download", args=[document.pk]), {"purpose": "gossip"})
    assert response.status_code == 400
    assert not Disclosure.objects.exists()


def test_front_desk_never_downloads_a_clinical_summary(client_as, frontdesk):
    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    client = client_as(frontdesk)
    assert client.get(reverse("documents:download", args=[document.pk])).status_code == 403
    assert _issue(client, consultation.patient, DocumentKind.CONSULTATION_SUMMARY, consultation.pk).status_code == 403
    assert not Disclosure.objects.exists()


def test_front_desk_issues_and_downloads_discharge_instructions(client_as, frontdesk):
    plan = course(sessions=2)
    client = client_as(frontdesk)
    response = _issue(client, plan.patient, DocumentKind.DISCHARGE_INSTRUCTIONS)
    assert response.status_code == 302
    download = client.get(response["Location"])
    assert download.status_code == 200
    text = flat(download.content)
    assert "Do not drive" in text
    assert "988" in text
    assert "until the next day" in text
    assert Disclosure.objects.get().purpose == Disclosure.Purpose.PATIENT_COPY


def test_the_panel_hides_clinical_documents_from_the_front_desk(client_as, frontdesk, clinician):
    consultation = signed()
    services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    services.issue(kind=DocumentKind.DISCHARGE_INSTRUCTIONS, subject=consultation.patient, by=consultation.signed_by)
    url = reverse("documents:patient-panel", args=[consultation.patient.pk])
    front = client_as(frontdesk).get(url).content.decode()
    assert "Discharge instructions" in front
    assert "Consultation summary" not in front
    clinical = client_as(clinician).get(url).content.decode()
    assert "Consultation summary" in clinical
    assert "Discharge instructions" in clinical


def _panel_queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    return len(queries), page


def test_both_versions_stay_listed_after_an_amendment(client_as, clinician, django_assert_max_num_queries):
    consultation = signed()
    by = consultation.signed_by
    services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by)
    client = client_as(clinician)
    url = reverse("documents:patient-panel", args=[consultation.patient.pk])
    client.get(url)
    one_version, _ = _panel_queries(client, url)
    for n in range(3):
        amendment_add(consultation=consultation, by=by, kind="appends", section="other", reason="More", text=f"n{n}")
        services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by)
    # session, user, permissions, patient, audit (one statement), documents, consultations,
    # plans, infusion sessions, disclosures, session save: the same whatever the number of versions.
    with django_assert_max_num_queries(19):
        four_versions, page = _panel_queries(client, url)
    assert four_versions == one_version
    assert page.count("superseded") == 3
    assert "v4" in page
    assert "v1" in page


def test_an_empty_or_foreign_issue_request_is_refused_politely(client_as, clinician):
    consultation = signed()
    other = signed()
    client = client_as(clinician)
    assert _issue(client, consultation.patient, "").status_code == 302
    response = _issue(client, consultation.patient, DocumentKind.CONSULTATION_SUMMARY, other.pk)
    assert response.status_code == 302
    assert "#documents" in response["Location"]
    assert not Document.objects.exists()


def test_course_summary_lists_sessions_outcomes_and_response(client_as, clinician):
    plan = course(sessions=4)
    client = client_as(clinician)
    response = _issue(client, plan.patient, DocumentKind.COURSE_SUMMARY, plan.pk)
    text = flat(client.get(response["Location"]).content)
    assert "Course-of-treatment summary" in text
    assert "4 of 6 infusions completed" in text
    assert "Baseline 10 → latest 3 (-70.0 %)" in text
    assert "Response (≥50 % reduction): yes" in text
    assert "Remission: yes" in text


def test_the_patient_page_and_the_signed_record_offer_the_documents(client_as, clinician, frontdesk):
    consultation = signed()
    panel = reverse("documents:patient-panel", args=[consultation.patient.pk])
    for user in (clinician, frontdesk):
        page = client_as(user).get(reverse("patients:detail", args=[consultation.patient.pk])).content.decode()
        assert f'hx-get="{panel}"' in page
    record = client_as(clinician).get(reverse("consultations:detail", args=[consultation.pk])).content.decode()
    assert reverse("documents:issue", args=[consultation.patient.pk]) in record
    assert "Consultation summary (PDF)" in record


def test_issuing_from_the_card_downloads_and_has_the_card_list_the_new_version(client_as, clinician):
    consultation = signed()
    client = client_as(clinician)
    panel_url = reverse("documents:patient-panel", args=[consultation.patient.pk])
    assert "No document issued yet" in client.get(panel_url, headers={"HX-Request": "true"}).content.decode()
    response = client.post(
        reverse("documents:issue", args=[consultation.patient.pk]),
        {"kind": DocumentKind.CONSULTATION_SUMMARY, "subject_id": consultation.pk},
        headers={"HX-Request": "true"},
    )
    document = Document.objects.get(subject_id=consultation.pk, kind=DocumentKind.CONSULTATION_SUMMARY)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("documents:download", args=[document.pk])
    assert response["HX-Trigger"] == "documentIssued"
    panel = client.get(panel_url, headers={"HX-Request": "true"}).content.decode()
    # The card listens for the event and fetches itself again: the new version is listed.
    assert 'hx-trigger="documentIssued from:body"' in panel
    assert "No document issued yet" not in panel
    assert "v1" in panel


def test_a_refused_issue_from_the_card_says_why_in_the_card(client_as, clinician):
    consultation = signed()
    other = signed()
    response = client_as(clinician).post(
        reverse("documents:issue", args=[consultation.patient.pk]),
        {"kind": DocumentKind.CONSULTATION_SUMMARY, "subject_id": other.pk},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert 'id="documents-error"' in response.content.decode()
    assert "HX-Redirect" not in response
    assert not Document.objects.exists()
