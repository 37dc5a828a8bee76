"""Property: whatever mix of invoices, payments, allocations, credit notes and refunds the desk and
an administrator make, the money reconciles to the cent.

For one patient: charges − credits − payments + refunds (the balance on their page) equals what the
invoices still owe less what the payments have not put anywhere; no invoice owes less than nothing,
no payment has allocated or refunded more than it was, and every invoice's total is its lines' sum.
Refusals (an over-allocation, a refund of allocated money) are fine; anything else is a failure.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import selectors, services
from billing.models import Invoice, InvoiceKind, Payment
from billing.tests.factories import key
from patients.tests.factories import PatientFactory
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

cents = st.integers(min_value=1, max_value=500_00).map(lambda c: Decimal(c) / 100)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("invoice"), cents, st.integers(1, 3)),
        st.tuples(st.just("pay"), cents, st.integers(0, 5)),
        st.tuples(st.just("allocate"), cents, st.integers(0, 5)),
        st.tuples(st.just("credit"), cents, st.integers(0, 5)),
        st.tuples(st.just("refund"), cents, st.integers(0, 5)),
    ),
    min_size=1,
    max_size=14,
)


def _check(patient) -> None:
    invoices = selectors.invoices_with_outstanding(Invoice.objects.filter(patient=patient))
    payments = selectors.payments_with_unallocated(Payment.objects.filter(patient=patient, kind="payment"))
    owed = sum((selectors.annotated(i, "outstanding_amount") for i in invoices), Decimal(0))
    unallocated = sum((selectors.annotated(p, "unallocated_amount") for p in payments), Decimal(0))
    assert selectors.patient_balance(patient.pk).owed == owed - unallocated
    assert all(selectors.annotated(i, "outstanding_amount") >= 0 for i in invoices)
    assert all(selectors.annotated(p, "unallocated_amount") >= 0 for p in payments)
    for inv in Invoice.objects.filter(patient=patient).annotate(line_sum=Sum("lines__amount")):
        assert inv.total == inv.line_sum  # type: ignore[attr-defined]  # the annotation above
        assert inv.total == inv.total.quantize(Decimal("0.01"))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=ops)
def test_invoices_payments_credits_and_refunds_always_reconcile(admin, steps):
    with transaction.atomic():
        patient, location = PatientFactory(), LocationFactory()
        for op, amount, pick in steps:
            invoices = list(Invoice.objects.filter(patient=patient, kind=InvoiceKind.INVOICE).order_by("id"))
            payments = list(Payment.objects.filter(patient=patient, kind="payment").order_by("id"))
            try:
                if op == "invoice":
                    services.invoice_issue(
                        patient=patient,
                        location_id=location.pk,
                        lines=[services.LineDraft(description="Item", unit_price=amount)] * pick,
                        by=admin,
                    )
                elif op == "pay":
                    named = invoices[pick % len(invoices)] if invoices and pick else None
                    services.payment_record(
                        patient=patient,
                        location_id=location.pk,
                        method="cash",
                        amount=amount,
                        idempotency_key=key(),
                        by=admin,
                        invoice=named,
                    )
                elif op == "allocate" and invoices and payments:
                    services.payment_allocate(
                        payment=payments[pick % len(payments)],
                        invoice=invoices[pick % len(invoices)],
                        amount=amount,
                        by=admin,
                    )
                elif op == "credit" and invoices:
                    services.credit_note_issue(
                        invoice=invoices[pick % len(invoices)], amount=amount, reason="Fix", by=admin
                    )
                elif op == "refund" and payments:
                    services.payment_refund(
                        payment=payments[pick % len(payments)],
                        amount=amount,
                        reason="Back",
                        idempotency_key=key(),
                        by=admin,
                    )
            except services.BillingError:
                pass
            _check(patient)
        transaction.set_rollback(True)
