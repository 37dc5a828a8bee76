"""The invoice and the superbill through the documents pipeline, read back from the PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing import services
from billing.tests.factories import billing_settings, fee_schedule
from consultations.tests.factories import signed_consultation
from documents import services as documents
from documents.models import DocumentKind
from documents.tests.helpers import flat
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


def _rendered(kind, invoice, by):
    document = documents.issue(kind=kind, subject=invoice, by=by)
    return flat(documents.pdf_bytes(documents.document_render(document_id=document.pk)))


def test_a_superbill_reads_back_with_provider_patient_diagnoses_codes_units_and_payments(frontdesk, clinician):
    location = LocationFactory(name="Midtown")
    billing_settings(location, tax_id="12-3456789")
    fee_schedule(location)
    consultation = signed_consultation(by=clinician, icd10_codes="F33.2, F41.1")
    patient = consultation.patient
    start = timezone.now() - timedelta(hours=4)
    appt = AppointmentFactory(
        patient=patient,
        location=location,
        clinician=clinician,
        appointment_type=appointment_type("infusion"),
        start=start,
        end=start + timedelta(hours=2),
    )
    invoice = services.invoice_for_visit(appointment=appt, infused=(start, start + timedelta(minutes=95)))
    services.payment_record(
        patient=patient,
        location_id=location.pk,
        method="hsa_fsa",
        amount=invoice.total,
        idempotency_key="superbill-test-key",
        by=frontdesk,
    )
    text = _rendered(DocumentKind.SUPERBILL, invoice, frontdesk)
    profile = clinician.prescriber_profile
    for expected in (
        "Superbill",
        "12-3456789",
        profile.npi,
        profile.get_credential_display(),
        patient.mrn,
        "F33.2",
        "F41.1",
        "CPT 96365",
        "CPT 96366",
        "HCPCS J3490",
        "$300.00",
        "$100.00",
        "$450.00",  # paid in full: 300 + 100 + 50
        invoice.label,
    ):
        assert expected in text, expected
    assert "96374" not in text


def test_an_invoice_pdf_shows_its_lines_total_and_balance(frontdesk, patient):
    location = LocationFactory()
    invoice = services.invoice_issue(
        patient=patient,
        location_id=location.pk,
        lines=[services.LineDraft(description="No-show fee: Infusion", unit_price=100)],
        by=frontdesk,
        purpose="no_show",
    )
    text = _rendered(DocumentKind.INVOICE, invoice, frontdesk)
    assert f"Invoice {invoice.label}" in text
    assert "No-show fee: Infusion" in text
    assert "Balance due $100.00" in text


def test_an_invoice_without_codes_has_no_superbill(frontdesk, patient):
    invoice = services.invoice_issue(
        patient=patient,
        location_id=LocationFactory().pk,
        lines=[services.LineDraft(description="Late-cancellation fee", unit_price=75)],
        by=frontdesk,
    )
    with pytest.raises(documents.DocumentError, match="coded services"):
        documents.issue(kind=DocumentKind.SUPERBILL, subject=invoice, by=frontdesk)
