"""From the thank-you page to a booked intake consultation: "choose a time" registers the person
from what they typed (a new record, the registry's possible matches kept for the desk), links the
inquiry, and hands over to the scheduling app's own booking link (date of birth, slots, the same
booking service); the booking moves the inquiry to "booked"."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from inquiries import services
from inquiries.models import Inquiry
from notifications import backends
from patients.models import Patient
from patients.tests.factories import PatientFactory
from reminders.models import Reminder
from reminders.services import dispatch, send
from reminders.tests.conftest import make_rule
from scheduling.models import Appointment, AppointmentType, SelfBooking, SelfBookingLink
from scheduling.public_forms import slot_value
from scheduling.services import self_booking as scheduling_services
from scheduling.tests.conftest import at, clinic, local_day  # noqa: F401 - fixtures
from scheduling.tests.selfbooking_helpers import policy, self_bookable

pytestmark = pytest.mark.django_db

FORM = {
    "who": "self",
    "first_name": "Robin",
    "last_name": "Alvarez",
    "date_of_birth": "04/12/1986",
    "email": "robin.alvarez@example.org",
    "contact_by": ["email"],
    "reason": "anxiety",
}
CHOOSE = "Choose a time for your first consultation"


@pytest.fixture
def consult(clinic):  # noqa: F811 - the scheduling tests' clinic fixture
    policy(min_notice_hours=24, horizon_days=28, requires_approval=False)
    return self_bookable(clinic.consultation)


def test_the_thanks_offers_a_time_only_when_the_clinic_books_online(client, clinic):  # noqa: F811
    # Migrating makes the intake consultation self-bookable; this clinic starts with nothing online.
    AppointmentType.objects.update(self_bookable=False)
    client.post("/start/", FORM)
    assert CHOOSE.encode() not in client.get(reverse("inquiries:thanks")).content
    self_bookable(clinic.consultation)
    assert CHOOSE.encode() in client.get(reverse("inquiries:thanks")).content


def test_from_the_thanks_to_a_booked_consultation(client, clinic, consult, django_capture_on_commit_callbacks):  # noqa: F811
    client.post("/start/", FORM)
    response = client.post(reverse("inquiries:start-booking"))
    assert response.status_code == 302
    assert response["Location"].startswith("/book/")
    inquiry = Inquiry.objects.get()
    patient = inquiry.patient
    assert (patient.legal_last_name, patient.email, inquiry.linked_by) == ("Alvarez", "robin.alvarez@example.org", None)
    assert SelfBookingLink.objects.filter(patient=patient).count() == 1
    # E-mail was the way the person gave on the form: their reminders go there, and nowhere else.
    assert (patient.email_opt_in, patient.email_consent_method, patient.sms_opt_in) == (True, "inquiry", False)
    assert AuditEvent.objects.filter(action="inquiries.inquiry.registered_by_person", patient_id=patient.pk).exists()

    # The scheduling app's own pages: the date of birth, then a slot.
    assert client.get(response["Location"]).status_code == 302
    verified = client.post(reverse("self_booking:verify"), {"date_of_birth": "1986-04-12"})
    assert verified["Location"] == reverse("self_booking:book")
    start = at(local_day(3), 10)
    url = reverse("self_booking:book") + f"?appointment_type={consult.pk}&location={clinic.site.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        booked = client.post(url, {"slot": slot_value(start, clinic.doctor.pk)})
    assert booked["Location"] == reverse("self_booking:done")
    assert Appointment.objects.get(patient=patient).start == start
    inquiry.refresh_from_db()
    assert inquiry.status == "booked"


def test_a_person_already_registered_gets_a_new_record_for_the_desk_to_check(client, clinic, consult):  # noqa: F811
    existing = PatientFactory(legal_first_name="Robin", legal_last_name="Alvarez", email="robin.alvarez@example.org")
    client.post("/start/", FORM)
    response = client.post(reverse("inquiries:start-booking"))
    assert response["Location"].startswith("/book/")  # the same way on as for a stranger
    inquiry = Inquiry.objects.get()
    assert inquiry.patient != existing
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=inquiry.patient_id)
    assert event.changes["possible_duplicates"] == [None, [existing.mrn]]
    assert "public inquiry form" in event.changes["duplicate_reason"][1]


def test_without_an_inquiry_from_this_browser_nothing_is_registered(client, clinic, consult):  # noqa: F811
    patients = Patient.objects.count()
    assert client.post(reverse("inquiries:start-booking"))["Location"] == reverse("inquiries:thanks")
    client.post("/start/", {**FORM, "website": "spam"})  # the honeypot: nothing stored, nothing to book
    assert client.post(reverse("inquiries:start-booking"))["Location"] == reverse("inquiries:thanks")
    assert Patient.objects.count() == patients


def test_the_offer_lasts_half_an_hour(client, clinic, consult):  # noqa: F811
    client.post("/start/", FORM)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert CHOOSE.encode() not in client.get(reverse("inquiries:thanks")).content
        assert client.post(reverse("inquiries:start-booking"))["Location"] == reverse("inquiries:thanks")
    assert Inquiry.objects.get().patient is None


@pytest.mark.parametrize(
    "form",
    [
        # A referring clinician's form carries no consent of the patient's to texts or e-mails.
        {**FORM, "who": "referrer", "referrer_name": "Dr Lee Park"},
        # A call is no reminder channel: the desk calls back and books.
        {**FORM, "phone": "(312) 555-0100", "email": "", "contact_by": ["phone"]},
    ],
    ids=["referrer", "calls-only"],
)
def test_no_time_is_offered_to_a_form_that_gives_no_way_to_remind_the_patient(client, clinic, consult, form):  # noqa: F811
    """Choosing a time registers a patient; one who could never be reminded nor sent the pre-visit
    forms is booked by the desk instead, which asks for their consent then."""
    client.post("/start/", form)
    inquiry = Inquiry.objects.get()
    assert CHOOSE.encode() not in client.get(reverse("inquiries:thanks")).content
    assert client.post(reverse("inquiries:start-booking"))["Location"] == reverse("inquiries:thanks")
    with pytest.raises(ValidationError):
        services.inquiry_self_booking_start(inquiry=inquiry)
    inquiry.refresh_from_db()
    assert inquiry.patient is None
    assert not SelfBookingLink.objects.exists()


def test_a_person_who_booked_themselves_is_reminded_by_text_once_the_desk_approves(
    client,
    clinic,  # noqa: F811
    frontdesk,
    settings,
    django_capture_on_commit_callbacks,
):
    """The whole way: the form's texts become the reminder consent; the held booking is reminded
    only once approved; the approval and the reminder go by text, nothing by e-mail."""
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    backends.outbox.clear()
    make_rule(types=[clinic.consultation], hours=24)
    policy(min_notice_hours=24, horizon_days=28, requires_approval=True)
    self_bookable(clinic.consultation)
    client.post("/start/", {**FORM, "phone": "(312) 555-0100", "contact_by": ["sms"]})
    client.post(reverse("inquiries:start-booking"), follow=True)
    client.post(reverse("self_booking:verify"), {"date_of_birth": "1986-04-12"})
    start = at(local_day(5), 10)
    url = reverse("self_booking:book") + f"?appointment_type={clinic.consultation.pk}&location={clinic.site.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"slot": slot_value(start, clinic.doctor.pk)})
    patient = Inquiry.objects.get().patient
    assert (patient.sms_opt_in, patient.sms_consent_method, patient.email_opt_in) == (True, "inquiry", False)
    booking = SelfBooking.objects.get(appointment__patient=patient)
    assert not Reminder.objects.filter(appointment=booking.appointment).exists()

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.self_booking_approve(self_booking=booking, by=frontdesk)
    (approval,) = backends.outbox
    assert approval.to == str(patient.phone)
    assert "is confirmed" in approval.body
    backends.outbox.clear()
    with time_machine.travel(start - timedelta(hours=23), tick=False):
        claimed = dispatch.reminders_dispatch().claimed
        statuses = {send.reminder_send(reminder_id=rid) for rid in claimed}
    assert "sent" in statuses
    assert [m.to for m in backends.outbox] == [str(patient.phone)]
    assert mail.outbox == []
