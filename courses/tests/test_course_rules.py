"""The course rules at booking and at check-in, through scheduling's own services (the booking
form, a move and the desk's check-in all go through them), as tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from courses.tests.conftest import NOW
from courses.tests.factories import course, given_infusion, set_course_policy
from scheduling import services
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, ClinicianFactory, ResourceFactory, appointment_type

pytestmark = pytest.mark.django_db
START = NOW + timedelta(hours=2)  # Thu 4 Mar 2027, 10:00 AM in New York


@pytest.fixture
def c(clock):
    found = course(sessions_planned=6)
    found.nurse = ClinicianFactory(location=found.location)
    return found


def _book(c, by, start=START, code="infusion"):
    return services.appointment_book(
        patient=c.patient,
        appointment_type=appointment_type(code),
        location=c.location,
        start=start,
        by=by,
        clinician=c.nurse,
    )


def _booked(c, start):
    return AppointmentFactory(
        patient=c.patient,
        appointment_type=appointment_type("infusion"),
        location=c.location,
        resource=c.chair,
        start=start,
        end=start + timedelta(minutes=100),
    )


# (what the patient already has, hours relative to the new booking; the order's minimum; refusal or None)
BOOKING = [
    ("nothing", [], [], None, None),
    ("given 16 h before", [-16], [], None, "Too close to this patient's infusion on Wed 3 Mar at 6:00 PM (after it)"),
    ("given 20 h before", [-20], [], None, None),
    ("given 48 h before, order asks 72 h", [-48], [], 72, "at least 72 hours apart (the standing order)"),
    ("given 72 h before, order asks 72 h", [-72], [], 72, None),
    ("booked 5 h after", [], [5], None, "(before it): infusions are at least 20 hours apart (clinic policy)"),
    ("booked 30 h after", [], [30], None, None),
]


@pytest.mark.parametrize(("case", "given_h", "booked_h", "order_h", "refusal"), BOOKING, ids=[b[0] for b in BOOKING])
def test_the_interval_at_booking(c, frontdesk, case, given_h, booked_h, order_h, refusal):
    if order_h:
        from consultations.services.orders import order_sign

        order_sign(plan=c.plan, by=c.prescriber, reason="Space the infusions", changes={"min_interval_hours": order_h})
    for h in given_h:
        given_infusion(c, started_at=START + timedelta(hours=h), delivered_mg="40")
    for h in booked_h:
        _booked(c, START + timedelta(hours=h))
    if refusal is None:
        assert _book(c, frontdesk).status == AppointmentStatus.BOOKED
    else:
        with pytest.raises(services.SchedulingError) as caught:
            _book(c, frontdesk)
        assert any(refusal in m for m in caught.value.messages), caught.value.messages


# (infusions the order plans, given, already booked; refused?)
COUNTS = [(6, 0, 0, False), (6, 5, 0, False), (6, 4, 1, False), (6, 5, 1, True), (6, 6, 0, True), (2, 0, 2, True)]


@pytest.mark.parametrize(("planned", "given", "booked", "refused"), COUNTS)
def test_the_planned_number_of_infusions_at_booking(clock, frontdesk, planned, given, booked, refused):
    c = course(sessions_planned=planned)
    c.nurse = ClinicianFactory(location=c.location)
    for i in range(given):
        given_infusion(c, started_at=START - timedelta(days=3 * (i + 1)), delivered_mg="40")
    for i in range(booked):
        _booked(c, START + timedelta(days=3 * (i + 1)))
    if not refused:
        _book(c, frontdesk)
        return
    with pytest.raises(services.SchedulingError, match="Another needs a new order from the prescriber"):
        _book(c, frontdesk)


def test_a_new_order_with_more_infusions_lets_the_desk_book_again(c, frontdesk):
    from consultations.services.orders import order_sign

    for i in range(6):
        given_infusion(c, started_at=START - timedelta(days=3 * (i + 1)), delivered_mg="40")
    with pytest.raises(services.SchedulingError, match="standing order \\(version 1\\) plans 6 infusions, 6 given"):
        _book(c, frontdesk)
    order_sign(plan=c.plan, by=c.prescriber, reason="Two boosters", changes={"sessions_planned": 8})
    _book(c, frontdesk)


def test_other_visits_are_not_course_infusions(c, frontdesk):
    given_infusion(c, started_at=START - timedelta(hours=2), delivered_mg="40")
    doctor = ClinicianFactory(location=c.location, credentials="MD")
    ResourceFactory(location=c.location, kind="room")
    services.appointment_book(
        patient=c.patient,
        appointment_type=appointment_type("follow_up"),
        location=c.location,
        start=START,
        by=frontdesk,
        clinician=doctor,
    )


def test_a_move_too_close_is_refused_and_the_booking_stays(c, frontdesk):
    given_infusion(c, started_at=START - timedelta(hours=30), delivered_mg="40")
    appointment = _book(c, frontdesk)
    with pytest.raises(services.SchedulingError, match="Too close"):
        services.appointment_reschedule(appointment=appointment, by=frontdesk, start=START - timedelta(hours=12))
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_the_front_desk_sees_why_the_slot_is_refused(client, c, frontdesk):
    given_infusion(c, started_at=START - timedelta(hours=16), delivered_mg="40")
    client.force_login(frontdesk)
    response = client.post(
        reverse("scheduling:book"),
        {
            "patient": c.patient.pk,
            "appointment_type": appointment_type("infusion").pk,
            "location": c.location.pk,
            "resource": c.chair.pk,
            "date": "2027-03-04",
            "start_time": "10:00",
            "clinician": c.nurse.pk,
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Too close to this patient&#x27;s infusion on Wed 3 Mar at 6:00 PM" in page
    assert "infusions are at least 20 hours apart (clinic policy)" in page


# At check-in: (the patient's other infusion, hours before; infusions planned and given; refusal or None)
CHECK_IN = [
    ("clear", None, 6, 0, None),
    ("given 10 h before", -10, 6, 1, "Too close to this patient's infusion"),
    ("given 30 h before", -30, 6, 1, None),
    ("plan used up", -72, 1, 1, "plans 1 infusions and 1 have been given"),
]


@pytest.mark.parametrize(("case", "other_h", "planned", "given", "refusal"), CHECK_IN, ids=[x[0] for x in CHECK_IN])
def test_the_course_rules_at_check_in(clock, frontdesk, case, other_h, planned, given, refusal):
    c = course(sessions_planned=planned)
    appointment = _booked(c, START)
    set_course_policy(min_interval_hours=12)  # the slot was booked under a shorter minimum...
    if other_h is not None:
        given_infusion(c, started_at=START + timedelta(hours=other_h), delivered_mg="40")
    set_course_policy(min_interval_hours=20)  # ...the clinic's minimum holds on the day
    with time_machine.travel(START - timedelta(minutes=20), tick=False):
        if refusal is None:
            services.appointment_transition(
                appointment=appointment, to_status=AppointmentStatus.CHECKED_IN, by=frontdesk
            )
            appointment.refresh_from_db()
            assert appointment.status == AppointmentStatus.CHECKED_IN
            return
        with pytest.raises(services.SchedulingError) as caught:
            services.appointment_transition(
                appointment=appointment, to_status=AppointmentStatus.CHECKED_IN, by=frontdesk
            )
    assert any(refusal in m for m in caught.value.messages), caught.value.messages
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
