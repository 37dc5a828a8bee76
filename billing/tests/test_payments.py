"""Payments: once per key, allocated, refunded; negative and over-allocated amounts refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from billing import selectors, services
from billing.models import Payment
from billing.tests.factories import invoice, key, payment
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def test_the_same_idempotency_key_records_one_payment(patient, frontdesk):
    location = LocationFactory()
    same = key()
    kwargs = {
        "patient": patient,
        "location_id": location.pk,
        "method": "card",
        "amount": Decimal("50"),
        "by": frontdesk,
    }
    first = services.payment_record(idempotency_key=same, **kwargs)
    second = services.payment_record(idempotency_key=same, **kwargs)
    assert first.pk == second.pk
    assert Payment.objects.filter(patient=patient).count() == 1


def test_a_payment_goes_to_the_named_invoice_then_the_oldest_and_the_rest_stays_on_account(patient, frontdesk):
    location = LocationFactory()
    old = invoice(patient, location=location, amount="100.00")
    new = invoice(patient, location=location, amount="80.00")
    pay = payment(patient, location=location, amount="200.00", by=frontdesk, invoice=new)
    assert selectors.outstanding_of(new) == Decimal("0.00")
    assert selectors.outstanding_of(old) == Decimal("0.00")
    assert selectors.unallocated_of(pay) == Decimal("20.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("-20.00")


def test_a_partial_payment_leaves_the_rest_due(patient, frontdesk):
    inv = invoice(patient, amount="300.00")
    payment(patient, amount="120.00", by=frontdesk)
    assert selectors.outstanding_of(inv) == Decimal("180.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("180.00")


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_a_negative_or_zero_payment_is_refused_at_the_amount(patient, frontdesk, amount):
    with pytest.raises(services.BillingError) as refused:
        payment(patient, amount=amount, by=frontdesk)
    assert list(refused.value.message_dict) == ["amount"]


def test_over_allocation_is_refused_at_the_amount(patient, frontdesk):
    location = LocationFactory()
    pay = payment(patient, location=location, amount="100.00", by=frontdesk)  # nothing to allocate to yet
    inv = invoice(patient, location=location, amount="60.00")
    with pytest.raises(services.BillingError) as refused:
        services.payment_allocate(payment=pay, invoice=inv, amount=Decimal("60.01"), by=frontdesk)
    assert "amount" in refused.value.message_dict
    services.payment_allocate(payment=pay, invoice=inv, amount=Decimal("60.00"), by=frontdesk)
    assert selectors.unallocated_of(pay) == Decimal("40.00")


def test_a_card_number_is_never_stored(patient, frontdesk):
    with pytest.raises(services.BillingError) as refused:
        payment(patient, by=frontdesk, method="card", reference="4111 1111 1111 1111")
    assert "reference" in refused.value.message_dict
    assert not Payment.objects.filter(patient=patient).exists()


def test_a_refund_gives_back_only_what_is_not_allocated(patient, frontdesk, admin):
    location = LocationFactory()
    invoice(patient, location=location, amount="70.00")
    pay = payment(patient, location=location, amount="100.00", by=frontdesk)
    with pytest.raises(services.BillingError) as refused:
        services.payment_refund(
            payment=pay, amount=Decimal("30.01"), reason="Overpaid", idempotency_key=key(), by=admin
        )
    assert "amount" in refused.value.message_dict
    same = key()
    refund = services.payment_refund(
        payment=pay, amount=Decimal("30.00"), reason="Overpaid", idempotency_key=same, by=admin
    )
    again = services.payment_refund(
        payment=pay, amount=Decimal("30.00"), reason="Overpaid", idempotency_key=same, by=admin
    )
    assert refund.pk == again.pk
    assert refund.kind == "refund"
    assert selectors.unallocated_of(pay) == Decimal("0.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("0.00")
    with pytest.raises(services.PermissionDenied):
        services.payment_refund(payment=pay, amount=Decimal("1"), reason="x", idempotency_key=key(), by=frontdesk)


def test_a_completed_payment_is_final_in_the_database(patient, frontdesk):
    pay = payment(patient, by=frontdesk)
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=pay.pk).update(amount=Decimal("1.00"))
