"""Issue → render after commit → immutable, hashed PDF that reads back with the right content."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.db import Error as DatabaseError
from django.db import transaction
from pypdf import PdfReader

from consultations.services import amendment_add
from documents import services
from documents.models import Document, DocumentKind, RenderStatus
from documents.tests.factories import issued_summary, signed
from documents.tests.helpers import flat, pdf_text

pytestmark = pytest.mark.django_db


def test_consultation_summary_shows_the_signed_record_on_every_page():
    document = issued_summary()
    snap = document.snapshot
    pages = pdf_text(services.pdf_bytes(document))
    text = flat(services.pdf_bytes(document))
    patient = snap["patient"]
    for page_number, page in enumerate(pages, start=1):
        squashed = " ".join(page.split())
        assert patient["name"] in squashed
        assert f"MRN {patient['mrn']}" in squashed
        assert f"DOB {patient['date_of_birth']}" in squashed
        assert f"Page {page_number} of {len(pages)}" in squashed
        assert "Confidential health information" in squashed
    assert "Consultation summary" in text
    assert "Patient Health Questionnaire" in text or "PHQ-9" in text
    assert "10 / 27" in text
    assert "moderate" in text
    assert "Eligible: proceed to a treatment plan" in text
    assert f"Electronically signed by {snap['signature']['signed_by']}" in text


def test_the_stored_pdf_is_hashed_and_the_row_is_locked_once_issued():
    document = issued_summary()
    body = services.pdf_bytes(document)
    assert document.status == RenderStatus.RENDERED
    assert document.pdf_sha256 == hashlib.sha256(body).hexdigest()
    assert document.size_bytes == len(body)
    assert document.page_count >= 1
    with pytest.raises(DatabaseError), transaction.atomic():
        Document.objects.filter(pk=document.pk).update(pdf=b"%PDF-forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        Document.objects.filter(pk=document.pk).delete()
    assert services.pdf_bytes(Document.objects.get(pk=document.pk)) == body


def test_a_pending_snapshot_cannot_be_rewritten_either():
    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    with pytest.raises(DatabaseError), transaction.atomic():
        Document.objects.filter(pk=document.pk).update(snapshot={"patient": {"name": "Someone else"}})


def test_pdf_is_tagged_with_title_and_language():
    document = issued_summary()
    reader = PdfReader(io.BytesIO(services.pdf_bytes(document)))
    assert reader.metadata.title == document.title
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert root["/MarkInfo"]["/Marked"]
    assert "/StructTreeRoot" in root


def test_reissuing_an_unchanged_record_returns_the_same_version():
    consultation = signed()
    first = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    again = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    assert again.pk == first.pk
    assert Document.objects.filter(subject_id=consultation.pk).count() == 1


def test_an_amendment_issues_a_new_version_that_supersedes_and_keeps_the_old():
    consultation = signed()
    by = consultation.signed_by
    first = services.document_render(
        document_id=services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by).pk
    )
    amendment_add(
        consultation=consultation, by=by, kind="amends", section="medical", reason="Typo", text="Asthma, mild."
    )
    second = services.document_render(
        document_id=services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by).pk
    )
    assert (second.version, second.supersedes_id) == (2, first.pk)
    text = flat(services.pdf_bytes(second))
    assert "Asthma, mild." in text
    assert "replaces version 1" in text
    assert "Asthma, mild." not in flat(services.pdf_bytes(Document.objects.get(pk=first.pk)))
    assert Document.objects.filter(subject_id=consultation.pk, kind=first.kind).count() == 2


def test_rendering_is_queued_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("documents.tasks.render_document.delay", queued.append)  # the broker edge
    consultation = signed()
    with django_capture_on_commit_callbacks(execute=True):
        document = services.issue(
            kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by
        )
        assert queued == []
    assert queued == [document.pk]


def test_the_task_renders_and_a_redelivery_changes_nothing():
    from documents.tasks import render_document

    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    assert render_document(document.pk) == RenderStatus.RENDERED
    first = Document.objects.get(pk=document.pk)
    assert render_document(document.pk) == RenderStatus.RENDERED
    assert Document.objects.get(pk=document.pk).pdf_sha256 == first.pdf_sha256


def test_with_a_documents_storage_configured_the_pdf_goes_there(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    document = issued_summary()
    assert document.pdf is None
    assert document.storage_name.startswith("documents/")
    body = services.pdf_bytes(Document.objects.get(pk=document.pk))
    assert (tmp_path / document.storage_name).read_bytes() == body
    assert hashlib.sha256(body).hexdigest() == document.pdf_sha256


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_first_issues_make_one_version():
    import threading

    from django.db import connection

    from consultations.tests.factories import ensure_protocol_library

    ensure_protocol_library()
    consultation = signed()
    barrier = threading.Barrier(2)
    made, errors = [], []

    def issue():
        try:
            barrier.wait(timeout=10)
            made.append(
                services.issue(
                    kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by
                ).pk
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(made)) == 1
    assert Document.objects.filter(subject_id=consultation.pk).count() == 1
