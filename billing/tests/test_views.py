"""The money pages through the browser's eyes: roles, double-clicks, fields in error, query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from billing import selectors
from billing.models import FeeItem, Invoice, Payment
from billing.tests.factories import billing_settings, deposit_fee, fee_schedule, invoice, payment
from documents.models import Document
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


def test_the_desk_sees_the_balance_and_clinicians_see_no_money(client, frontdesk, clinician, nurse, patient):
    invoice(patient, amount="250.00")
    payment(patient, amount="100.00")
    url = reverse("billing:patient-panel", args=[patient.pk])
    for user in (clinician, nurse):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(frontdesk)
    response = client.get(url)
    assert response.status_code == 200
    assert "Balance due: <strong>$150.00</strong>" in response.content.decode()
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert url in detail
    client.force_login(clinician)
    assert url not in client.get(reverse("patients:detail", args=[patient.pk])).content.decode()


def test_the_panel_costs_the_same_queries_however_many_invoices(
    client, frontdesk, patient, django_assert_max_num_queries
):
    location = LocationFactory()
    for _ in range(6):
        invoice(patient, location=location)
        payment(patient, location=location, amount="30.00")
    client.force_login(frontdesk)
    with django_assert_max_num_queries(16):
        assert client.get(reverse("billing:patient-panel", args=[patient.pk])).status_code == 200


def test_a_double_clicked_payment_records_once(client, frontdesk, patient):
    location = LocationFactory()
    inv = invoice(patient, location=location, amount="80.00")
    client.force_login(frontdesk)
    url = reverse("billing:payment-new", args=[patient.pk])
    form = client.get(url).context["form"]
    data = {
        "location": location.pk,
        "method": "cash",
        "amount": "80.00",
        "invoice": str(inv.pk),
        "reference": "",
        "idempotency_key": form.initial["idempotency_key"],
    }
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert Payment.objects.filter(patient=patient).count() == 1
    assert selectors.outstanding_of(inv) == Decimal("0.00")


@pytest.mark.parametrize(("amount", "message"), [("-5", "greater than zero"), ("abc", "such as 150.00")])
def test_a_bad_amount_is_refused_at_its_field(client, frontdesk, patient, amount, message):
    client.force_login(frontdesk)
    url = reverse("billing:payment-new", args=[patient.pk])
    data = {"location": LocationFactory().pk, "method": "cash", "amount": amount, "idempotency_key": "k" * 32}
    response = client.post(url, data)
    assert response.status_code == 200
    assert message in response.context["form"].errors["amount"][0]
    assert not Payment.objects.filter(patient=patient).exists()


def test_over_allocating_is_refused_at_the_amount(client, frontdesk, patient):
    location = LocationFactory()
    pay = payment(patient, location=location, amount="100.00")
    inv = invoice(patient, location=location, amount="40.00")
    client.force_login(frontdesk)
    url = reverse("billing:invoice-allocate", args=[inv.pk])
    response = client.post(url, {"payment": pay.pk, "amount": "40.01"})
    assert "only 40.00 outstanding" in response.context["allocate_form"].errors["amount"][0]
    assert client.post(url, {"payment": pay.pk, "amount": "40.00"}).status_code == 302
    assert selectors.outstanding_of(inv) == Decimal("0.00")


def test_printing_issues_the_invoice_through_the_documents_pipeline(client, frontdesk, clinician, patient):
    inv = invoice(patient)
    client.force_login(frontdesk)
    response = client.post(reverse("billing:invoice-print", args=[inv.pk]), {"document": "invoice"})
    document = Document.objects.get(kind="invoice", subject_id=inv.pk)
    assert response.url == reverse("documents:download", args=[document.pk])
    assert document.snapshot["invoice"]["label"] == inv.label
    client.force_login(clinician)
    assert client.get(reverse("documents:download", args=[document.pk])).status_code == 403


def test_an_administrator_waives_a_fee_with_a_reason_and_the_desk_cannot(client, frontdesk, admin, patient):
    fee = invoice(patient, purpose="no_show", amount="100.00")
    url = reverse("billing:invoice-waive", args=[fee.pk])
    client.force_login(frontdesk)
    assert client.post(url, {"reason": "Weather"}).status_code == 403
    client.force_login(admin)
    refused = client.post(url, {"reason": ""})
    assert "Give a reason" in refused.context["waive_form"].errors["reason"][0]
    assert client.post(url, {"reason": "Weather closed the roads"}).status_code == 302
    assert Invoice.objects.get(credits=fee).total == Decimal("100.00")
    assert selectors.outstanding_of(fee) == Decimal("0.00")


def test_the_appointment_page_shows_the_visits_money_to_the_desk_and_none_to_clinicians(
    client, frontdesk, nurse, clinician, patient
):
    """The deposit and the billable items sit in their own Billing row, for those who take payments;
    nurses and prescribers see neither the row nor a link to a money page."""
    location = LocationFactory()
    billing_settings(location)
    fee_schedule(location)
    deposit_fee(location)
    appt = AppointmentFactory(patient=patient, location=location, appointment_type=appointment_type("infusion"))
    page = reverse("scheduling:appointment-detail", args=[appt.pk])
    money = (reverse("billing:deposit-take", args=[appt.pk]), reverse("billing:visit-items", args=[appt.pk]))
    client.force_login(frontdesk)
    desk = client.get(page).content.decode()
    row = desk.split('id="appointment-billing"', 1)[1].split("</dd>", 1)[0]
    assert all(url in row for url in money)
    assert "Take the $100.00 deposit" in row
    for user in (nurse, clinician):
        client.force_login(user)
        answer = client.get(page)
        assert answer.status_code == 200
        seen = answer.content.decode()
        assert 'id="appointment-billing"' not in seen
        assert not any(url in seen for url in money)
        assert "/billing/" not in seen


def test_an_administrator_prices_a_fee_on_the_settings_page_and_a_bad_one_is_answered_at_its_field(
    client, admin, frontdesk
):
    location = LocationFactory()
    url = reverse("clinic_settings:create", args=["fees"])
    data = {
        "location": location.pk,
        "role": "visit",
        "appointment_type": appointment_type("follow_up").pk,
        "code_system": "cpt",
        "code": "99215",
        "description": "Established patient follow-up, high complexity",
        "price": "240.00",
        "effective_from": "2026-01-01",
        "effective_until": "",
    }
    client.force_login(frontdesk)
    assert client.post(url, data).status_code == 403
    client.force_login(admin)
    for field, value, message in (
        ("price", "-1.00", "cannot be negative"),
        ("effective_until", "2025-12-31", "on or after"),
    ):
        refused = client.post(url, {**data, field: value})
        assert refused.status_code == 200
        assert message in refused.context["form"].errors[field][0]
    assert client.post(url, data).status_code == 302
    fee = FeeItem.objects.get(location=location, code="99215")
    assert fee.price == Decimal("240.00")
    entry = AuditEvent.objects.get(action="billing.feeitem.created")
    assert (entry.actor, entry.data_category) == (admin, "billing")
