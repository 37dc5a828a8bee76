"""The booking-check registry: a later app refuses a booking or a check-in in words, and every
path (the booking service, a move, a series' dry run, the booking form, the desk's check-in)
asks it, without scheduling importing that app."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling import hooks, rules, services
from scheduling.models import Appointment, AppointmentStatus, Series
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db
REFUSAL = "Too soon after this patient's last infusion (clinic policy: at least 7 days)."


@pytest.fixture
def refuse_infusions():
    seen: list[tuple] = []

    def check(patient, appointment_type, start, *, end, location):
        seen.append((patient.pk, appointment_type.code, start, end, location.pk))
        return [REFUSAL] if appointment_type.code == "infusion" else []

    hooks.register_booking_check(check)
    hooks.register_booking_check(check)  # registering twice keeps one copy
    yield seen
    hooks.unregister_booking_check(check)


def test_a_registered_check_refuses_a_booking_with_its_words_and_nothing_is_saved(
    clinic, patient, frontdesk, refuse_infusions
):
    start = at(local_day(3), 10)
    with pytest.raises(services.SchedulingError) as caught:
        book(clinic, patient, frontdesk, start=start, kind="infusion")
    assert caught.value.messages == [REFUSAL]
    assert not Appointment.objects.filter(patient=patient).exists()
    assert refuse_infusions == [
        (patient.pk, "infusion", start, start + timedelta(minutes=clinic.infusion.minutes), clinic.site.pk)
    ]
    # Another kind of visit is let through by the same check.
    book(clinic, patient, frontdesk, start=start, kind="consultation")


def test_a_move_is_refused_by_the_check_and_the_old_booking_stays(clinic, patient, frontdesk):
    start = at(local_day(3), 10)
    appointment = book(clinic, patient, frontdesk, start=start, kind="infusion")

    def check(patient, appointment_type, start, *, end, location):
        return [REFUSAL]

    hooks.register_booking_check(check)
    try:
        with pytest.raises(services.SchedulingError, match="Too soon"):
            services.appointment_reschedule(appointment=appointment, by=frontdesk, start=start + timedelta(hours=2))
    finally:
        hooks.unregister_booking_check(check)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_a_series_dry_run_reports_the_refusal_per_occurrence(clinic, patient, frontdesk, refuse_infusions):
    first = local_day(7)
    plan = rules.expand_weekly(
        first_day=first,
        weekdays=[first.weekday()],
        wall=at(first, 10).astimezone(clinic.site.zone).time(),
        count=2,
        tz_name=clinic.site.time_zone,
    )
    with pytest.raises(services.SeriesConflicts) as caught:
        services.series_book(
            patient=patient,
            appointment_type=clinic.infusion,
            location=clinic.site,
            occurrences=plan,
            by=frontdesk,
            clinician=clinic.nurse,
        )
    assert [c.problems for c in caught.value.checks] == [[REFUSAL], [REFUSAL]]
    assert not Series.objects.exists()


def test_the_booking_form_shows_the_refusal_to_the_front_desk(client, clinic, patient, frontdesk, refuse_infusions):
    client.force_login(frontdesk)
    day = local_day(3)
    response = client.post(
        reverse("scheduling:book"),
        {
            "patient": patient.pk,
            "appointment_type": clinic.infusion.pk,
            "location": clinic.site.pk,
            "date": day.isoformat(),
            "start_time": "10:00",
            "clinician": clinic.nurse.pk,
        },
    )
    assert response.status_code == 200
    assert REFUSAL.replace("'", "&#x27;") in response.content.decode()
    assert not Appointment.objects.filter(patient=patient).exists()


def test_a_check_in_check_refuses_the_desk_and_the_status_stays(clinic, patient, frontdesk):
    appointment = book(clinic, patient, frontdesk, start=at(local_day(2), 10), kind="infusion")

    def check(appointment):
        return ["The course's planned sessions are all used; a new order is needed."]

    hooks.register_check_in_check(check)
    try:
        with (
            time_machine.travel(appointment.start - timedelta(minutes=30), tick=False),
            pytest.raises(services.SchedulingError, match="planned sessions are all used"),
        ):
            services.appointment_transition(
                appointment=appointment, to_status=AppointmentStatus.CHECKED_IN, by=frontdesk
            )
    finally:
        hooks.unregister_check_in_check(check)
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED
    with time_machine.travel(appointment.start - timedelta(minutes=30), tick=False):
        services.appointment_transition(appointment=appointment, to_status=AppointmentStatus.CHECKED_IN, by=frontdesk)
