"""Booking through the service: what is refused, what is allowed, and what gets recorded."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from accounts.models import AuditEvent
from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment, AppointmentStatusChange, Closure
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db


def test_a_booking_is_stored_in_utc_recorded_and_audited(clinic, patient, frontdesk):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10))
    appt.refresh_from_db()
    assert appt.start.utcoffset() == timedelta(0)
    assert appt.start.astimezone(clinic.site.zone).time() == time(10)
    assert appt.minutes == 60  # the type's default
    assert appt.resource == clinic.rooms[0]  # first free room, picked for the user
    assert appt.clinician_exclusive is True
    change = AppointmentStatusChange.objects.get(appointment=appt)
    assert (change.from_status, change.to_status, change.by) == ("", "booked", frontdesk)
    event = AuditEvent.objects.get(action="scheduling.appointment.booked")
    assert (event.patient_id, event.data_category, event.actor) == (patient.pk, "scheduling", frontdesk)


def test_infusion_chair_time_is_infusion_plus_recovery(clinic, patient, frontdesk):
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 9), kind="infusion")
    assert appt.minutes == 40 + 60
    assert appt.resource.kind == "chair"
    assert appt.clinician_exclusive is False


def test_back_to_back_bookings_of_one_chair_are_allowed(clinic, frontdesk):
    day = local_day(2)
    first = book(clinic, PatientFactory(), frontdesk, start=at(day, 9), kind="infusion", resource=clinic.chairs[0])
    second = book(clinic, PatientFactory(), frontdesk, start=first.end, kind="infusion", resource=clinic.chairs[0])
    assert second.start == first.end
    assert Appointment.objects.filter(resource=clinic.chairs[0]).count() == 2


def test_an_overlapping_booking_of_the_same_chair_is_refused_with_alternatives(clinic, frontdesk):
    day = local_day(2)
    book(clinic, PatientFactory(), frontdesk, start=at(day, 9), kind="infusion", resource=clinic.chairs[0])
    with pytest.raises(services.SlotTaken) as caught:
        book(clinic, PatientFactory(), frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    assert caught.value.conflict == "start"
    assert caught.value.alternatives
    assert all(alt.start >= at(day, 10, 40) for alt in caught.value.alternatives)
    assert caught.value.alternatives[0].resource_id == clinic.chairs[0].pk


def test_one_patient_cannot_be_in_two_places(clinic, patient, frontdesk):
    day = local_day(2)
    book(clinic, patient, frontdesk, start=at(day, 9), kind="infusion")
    with pytest.raises(services.SlotTaken, match="already has an appointment"):
        book(clinic, patient, frontdesk, start=at(day, 9, 30), clinician=clinic.doctor)


def test_an_intake_clinician_cannot_see_two_patients_at_once(clinic, frontdesk):
    day = local_day(2)
    book(clinic, PatientFactory(), frontdesk, start=at(day, 9))
    with pytest.raises(services.SlotTaken, match="already seeing another patient"):
        book(clinic, PatientFactory(), frontdesk, start=at(day, 9, 30))


@pytest.mark.parametrize(
    ("status", "message"),
    [(Patient.Status.DECEASED, "deceased"), (Patient.Status.INACTIVE, "inactive")],
)
def test_deceased_or_inactive_patients_cannot_be_booked(clinic, frontdesk, status, message):
    with pytest.raises(services.SchedulingError, match=message) as caught:
        book(clinic, PatientFactory(status=status), frontdesk, start=at(local_day(2), 10))
    assert "patient" in caught.value.message_dict


def test_bookings_in_the_past_are_refused(clinic, patient, frontdesk):
    with pytest.raises(services.SchedulingError, match="already passed") as caught:
        book(clinic, patient, frontdesk, start=at(local_day(-1), 10))
    assert "start" in caught.value.message_dict


def test_an_end_before_the_start_is_refused(clinic, patient, frontdesk):
    start = at(local_day(2), 10)
    with pytest.raises(services.SchedulingError, match="end must be after") as caught:
        book(clinic, patient, frontdesk, start=start, end=start - timedelta(minutes=5))
    assert "end" in caught.value.message_dict


def test_bookings_outside_opening_hours_are_refused(clinic, patient, frontdesk):
    with pytest.raises(services.SchedulingError, match="Outside opening hours"):
        book(clinic, patient, frontdesk, start=at(local_day(2), 20, 30))  # 20:30–21:30, closes 21:00


def test_bookings_on_a_closure_are_refused(clinic, patient, frontdesk):
    day = local_day(3)
    Closure.objects.create(location=clinic.site, starts_on=day, ends_on=day, reason="Staff training")
    with pytest.raises(services.SchedulingError, match="Staff training"):
        book(clinic, patient, frontdesk, start=at(day, 10))


def test_bookings_outside_the_clinicians_hours_are_refused(clinic, patient, frontdesk):
    clinic.doctor.working_hours.update(starts=time(12))
    with pytest.raises(services.SchedulingError, match="does not work") as caught:
        book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    assert "clinician" in caught.value.message_dict


def test_an_intake_consultation_needs_a_clinician(clinic, patient, frontdesk):
    with pytest.raises(services.SchedulingError, match="Choose the clinician"):
        book(clinic, patient, frontdesk, start=at(local_day(2), 10), clinician=None)


def test_clinicians_cannot_book(clinic, patient, clinician):
    with pytest.raises(services.PermissionDenied):
        book(clinic, patient, clinician, start=at(local_day(2), 10))
