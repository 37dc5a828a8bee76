"""The patient's own booking, from the same link: cancel it or move it (as the desk would, the
late-cancellation fee included); a booking waiting for the desk is not reminded; the patient
hears of the desk's decision on the channel they agreed to, in minimum-necessary words."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from notifications import backends
from reminders.models import Reminder
from reminders.rules import denied_words_in
from scheduling import rules
from scheduling.models import Appointment, SelfBooking, SelfBookingStatus
from scheduling.public_forms import slot_value
from scheduling.services import self_booking as services
from scheduling.tests.conftest import at, local_day
from scheduling.tests.selfbooking_helpers import issue, open_link, policy, self_bookable, texting_patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _texts_kept(settings):
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    backends.outbox.clear()
    yield
    backends.outbox.clear()


@pytest.fixture
def consult(clinic):
    policy(min_notice_hours=24, horizon_days=28, requires_approval=False)
    return self_bookable(clinic.consultation)


def _book_online(client, clinic, patient, start):
    new = issue(patient)
    open_link(client, new.token, patient)
    url = reverse("self_booking:book") + f"?appointment_type={clinic.consultation.pk}&location={clinic.site.pk}"
    assert client.post(url, {"slot": slot_value(start, clinic.doctor.pk)})["Location"] == reverse("self_booking:done")
    assert b"open the link you booked with again" in client.get(reverse("self_booking:done")).content
    return new


def _late_fee(clinic, hours=168, fee="75.00"):
    from billing.models import BillingSettings

    BillingSettings.objects.update_or_create(
        location=clinic.site, defaults={"late_cancel_hours": hours, "late_cancel_fee": Decimal(fee)}
    )


def test_the_patient_cancels_from_the_same_link_and_inside_the_window_the_fee_applies(
    client, clinic, consult, django_capture_on_commit_callbacks
):
    from billing.models import Invoice, InvoicePurpose

    _late_fee(clinic)
    patient = texting_patient()
    start = at(local_day(3), 10)
    new = _book_online(client, clinic, patient, start)
    verified = open_link(client, new.token, patient)
    assert verified["Location"] == reverse("self_booking:manage")
    page = client.get(reverse("self_booking:manage"))
    assert page.status_code == 200
    assert "late-cancellation fee of $75.00" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("self_booking:manage"))
    assert done["Location"] == reverse("self_booking:done")
    assert b"Your visit is cancelled" in client.get(reverse("self_booking:done")).content
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.status == "cancelled"
    assert "online booking link" in appointment.cancel_reason
    event = AuditEvent.objects.get(action="scheduling.appointment.cancelled", patient_id=patient.pk)
    assert "online booking link" in event.actor_username
    assert Invoice.objects.filter(appointment=appointment, purpose=InvoicePurpose.LATE_CANCEL).exists()
    # Nothing left to manage: the link no longer opens.
    assert client.get(reverse("self_booking:open", args=[new.token])).status_code == 410


def test_outside_the_window_no_fee_is_announced(client, clinic, consult):
    _late_fee(clinic, hours=1)
    patient = texting_patient()
    new = _book_online(client, clinic, patient, at(local_day(3), 10))
    open_link(client, new.token, patient)
    assert b"late-cancellation fee" not in client.get(reverse("self_booking:manage")).content


def test_the_patient_moves_their_visit_and_a_move_is_never_a_late_cancellation(
    client, clinic, consult, django_capture_on_commit_callbacks
):
    from billing.models import Invoice

    _late_fee(clinic)
    patient = texting_patient()
    new = _book_online(client, clinic, patient, at(local_day(3), 10))
    open_link(client, new.token, patient)
    page = client.get(reverse("self_booking:book") + f"?location={clinic.site.pk}")
    assert b"Choose a new time" in page.content
    later = at(local_day(4), 11)
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(
            reverse("self_booking:book") + f"?location={clinic.site.pk}", {"slot": slot_value(later, clinic.doctor.pk)}
        )
    assert moved["Location"] == reverse("self_booking:done")
    old, current = Appointment.objects.filter(patient=patient).order_by("id")
    assert (old.status, old.cancel_reason) == ("cancelled", rules.RESCHEDULED_REASON)
    assert (current.status, current.start) == ("booked", later)
    # The new visit names the one it replaced, as a move at the desk does (the chart's history).
    assert current.rescheduled_from == old
    assert not Invoice.objects.filter(appointment=old).exists()
    assert SelfBooking.objects.get(appointment=current).link_id == new.link.pk


def test_a_stranger_without_the_date_of_birth_manages_nothing(client, clinic, consult):
    patient = texting_patient()
    new = _book_online(client, clinic, patient, at(local_day(3), 10))
    client.cookies.clear()
    assert client.get(reverse("self_booking:manage")).status_code == 403
    client.get(reverse("self_booking:open", args=[new.token]))
    wrong = client.post(reverse("self_booking:verify"), {"date_of_birth": "1900-01-01"})
    assert wrong.status_code == 400
    assert client.post(reverse("self_booking:manage")).status_code == 403
    assert Appointment.objects.get(patient=patient).status == "booked"


def test_a_booking_waiting_for_the_desk_is_reminded_only_once_approved(
    clinic, frontdesk, django_capture_on_commit_callbacks
):
    from reminders.tests.conftest import make_rule

    make_rule(types=[clinic.consultation], hours=24)
    policy(min_notice_hours=24, horizon_days=28, requires_approval=True)
    self_bookable(clinic.consultation)
    patient = texting_patient()
    new = issue(patient)
    services.self_booking_link_verify(link_id=new.link.pk, date_of_birth=patient.date_of_birth)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.self_booking_book(
            link_id=new.link.pk,
            appointment_type=clinic.consultation,
            location=clinic.site,
            start=at(local_day(5), 10),
            clinician_id=clinic.doctor.pk,
        )
    assert outcome.self_booking.status == SelfBookingStatus.PENDING
    assert not Reminder.objects.filter(appointment=outcome.appointment, status="pending").exists()
    backends.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.self_booking_approve(self_booking=outcome.self_booking, by=frontdesk)
    assert Reminder.objects.filter(appointment=outcome.appointment, status="pending").exists()
    (message,) = backends.outbox
    assert message.to == str(patient.phone)
    assert "is confirmed" in message.body
    assert not denied_words_in(message.body)
    assert "consultation" not in message.body.lower()


def test_a_declined_booking_is_told_without_the_desks_reason(clinic, frontdesk):
    policy(min_notice_hours=24, horizon_days=28, requires_approval=True)
    self_bookable(clinic.consultation)
    patient = texting_patient()
    new = issue(patient)
    services.self_booking_link_verify(link_id=new.link.pk, date_of_birth=patient.date_of_birth)
    outcome = services.self_booking_book(
        link_id=new.link.pk,
        appointment_type=clinic.consultation,
        location=clinic.site,
        start=at(local_day(5), 10),
        clinician_id=clinic.doctor.pk,
    )
    backends.outbox.clear()
    services.self_booking_decline(
        self_booking=outcome.self_booking, by=frontdesk, reason="Needs a psychiatric referral"
    )
    (message,) = backends.outbox
    assert "could not confirm" in message.body
    assert "referral" not in message.body
    assert not denied_words_in(message.body)
    assert patient.contact_log.filter(summary__icontains="could not be confirmed").exists()
