"""seed_demo's money: what `make bench` seeds on its data set for the money reports to work on.

A year and more of invoices and payments (the appointment history runs about 18 months back), every
visit with something to bill invoiced, some fees waived, and balances left owing in every ageing band
of the outstanding-balances report."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Max, Min, Q
from django.utils import timezone

from billing import rules, selectors
from billing.models import Invoice, InvoiceKind, Payment
from scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_over_a_year_of_invoices_payments_and_aged_balances():
    call_command("seed_demo", patients=120, seed=11, allow_demo_accounts=True)
    today = timezone.localdate()
    invoices = Invoice.objects.filter(kind=InvoiceKind.INVOICE)
    span = invoices.aggregate(first=Min("service_date"), last=Max("service_date"))
    assert span["last"] - span["first"] > timedelta(days=365)
    assert span["first"] < today - timedelta(days=365)
    paid = Payment.objects.filter(kind="payment", status="completed").aggregate(
        first=Min("received_at"), last=Max("received_at")
    )
    assert paid["last"] - paid["first"] > timedelta(days=365)
    # Every visit with something to bill has its invoice: each no-show, each completed visit of a
    # type with a visit fee, each completed infusion with its recorded start and stop.
    billable = Appointment.objects.filter(
        Q(status="no_show")
        | Q(status="completed", appointment_type__code__in=["consultation", "follow_up"])
        | Q(status="completed", infusion_session__started_at__isnull=False)
    )
    assert billable.count() > 100
    assert not billable.exclude(pk__in=invoices.values("appointment_id")).exists()
    assert Invoice.objects.filter(kind=InvoiceKind.CREDIT_NOTE).exists()  # some fees waived
    owing = [
        inv
        for inv in selectors.invoices_with_outstanding(invoices)
        if selectors.annotated(inv, "outstanding_amount") > Decimal("0.00")
    ]
    bands = {rules.ageing_band(issued=inv.issued_at.date(), today=today) for inv in owing}
    assert bands == set(rules.AgeingBand)
