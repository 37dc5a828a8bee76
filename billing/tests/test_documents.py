"""The invoice and the superbill through the documents pipeline, read back from the PDF."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.tests.factories import billing_settings, fee_schedule, key
from consultations.tests.factories import signed_consultation
from documents import services as documents
from documents.models import Document, DocumentKind
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


def _visit(patient, location, clinician, start, type_code="infusion"):
    return AppointmentFactory(
        patient=patient,
        location=location,
        clinician=clinician,
        appointment_type=appointment_type(type_code),
        start=start,
        end=start + timedelta(hours=2),
    )


def test_a_superbill_for_a_period_lists_every_coded_visit_in_the_range_and_reads_back(frontdesk, clinician):
    location = LocationFactory(name="Midtown", time_zone="UTC")
    billing_settings(location, tax_id="12-3456789")
    fee_schedule(location)
    patient = signed_consultation(by=clinician, icd10_codes="F33.2").patient
    today = timezone.localdate(timezone=location.zone)
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    first = _visit(patient, location, clinician, noon - timedelta(days=20))
    second = _visit(patient, location, clinician, noon - timedelta(days=6))
    before = _visit(patient, location, clinician, noon - timedelta(days=60), type_code="follow_up")
    services.invoice_for_visit(appointment=before)  # outside the range
    services.invoice_for_visit(appointment=first, infused=(first.start, first.start + timedelta(minutes=95)))
    services.invoice_for_visit(appointment=second, infused=(second.start, second.start + timedelta(minutes=40)))
    missed = _visit(patient, location, clinician, noon - timedelta(days=3))
    services.fee_for_outcome(appointment=missed, purpose="no_show")  # a fee: no code, not on a superbill
    # Paid oldest first: the visit before the range (180.00), then 500.00 of the range's 800.00.
    services.payment_record(
        patient=patient, location_id=location.pk, method="cash", amount=680, idempotency_key=key(), by=frontdesk
    )
    period = services.superbill_period(
        patient=patient, date_from=today - timedelta(days=30), date_to=today, by=frontdesk
    )
    text = _rendered(DocumentKind.SUPERBILL, period, frontdesk)
    for expected in (
        f"Dates of service {today - timedelta(days=30):%m/%d/%Y} to {today:%m/%d/%Y}",
        "2 visits",
        f"{first.start.date():%m/%d/%Y}",
        f"{second.start.date():%m/%d/%Y}",
        "CPT 96366",  # the first visit's 95 minutes
        "HCPCS J3490",
        "12-3456789",
        clinician.prescriber_profile.npi,
        "F33.2",
        "Total charges $800.00",  # 300 + 100 + 50, and 300 + 50
        "Amount paid $500.00",
        "Balance due $300.00",
    ):
        assert expected in text, expected
    assert f"{before.start.date():%m/%d/%Y}" not in text
    assert "99214" not in text
    assert "No-show" not in text


@pytest.mark.parametrize(
    ("case", "days_from", "days_to", "field"),
    [
        ("the end before the start", 5, 10, "date_to"),
        ("more than a year", 400, 0, "date_to"),
        ("in the future", -3, -10, "date_from"),
        ("no visit in the range", 30, 0, "__all__"),
    ],
)
def test_a_superbill_period_that_cannot_be_issued_is_refused_at_its_field(
    frontdesk, patient, case, days_from, days_to, field
):
    today = timezone.localdate()
    with pytest.raises(services.BillingError) as refused:
        services.superbill_period(
            patient=patient,
            date_from=today - timedelta(days=days_from),
            date_to=today - timedelta(days=days_to),
            by=frontdesk,
        )
    assert field in refused.value.message_dict, case


def test_the_desk_downloads_a_period_superbill_from_the_patients_money_page(client, frontdesk, clinician, patient):
    location = LocationFactory(time_zone="UTC")
    fee_schedule(location)
    appt = _visit(patient, location, clinician, timezone.now() - timedelta(days=2))
    services.invoice_for_visit(appointment=appt, infused=(appt.start, appt.start + timedelta(minutes=45)))
    url = reverse("billing:superbill-period", args=[patient.pk])
    client.force_login(clinician)
    assert client.get(url).status_code == 403
    client.force_login(frontdesk)
    assert url in client.get(reverse("billing:patient-panel", args=[patient.pk])).content.decode()
    for bad, field in (
        ({"date_from": "", "date_to": "2026-01-31"}, "date_from"),
        ({"date_from": "31/31/2026", "date_to": "2026-01-31"}, "date_from"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
    ):
        response = client.post(url, bad)
        assert response.status_code == 200
        assert response.context["form"].errors[field], bad
        assert response.context["form"]["date_from"].value() == bad["date_from"]
    today = timezone.localdate()
    response = client.post(url, {"date_from": f"{today - timedelta(days=7):%Y-%m-%d}", "date_to": f"{today:%Y-%m-%d}"})
    assert response.status_code == 302
    document = Document.objects.get(kind=DocumentKind.SUPERBILL, patient=patient)
    assert response["Location"] == reverse("documents:download", args=[document.pk])
