"""Invoices from what happened, gapless numbers, immutability, credit notes and waivers."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from billing import integration, selectors, services
from billing.models import Invoice, InvoiceLine, InvoicePurpose
from billing.tests.factories import billing_settings, deposit_fee, fee_schedule, invoice, key, payment, plan
from consultations.tests.factories import ensure_protocol_library
from infusions import services as infusions
from infusions.models import InfusionSession
from infusions.tests.factories import S, advance, nurse, open_session, set_policy
from scheduling.models import Appointment, AppointmentStatusChange
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


def _infusion(location, *, start=None):
    start = start or timezone.now() - timedelta(hours=3)
    return AppointmentFactory(
        location=location, appointment_type=appointment_type("infusion"), start=start, end=start + timedelta(hours=2)
    )


@pytest.mark.parametrize(
    ("minutes", "codes"),
    [
        (15, [("96374", 1), ("J3490", 1)]),
        (31, [("96365", 1), ("J3490", 1)]),
        (61, [("96365", 1), ("J3490", 1)]),
        (91, [("96365", 1), ("96366", 1), ("J3490", 1)]),
    ],
)
def test_a_completed_infusion_bills_its_recorded_time_in_cpt_units(minutes, codes):
    location = LocationFactory()
    fee_schedule(location)
    appt = _infusion(location)
    started = appt.start + timedelta(minutes=5)
    inv = services.invoice_for_visit(appointment=appt, infused=(started, started + timedelta(minutes=minutes)))
    assert [(line.code, line.units) for line in inv.lines.all()] == codes
    assert inv.total == sum((line.amount for line in inv.lines.all()), Decimal(0))
    assert inv.purpose == InvoicePurpose.VISIT
    assert inv.issued_by is None


@pytest.mark.parametrize(("pause", "codes"), [(None, ["96365", "96366"]), ((30, 45), ["96365"])])
def test_a_pause_recorded_at_the_chair_is_not_billed_as_infusion_time(pause, codes):
    """100 minutes from start to stop bill an additional hour; paused for 15 of them, 85 ran: none."""
    ensure_protocol_library()
    set_policy()
    rn, checker = nurse(), nurse()
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=checker)
    t0 = timezone.now() - timedelta(minutes=110)
    session = infusions.session_transition(session=session, to=S.INFUSING, by=rn, container_lot="LOT-1", at=t0)
    if pause is not None:
        paused, resumed = (t0 + timedelta(minutes=m) for m in pause)
        infusions.session_transition(session=session, to=S.PAUSED, by=rn, at=paused, reason="Nausea")
        session = InfusionSession.objects.get(pk=session.pk)
        session = infusions.session_transition(session=session, to=S.INFUSING, by=rn, at=resumed)
    infusions.session_transition(
        session=session, to=S.COMPLETED, by=rn, at=t0 + timedelta(minutes=100), planned_dose_delivered=True
    )
    appt = Appointment.objects.get(pk=session.appointment_id)
    fee_schedule(appt.location)
    inv = services.invoice_for_visit(appointment=appt)
    assert [line.code for line in inv.lines.all() if line.code.startswith("963")] == codes


@pytest.mark.parametrize(("stopped_after", "codes"), [(10, ["96374"]), (20, ["96365"])])
def test_an_infusion_stopped_early_bills_the_time_it_ran(stopped_after, codes):
    """Stopped at the chair before the planned dose ran: billed from the start to the stop, no more."""
    ensure_protocol_library()
    set_policy()
    rn, checker = nurse(), nurse()
    session = advance(open_session(by=rn), S.CLEARED, nurse_user=rn, verifier=checker)
    t0 = timezone.now() - timedelta(minutes=110)
    session = infusions.session_transition(session=session, to=S.INFUSING, by=rn, container_lot="LOT-1", at=t0)
    infusions.session_transition(
        session=session,
        to=S.STOPPED_EARLY,
        by=rn,
        at=t0 + timedelta(minutes=stopped_after),
        reason_code="adverse_event",
        reason="Dissociation the patient could not tolerate",
    )
    appt = Appointment.objects.get(pk=session.appointment_id)
    fee_schedule(appt.location)
    inv = services.invoice_for_visit(appointment=appt)
    assert [line.code for line in inv.lines.all() if line.code.startswith("963")] == codes


def test_old_prices_stay_on_old_invoices_and_a_new_price_applies_from_its_date():
    location = LocationFactory()
    fees = fee_schedule(location)
    appt = AppointmentFactory(location=location, start=timezone.now() - timedelta(days=1))
    first = services.invoice_for_visit(appointment=appt)
    fees["consultation"].__class__.objects.filter(pk=fees["consultation"].pk).update(
        effective_until=timezone.localdate() - timedelta(days=400)
    )
    type(fees["consultation"]).objects.create(
        location=location,
        role="visit",
        code="99205",
        description="New patient evaluation",
        price=Decimal("400.00"),
        appointment_type=appointment_type("consultation"),
        effective_from=timezone.localdate() - timedelta(days=399),
    )
    later = AppointmentFactory(location=location, start=timezone.now() - timedelta(hours=5))
    second = services.invoice_for_visit(appointment=later)
    assert (first.total, second.total) == (Decimal("350.00"), Decimal("400.00"))
    assert Invoice.objects.get(pk=first.pk).total == Decimal("350.00")


@pytest.mark.parametrize(
    ("days_before_change", "price"),
    [(30, "350.00"), (1, "350.00"), (0, "400.00"), (-5, "400.00")],
)
def test_a_visit_is_billed_at_the_price_in_force_on_its_day_whenever_it_is_invoiced(days_before_change, price):
    """The fee table by date of service: the old price up to the day before a new one, the new one
    from its first day, even for a visit invoiced after the change."""
    location = LocationFactory()
    fees = fee_schedule(location)
    change = timezone.localdate() - timedelta(days=10)
    type(fees["consultation"]).objects.filter(pk=fees["consultation"].pk).update(
        effective_until=change - timedelta(days=1)
    )
    type(fees["consultation"]).objects.create(
        location=location,
        role="visit",
        code="99205",
        description="New patient evaluation",
        price=Decimal("400.00"),
        appointment_type=appointment_type("consultation"),
        effective_from=change,
    )
    day = change - timedelta(days=days_before_change)
    start = datetime.combine(day, time(12), tzinfo=location.zone)
    visit = AppointmentFactory(
        location=location,
        appointment_type=appointment_type("consultation"),
        start=start,
        end=start + timedelta(hours=1),
    )
    billed = services.invoice_for_visit(appointment=visit)
    assert [(line.code, line.unit_price) for line in billed.lines.all()] == [("99205", Decimal(price))]
    assert billed.service_date == day


def test_numbers_are_gapless_per_location_and_a_rolled_back_issue_gives_its_number_back(patient):
    here, there = LocationFactory(), LocationFactory()
    a = invoice(patient, location=here)
    try:
        with transaction.atomic():
            invoice(patient, location=here)
            raise RuntimeError("the rest of the request failed")
    except RuntimeError:
        pass
    b = invoice(patient, location=here)
    c = invoice(patient, location=there)
    assert (a.number, b.number, c.number) == (1, 2, 1)


def test_an_issued_invoice_and_its_lines_cannot_be_changed_or_deleted_in_the_database(patient):
    inv = invoice(patient)
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(total=Decimal("1.00"))
    with pytest.raises(DatabaseError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=inv).update(description="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).delete()
    assert Invoice.objects.get(pk=inv.pk).total == Decimal("100.00")


def test_a_credit_note_corrects_an_invoice_and_releases_what_was_paid_beyond_what_is_owed(patient, admin):
    location = LocationFactory()
    inv = invoice(patient, location=location, amount="300.00")
    pay = payment(patient, location=location, amount="200.00", by=admin)
    note = services.credit_note_issue(invoice=inv, amount=Decimal("150.00"), reason="Stopped early", by=admin)
    assert note.kind == "credit_note"
    assert note.credits_id == inv.pk
    assert note.number == 2
    # 100 was owed: it is cancelled first; the other 50 comes back onto the payment.
    assert selectors.outstanding_of(inv) == Decimal("0.00")
    assert selectors.unallocated_of(pay) == Decimal("50.00")
    with pytest.raises(services.BillingError) as refused:
        services.credit_note_issue(invoice=inv, amount=Decimal("150.01"), reason="Too much", by=admin)
    assert "amount" in refused.value.message_dict


def test_the_front_desk_cannot_issue_credit_notes(patient, frontdesk):
    inv = invoice(patient)
    with pytest.raises(services.PermissionDenied):
        services.credit_note_issue(invoice=inv, amount=Decimal("1"), reason="x", by=frontdesk)


def test_a_no_show_is_charged_once_by_the_transition_and_an_administrator_waives_it(patient, admin):
    location = LocationFactory()
    billing_settings(location)
    appt = AppointmentFactory(patient=patient, location=location, status="no_show")
    integration.on_appointment_changed(appt.pk)
    integration.on_appointment_changed(appt.pk)
    fee = Invoice.objects.get(appointment=appt)
    assert (fee.purpose, fee.total) == (InvoicePurpose.NO_SHOW, Decimal("100.00"))
    with pytest.raises(services.BillingError) as refused:
        services.fee_waive(invoice=fee, reason="  ", by=admin)
    assert "reason" in refused.value.message_dict
    note = services.fee_waive(invoice=fee, reason="Snowstorm closed the roads", by=admin)
    assert note.total == Decimal("100.00")
    assert AuditEvent.objects.filter(action="billing.fee.waived", actor=admin).exists()
    with pytest.raises(services.BillingError):
        services.fee_waive(invoice=fee, reason="again", by=admin)


def _cancel(appt, *, hours_before: float, from_status: str = "booked", reason: str = "Patient called"):
    appt.status, appt.cancel_reason = "cancelled", reason
    appt.save(update_fields=["status", "cancel_reason"])
    AppointmentStatusChange.objects.create(
        appointment=appt, from_status=from_status, to_status="cancelled", at=appt.start - timedelta(hours=hours_before)
    )


@pytest.mark.parametrize(
    ("hours_before", "from_status", "reason", "charged"),
    [
        (2, "booked", "Patient called", True),
        (2, "confirmed", "Patient called", True),
        (30, "booked", "Patient called", False),
        (2, "checked_in", "Not fasted", False),
        (2, "booked", "rescheduled", False),
    ],
)
def test_a_late_cancellation_inside_the_locations_window_is_charged(hours_before, from_status, reason, charged):
    location = LocationFactory()
    billing_settings(location, late_cancel_hours=24)
    appt = AppointmentFactory(location=location)
    _cancel(appt, hours_before=hours_before, from_status=from_status, reason=reason)
    integration.on_appointment_changed(appt.pk)
    fees = list(Invoice.objects.filter(appointment=appt).values_list("purpose", "total"))
    assert fees == ([(InvoicePurpose.LATE_CANCEL, Decimal("75.00"))] if charged else [])


def test_no_fee_is_charged_when_the_location_sets_none(patient):
    location = LocationFactory()
    appt = AppointmentFactory(patient=patient, location=location, status="no_show")
    integration.on_appointment_changed(appt.pk)
    assert not Invoice.objects.filter(appointment=appt).exists()


def test_every_money_action_is_audited(patient, admin, frontdesk):
    """Each way money moves leaves its own entry about the patient (category billing): an invoice,
    a payment and what it was put against, a credit note, a refund, a waiver, a package sold, drawn
    down and closed, and a deposit taken at booking and put against the visit's fee."""
    location = LocationFactory()
    billing_settings(location)
    fee_schedule(location)
    deposit_fee(location)
    first = invoice(patient, location=location, by=admin)
    paid = payment(patient, location=location, by=frontdesk, amount="150.00")  # 100 to the invoice
    second = invoice(patient, location=location, by=admin, amount="30.00")
    services.payment_allocate(payment=paid, invoice=second, amount=Decimal("30.00"), by=frontdesk)
    services.credit_note_issue(invoice=first, amount=Decimal("10.00"), reason="Overcharged", by=admin)
    services.payment_refund(
        payment=paid, amount=Decimal("10.00"), reason="Overcharged", idempotency_key=key(), by=admin
    )
    services.fee_waive(invoice=invoice(patient, location=location, purpose="no_show"), reason="Storm", by=admin)
    bought = services.package_sell(
        patient=patient, plan=plan(location), method="card", idempotency_key=key(), by=frontdesk
    )
    session = _infusion(location)
    type(session).objects.filter(pk=session.pk).update(patient=patient, status="completed")
    session.refresh_from_db()
    started = session.start + timedelta(minutes=5)
    services.invoice_for_visit(appointment=session, infused=(started, started + timedelta(minutes=45)))
    services.package_close(purchase=bought, reason="Moving away", by=admin)
    missed = AppointmentFactory(patient=patient, location=location, appointment_type=appointment_type("infusion"))
    payment(patient, location=location, by=frontdesk, amount="100.00", deposit_for=missed)
    type(missed).objects.filter(pk=missed.pk).update(status="no_show")
    missed.refresh_from_db()
    fee = services.fee_for_outcome(appointment=missed, purpose=InvoicePurpose.NO_SHOW, by=frontdesk)
    assert selectors.outstanding_of(fee) == Decimal("0.00")  # the deposit paid it

    entries = AuditEvent.objects.filter(action__startswith="billing.")
    assert set(entries.values_list("data_category", flat=True)) == {"billing"}
    assert not entries.exclude(patient_id=patient.pk).exists()
    assert {
        "billing.invoice.issued",
        "billing.credit_note.issued",
        "billing.payment.recorded",
        "billing.payment.allocated",
        "billing.payment.refunded",
        "billing.fee.waived",
        "billing.package.sold",
        "billing.package.session_used",
        "billing.package.closed",
        "billing.deposit.applied",
    } <= set(entries.values_list("action", flat=True))
    applied = entries.get(action="billing.deposit.applied")
    assert (applied.actor, applied.changes["invoice"], applied.changes["amount"]) == (frontdesk, fee.label, "100.00")
    assert first.label.startswith("INV-")
