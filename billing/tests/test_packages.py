"""Packages draw down by sessions and refund the unused ones pro rata; deposits pay their visit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import selectors, services
from billing.models import Invoice, PackageRedemption
from billing.tests.factories import billing_settings, deposit_fee, fee_schedule, key, plan
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


def _infusion(patient, location, days_ago: int):
    start = timezone.now() - timedelta(days=days_ago, hours=2)
    return AppointmentFactory(
        patient=patient,
        location=location,
        appointment_type=appointment_type("infusion"),
        start=start,
        end=start + timedelta(hours=2),
        status="completed",
    )


def _bill(appt, minutes: int = 45):
    started = appt.start + timedelta(minutes=5)
    return services.invoice_for_visit(appointment=appt, infused=(started, started + timedelta(minutes=minutes)))


def test_sessions_draw_the_package_down_at_its_session_price_with_the_codes_kept(patient, frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    purchase = services.package_sell(
        patient=patient,
        plan=plan(location, sessions=3, price="1000.00"),
        method="card",
        idempotency_key=key(),
        by=frontdesk,
    )
    invoices = [_bill(_infusion(patient, location, days_ago=d)) for d in (3, 2, 1)]
    assert [inv.total for inv in invoices] == [Decimal("333.34"), Decimal("333.33"), Decimal("333.33")]
    assert [line.code for line in invoices[0].lines.all()] == ["96365", "J3490"]
    assert all(selectors.outstanding_of(inv) == Decimal("0.00") for inv in invoices)
    assert PackageRedemption.objects.filter(purchase=purchase).count() == 3
    assert selectors.unallocated_of(purchase.payment) == Decimal("0.00")
    # The fourth session is not covered: billed at the fee schedule, owed.
    fourth = _bill(_infusion(patient, location, days_ago=0))
    assert fourth.total == Decimal("350.00")
    assert selectors.outstanding_of(fourth) == Decimal("350.00")
    assert selectors.patient_balance(patient.pk).owed == Decimal("350.00")


def test_closing_a_package_refunds_its_unused_sessions_pro_rata(patient, frontdesk, admin):
    location = LocationFactory()
    fee_schedule(location)
    purchase = services.package_sell(
        patient=patient,
        plan=plan(location, sessions=6, price="2400.00"),
        method="cash",
        idempotency_key=key(),
        by=frontdesk,
    )
    _bill(_infusion(patient, location, days_ago=2))
    _bill(_infusion(patient, location, days_ago=1))
    with pytest.raises(services.PermissionDenied):
        services.package_close(purchase=purchase, reason="Moving away", by=frontdesk)
    refund = services.package_close(purchase=purchase, reason="Moving away", by=admin)
    assert refund.amount == Decimal("1600.00")  # four of six sessions
    assert selectors.patient_balance(patient.pk).owed == Decimal("0.00")
    with pytest.raises(services.BillingError):
        services.package_close(purchase=purchase, reason="again", by=admin)


def test_a_clinic_that_forfeits_unused_sessions_refunds_nothing(patient, frontdesk, admin):
    location = LocationFactory()
    billing_settings(location, refund_unused_sessions=False)
    purchase = services.package_sell(
        patient=patient, plan=plan(location), method="cash", idempotency_key=key(), by=frontdesk
    )
    assert services.package_close(purchase=purchase, reason="Expired", by=admin) is None


def test_an_expired_package_pays_for_nothing(patient, frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    services.package_sell(
        patient=patient, plan=plan(location, days=1), method="cash", idempotency_key=key(), by=frontdesk
    )
    late = _bill(_infusion(patient, location, days_ago=-3))
    assert late.total == Decimal("350.00")


def test_a_package_prepayment_cannot_pay_other_invoices_or_be_refunded_directly(patient, frontdesk, admin):
    location = LocationFactory()
    purchase = services.package_sell(
        patient=patient, plan=plan(location), method="cash", idempotency_key=key(), by=frontdesk
    )
    other = services.invoice_issue(
        patient=patient, location_id=location.pk, lines=[services.LineDraft(description="x", unit_price=10)], by=admin
    )
    assert selectors.outstanding_of(other) == Decimal("10.00")
    with pytest.raises(services.BillingError):
        services.payment_allocate(payment=purchase.payment, invoice=other, amount=Decimal("10"), by=frontdesk)
    with pytest.raises(services.BillingError):
        services.payment_refund(
            payment=purchase.payment, amount=Decimal("1"), reason="x", idempotency_key=key(), by=admin
        )


def test_a_deposit_taken_at_booking_pays_the_no_show_fee(client, patient, frontdesk):
    location = LocationFactory()
    billing_settings(location)
    fee_schedule(location)
    deposit_fee(location)
    appt = AppointmentFactory(patient=patient, location=location, appointment_type=appointment_type("infusion"))
    client.force_login(frontdesk)
    detail = client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    url = reverse("billing:deposit-take", args=[appt.pk])
    assert url in detail
    assert "Take the $100.00 deposit" in detail
    form = client.get(url).context["form"]
    assert form.initial["amount"] == Decimal("100.00")
    data = {"method": "card", "amount": "100.00", "reference": "", "idempotency_key": form.initial["idempotency_key"]}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert url not in client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    type(appt).objects.filter(pk=appt.pk).update(status="no_show")
    appt.refresh_from_db()
    fee = services.fee_for_outcome(appointment=appt, purpose="no_show")
    assert selectors.outstanding_of(fee) == Decimal("0.00")
    assert Invoice.objects.filter(patient=patient).count() == 1
    assert selectors.patient_balance(patient.pk).owed == Decimal("0.00")


def test_the_desk_sells_a_package_from_the_patient_page(client, patient, frontdesk):
    location = LocationFactory()
    offered = plan(location)
    client.force_login(frontdesk)
    url = reverse("billing:package-sell", args=[patient.pk])
    form = client.get(url).context["form"]
    data = {
        "plan": offered.pk,
        "method": "hsa_fsa",
        "reference": "",
        "idempotency_key": form.initial["idempotency_key"],
    }
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    panel = client.get(reverse("billing:patient-panel", args=[patient.pk])).content.decode()
    assert "0 of 6</strong> sessions used" in panel
    assert patient.packages.count() == 1


def test_a_package_paid_ahead_is_held_for_its_sessions_not_counted_on_account(patient, frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    services.package_sell(
        patient=patient, plan=plan(location, sessions=6, price="2400.00"), method="cash", idempotency_key=key(),
        by=frontdesk,
    )  # fmt: skip
    _bill(_infusion(patient, location, days_ago=1))  # one session drawn
    services.invoice_issue(
        patient=patient,
        location_id=location.pk,
        lines=[services.LineDraft(description="Injection", unit_price=Decimal("45.00"))],
        by=frontdesk,
    )
    balance = selectors.patient_balance(patient.pk)
    assert balance.held == Decimal("2000.00")  # five sessions to come
    assert balance.due == Decimal("45.00")  # the package does not pay the injection
    assert balance.owed == Decimal("-1955.00")  # all money counted
