"""Items the desk bills by hand for a visit: picked from the fee schedule with a quantity before the
visit's invoice is issued, copied onto it, audited; refused once the invoice exists."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from billing import integration, selectors, services
from billing.models import CodeSystem, FeeItem, FeeRole, VisitItem
from billing.tests.factories import SINCE, billing_settings, fee_schedule, key, plan
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db


def _extra(location, *, code="96372", price="45.00", role=FeeRole.OTHER, since: date = SINCE, until=None) -> FeeItem:
    return FeeItem.objects.create(
        location=location,
        role=role,
        code_system=CodeSystem.CPT,
        code=code,
        description="Injection, subcutaneous or intramuscular",
        price=Decimal(price),
        effective_from=since,
        effective_until=until,
    )


def _visit(location, *, type_code="infusion", status="checked_in", **fields):
    start = timezone.now() - timedelta(hours=2)
    return AppointmentFactory(
        **fields,
        location=location,
        appointment_type=appointment_type(type_code),
        start=start,
        end=start + timedelta(hours=2),
        status=status,
    )


def _complete(appt) -> None:
    Appointment.objects.filter(pk=appt.pk).update(status="completed")
    integration.on_appointment_changed(appt.pk)


def test_an_item_entered_by_hand_is_billed_on_the_visits_invoice(frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    extra = _extra(location)
    appt = _visit(location, type_code="follow_up")
    services.visit_item_add(appointment=appt, fee_item=extra, units=2, by=frontdesk)
    _complete(appt)
    inv = selectors.visit_invoice(appt.pk)
    assert [(line.code, line.units, line.amount) for line in inv.lines.all()] == [
        ("99214", 1, Decimal("180.00")),
        ("96372", 2, Decimal("90.00")),
    ]
    assert inv.total == Decimal("270.00")


def test_a_removed_item_is_not_billed_and_both_actions_are_audited(frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    appt = _visit(location, type_code="follow_up")
    item = services.visit_item_add(appointment=appt, fee_item=_extra(location), units=1, by=frontdesk)
    services.visit_item_remove(item=item, by=frontdesk)
    _complete(appt)
    assert [line.code for line in selectors.visit_invoice(appt.pk).lines.all()] == ["99214"]
    assert VisitItem.objects.filter(pk=item.pk, removed_by=frontdesk).exists()  # kept, marked removed
    actions = set(
        AuditEvent.objects.filter(actor=frontdesk, patient_id=appt.patient_id).values_list("action", flat=True)
    )
    assert {"billing.visit_item.added", "billing.visit_item.removed"} <= actions


def test_once_the_invoice_is_issued_the_visit_takes_no_more_items(frontdesk):
    location = LocationFactory()
    fee_schedule(location)
    extra = _extra(location)
    appt = _visit(location, type_code="follow_up")
    item = services.visit_item_add(appointment=appt, fee_item=extra, units=1, by=frontdesk)
    _complete(appt)
    with pytest.raises(services.BillingError) as refused:
        services.visit_item_add(appointment=appt, fee_item=extra, units=1, by=frontdesk)
    assert "credit note" in refused.value.message_dict["__all__"][0]
    with pytest.raises(services.BillingError):
        services.visit_item_remove(item=item, by=frontdesk)
    assert selectors.visit_invoice(appt.pk).total == Decimal("225.00")


@pytest.mark.parametrize(
    ("case", "fee", "units", "field"),
    [
        ("another location's fee", "elsewhere", 1, "fee_item"),
        ("a fee no longer in force", "expired", 1, "fee_item"),
        ("the infusion time is not typed in", "hour", 1, "fee_item"),
        ("a quantity of 0", "ok", 0, "units"),
        ("a quantity past the limit", "ok", 100, "units"),
    ],
)
def test_what_cannot_be_billed_by_hand_is_refused_at_its_field(frontdesk, case, fee, units, field):
    location = LocationFactory()
    fees = fee_schedule(location)
    appt = _visit(location)
    chosen = {
        "elsewhere": _extra(LocationFactory()),
        "expired": _extra(location, since=SINCE, until=timezone.localdate() - timedelta(days=30)),
        "hour": fees["additional"],
        "ok": _extra(location),
    }[fee]
    with pytest.raises(services.BillingError) as refused:
        services.visit_item_add(appointment=appt, fee_item=chosen, units=units, by=frontdesk)
    assert field in refused.value.message_dict, case
    assert not VisitItem.objects.filter(appointment=appt).exists()


def test_a_missed_visit_takes_no_items(frontdesk):
    location = LocationFactory()
    appt = _visit(location, status="no_show")
    with pytest.raises(services.BillingError):
        services.visit_item_add(appointment=appt, fee_item=_extra(location), units=1, by=frontdesk)


def test_a_package_pays_the_visit_and_the_item_entered_by_hand_is_owed_on_top(frontdesk, patient):
    location = LocationFactory()
    fee_schedule(location)
    billing_settings(location)
    six = plan(location, sessions=6, price="2400.00")
    purchase = services.package_sell(patient=patient, plan=six, method="cash", idempotency_key=key(), by=frontdesk)
    appt = _visit(location, patient=patient)
    services.visit_item_add(appointment=appt, fee_item=_extra(location), units=1, by=frontdesk)
    Appointment.objects.filter(pk=appt.pk).update(status="completed")
    start = appt.start + timedelta(minutes=5)
    inv = services.invoice_for_visit(appointment=appt, infused=(start, start + timedelta(minutes=45)))
    assert inv.total == Decimal("445.00")  # the session's 400.00 of the package, and the 45.00 item
    assert selectors.outstanding_of(inv) == Decimal("45.00")
    assert selectors.unallocated_of(purchase.payment) == Decimal("2000.00")


def test_the_desk_adds_an_item_on_the_visits_page_and_bad_input_is_answered_at_the_field(
    client, frontdesk, clinician, django_assert_max_num_queries
):
    location = LocationFactory()
    fee_schedule(location)
    extra = _extra(location)
    appt = _visit(location)
    url = reverse("billing:visit-items", args=[appt.pk])
    client.force_login(clinician)
    assert client.get(url).status_code == 403
    client.force_login(frontdesk)
    detail = client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    assert url in detail
    for bad, field, message in (
        ({"fee_item": "", "units": "1"}, "fee_item", "Choose an item of the fee schedule."),
        ({"fee_item": "999999999", "units": "1"}, "fee_item", "Choose an item of the fee schedule."),
        ({"fee_item": str(extra.pk), "units": "two"}, "units", "Enter a whole number, e.g. 1."),
        ({"fee_item": str(extra.pk), "units": "0"}, "units", "Enter a quantity from 1 to 99."),
        ({"fee_item": str(extra.pk), "units": "<script>"}, "units", "Enter a whole number, e.g. 1."),
    ):
        response = client.post(url, bad)
        assert response.status_code == 200
        assert response.context["form"].errors[field] == [message]
        assert response.context["form"]["units"].value() == bad["units"]  # what was typed stays
    assert not VisitItem.objects.exists()
    response = client.post(url, {"fee_item": str(extra.pk), "units": "3"})
    assert response.status_code == 302
    with django_assert_max_num_queries(20):
        page = client.get(url).content.decode()
    assert "96372" in page
    assert "Injection" in page
    item = VisitItem.objects.get()
    assert (item.units, item.added_by) == (3, frontdesk)
    client.post(reverse("billing:visit-item-remove", args=[item.pk]))
    assert selectors.visit_items(appt.pk) == []
