"""Billing listens to the calendar: scheduling's hooks call it after an appointment change commits.

- completed: the visit is invoiced from what happened (``services.invoice_for_visit``);
- no-show: the location's no-show fee is charged;
- cancelled (not rescheduled) from booked or confirmed, less than the location's late-cancellation
  window before the start: the late-cancellation fee is charged. A visit called off after check-in
  (not fasted, no escort) is the clinic's call and is not charged; an administrator waives a fee
  charged for a cancellation the clinic caused.

Each charge is made once per appointment (a unique constraint), so a hook that runs twice charges once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.urls import reverse

from billing import rules, selectors, services
from billing.models import InvoicePurpose
from billing.money import Money
from scheduling.hooks import (
    RecordLink,
    register_appointment_changed,
    register_cancellation_notice,
    register_record_links,
)
from scheduling.models import Appointment, AppointmentStatusChange
from scheduling.rules import RESCHEDULED_REASON, AppointmentStatus

logger = logging.getLogger(__name__)


def _cancelled_late(appointment: Appointment) -> bool:
    change = (
        AppointmentStatusChange.objects.filter(appointment=appointment, to_status=AppointmentStatus.CANCELLED)
        .order_by("-at", "-id")
        .first()
    )
    if change is None or appointment.cancel_reason == RESCHEDULED_REASON:
        return False
    if change.from_status not in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED):
        return False
    window = selectors.settings_for(appointment.location_id).late_cancel_hours
    return rules.is_late_cancellation(start=appointment.start, cancelled_at=change.at, window_hours=window)


def on_appointment_changed(appointment_id: int) -> None:
    """Charge what the appointment's new status calls for (nothing for the other statuses)."""
    appointment = (
        Appointment.objects.select_related("location", "appointment_type", "patient", "clinician")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        return
    with transaction.atomic():
        if appointment.status == AppointmentStatus.COMPLETED:
            services.invoice_for_visit(appointment=appointment)
        elif appointment.status == AppointmentStatus.NO_SHOW:
            services.fee_for_outcome(appointment=appointment, purpose=InvoicePurpose.NO_SHOW)
        elif appointment.status == AppointmentStatus.CANCELLED and _cancelled_late(appointment):
            services.fee_for_outcome(appointment=appointment, purpose=InvoicePurpose.LATE_CANCEL)


def deposit_link(appointment, user) -> list[RecordLink]:
    """On the appointment page: take the deposit its type asks for, until one is taken."""
    if not user.has_perm(services.TAKE_PAYMENTS) or appointment.status not in (
        AppointmentStatus.BOOKED,
        AppointmentStatus.CONFIRMED,
    ):
        return []
    due = selectors.deposit_due(appointment)
    if due is None or selectors.has_deposit(appointment.pk):
        return []
    url = reverse("billing:deposit-take", args=[appointment.pk])
    return [RecordLink(label=f"Take the {Money(due.price)} deposit", url=url, clinical=False)]


def items_link(appointment, user) -> list[RecordLink]:
    """On the appointment page: the items billed by hand, open to additions until the visit is invoiced."""
    if not user.has_perm(services.TAKE_PAYMENTS) or appointment.status not in services.OPEN_VISIT:
        return []
    return [
        RecordLink(label="Billable items", url=reverse("billing:visit-items", args=[appointment.pk]), clinical=False)
    ]


def late_cancel_notice(appointment: Appointment, at: datetime) -> str:
    """Said to a patient about to cancel online inside the window: the fee the desk would charge."""
    settings = selectors.settings_for(appointment.location_id)
    late = rules.is_late_cancellation(start=appointment.start, cancelled_at=at, window_hours=settings.late_cancel_hours)
    if not late or not settings.late_cancel_fee:
        return ""
    return (
        f"It is less than {settings.late_cancel_hours} hours before your visit: cancelling now is charged "
        f"the clinic's late-cancellation fee of {Money(settings.late_cancel_fee)}."
    )


def connect_scheduling() -> None:
    register_appointment_changed(on_appointment_changed)
    register_cancellation_notice(late_cancel_notice)
    register_record_links(deposit_link)
    register_record_links(items_link)
