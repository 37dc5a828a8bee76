"""The reusable render helper, and the accounting of disclosures as an append-only table."""

from __future__ import annotations

import pytest
from django.db import Error as DatabaseError
from django.db import transaction

from core import pdf
from documents import services, snapshots
from documents.models import Disclosure, DocumentKind
from documents.tests.factories import issued_summary
from documents.tests.helpers import flat, pdf_text

pytestmark = pytest.mark.django_db


def test_render_pdf_gives_other_apps_the_letterhead_header_and_footer(tmp_path, settings):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "report.html").write_text(
        '{% extends "documents/_print_base.html" %}{% block content %}<h1>Ledger for {{ period }}</h1>'
        "<table><thead><tr><th>Entry</th></tr></thead><tbody>{% for n in rows %}<tr><td>row {{ n }}</td></tr>"
        "{% endfor %}</tbody></table>{% endblock %}"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    body = pdf.render_pdf(
        "documents/report.html",
        {"period": "<May>", "rows": range(120), "letterhead": snapshots.letterhead()},
        title="Ledger",
    )
    pages = pdf_text(body)
    assert len(pages) > 1
    assert "Ledger for <May>" in flat(body)
    assert all("Confidential health information" in page for page in pages)
    assert all("Entry" in page for page in pages)  # the table header repeats on every page
    assert settings.CLINIC_NAME in pages[0]


def test_disclosures_are_append_only():
    document = issued_summary()
    disclosure = services.document_disclose(
        document=document, by=document.issued_by, recipient="the patient", purpose=Disclosure.Purpose.PATIENT_COPY
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        Disclosure.objects.filter(pk=disclosure.pk).update(recipient="nobody")
    with pytest.raises(DatabaseError), transaction.atomic():
        Disclosure.objects.filter(pk=disclosure.pk).delete()


def test_a_document_still_rendering_cannot_be_disclosed():
    from documents.tests.factories import signed

    consultation = signed()
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    with pytest.raises(services.DocumentError):
        services.document_disclose(document=document, by=consultation.signed_by, recipient="x", purpose="treatment")
