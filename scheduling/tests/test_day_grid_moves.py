"""Moving a booking on the day grid (drag, arrow keys or the Move dialog all post here).

The same reschedule service and database constraints decide as on the reschedule page; the
answer is the grid again, with the moved booking highlighted or with the refusal on its card.
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory
from scheduling import rules
from scheduling.models import Appointment, AppointmentStatus
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import LocationFactory, ResourceFactory, appointment_type

pytestmark = pytest.mark.django_db
CALENDAR = reverse("scheduling:calendar")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _move(client, appt, **values):
    data = {"version": appt.version, "shown": appt.start.astimezone(appt.location.zone).date().isoformat()}
    data.update(values)
    return client.post(reverse("scheduling:appointment-move", args=[appt.pk]), data, **HTMX)


def test_moving_to_a_free_chair_and_time_reschedules_and_answers_with_the_grid(client_as, frontdesk, clinic, patient):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    client = client_as(frontdesk)
    response = _move(client, appt, resource=clinic.chairs[2].pk, date=day.isoformat(), start_time="11:30")
    assert response.status_code == 200
    new = Appointment.objects.get(rescheduled_from=appt)
    assert (new.resource, new.start, new.end - new.start) == (clinic.chairs[2], at(day, 11, 30), appt.end - appt.start)
    appt.refresh_from_db()
    assert (appt.status, appt.cancel_reason) == (AppointmentStatus.CANCELLED, rules.RESCHEDULED_REASON)
    assert list(appt.status_changes.values_list("from_status", "to_status")) == [
        ("", "booked"),
        ("booked", "cancelled"),
    ]
    assert AuditEvent.objects.filter(action="scheduling.appointment.rescheduled", object_id=str(appt.pk)).exists()
    html = response.content.decode()
    assert 'id="cal-grid"' in html
    assert "is-focus" in html
    assert f'id="appt-{new.pk}"' in html
    assert f'id="appt-{appt.pk}"' not in html  # the old booking is cancelled, so hidden
    assert "Moved " in html
    assert "11:30 AM" in html


def test_a_conflicting_move_is_refused_on_the_card_and_changes_nothing(client_as, frontdesk, clinic, patient):
    day = local_day(2)
    mine = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    book(clinic, PatientFactory(), frontdesk, start=at(day, 13), kind="infusion", resource=clinic.chairs[1])
    response = _move(client_as(frontdesk), mine, resource=clinic.chairs[1].pk, date=day.isoformat(), start_time="13:30")
    assert response.status_code == 200
    html = response.content.decode()
    assert "is-refused" in html
    assert "Not moved:" in html
    assert 'role="alert"' in html
    mine.refresh_from_db()
    assert (mine.status, mine.resource, mine.start, mine.version) == ("booked", clinic.chairs[0], at(day, 10), 1)
    assert Appointment.objects.count() == 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"start_time": "05:00"}, "Outside opening hours"),
        ({"start_time": "25:99"}, "Enter a valid time"),
        ({"date": "not-a-date"}, "Enter a valid date"),
        ({"resource": "999999"}, "not at the chosen location"),
        ({"version": "7"}, "Someone else changed this appointment"),
        ({"resource": "<script>alert(1)</script>"}, "not at the chosen location"),
    ],
)
def test_a_refused_or_nonsense_move_explains_itself_and_never_fails(
    client_as, frontdesk, clinic, patient, values, expected
):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    data = {"resource": clinic.chairs[1].pk, "date": day.isoformat(), "start_time": "12:00", **values}
    response = _move(client_as(frontdesk), appt, **data)
    assert response.status_code == 200
    html = response.content.decode()
    assert expected in html
    assert "<script>alert" not in html
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.BOOKED
    assert Appointment.objects.count() == 1


def test_a_consult_room_booking_cannot_be_dragged_into_a_chair(client_as, frontdesk, clinic, patient):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), resource=clinic.rooms[0])
    response = _move(client_as(frontdesk), appt, resource=clinic.chairs[0].pk, date=day.isoformat(), start_time="10:00")
    assert "needs a consult room" in response.content.decode()
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_only_roles_that_manage_bookings_may_move_and_only_they_get_draggable_cards(
    client_as, frontdesk, nurse, clinic, patient
):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    url = f"{CALENDAR}?location={clinic.site.pk}&date={day}"
    nurse_client = client_as(nurse)
    assert (
        _move(nurse_client, appt, resource=clinic.chairs[1].pk, date=day.isoformat(), start_time="11:00").status_code
        == 403
    )
    assert "data-move-url" not in nurse_client.get(url).content.decode()
    desk_page = client_as(frontdesk).get(url).content.decode()
    assert f'data-move-url="{reverse("scheduling:appointment-move", args=[appt.pk])}"' in desk_page
    assert 'data-drag="1"' in desk_page
    assert 'id="cal-move-dialog"' in desk_page
    assert Appointment.objects.get().status == AppointmentStatus.BOOKED


def test_checked_in_and_past_bookings_are_not_draggable(client_as, frontdesk, clinic, patient):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    Appointment.objects.filter(pk=appt.pk).update(status=AppointmentStatus.CHECKED_IN)
    page = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}").content.decode()
    assert "data-move-url" not in page
    past = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={local_day(-3)}").content.decode()
    assert 'data-drag="1"' not in past


def test_without_htmx_a_move_redirects_to_the_new_day_with_a_message(client_as, frontdesk, clinic, patient):
    day = local_day(2)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    client = client_as(frontdesk)
    url = reverse("scheduling:appointment-move", args=[appt.pk])
    later = local_day(3)
    response = client.post(
        url,
        {"version": 1, "resource": clinic.chairs[0].pk, "date": later.isoformat(), "start_time": "09:00"},
        follow=True,
    )
    new = Appointment.objects.get(rescheduled_from=appt)
    assert new.start == at(later, 9)
    assert response.redirect_chain[-1][0].endswith(f"focus={new.pk}")
    assert "Moved " in " ".join(str(m) for m in response.context["messages"])


def test_empty_slots_prefill_chair_time_and_location_of_the_booking_form(client_as, frontdesk, clinic):
    day = local_day(2)
    html = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}").content.decode()
    chair = clinic.chairs[1]
    expected = (
        f"{reverse('scheduling:book')}?location={clinic.site.pk}&amp;date={day.isoformat()}"
        f"&amp;start_time=10:30&amp;resource={chair.pk}"
    )
    assert f'href="{expected}" aria-label="Book {chair.name} at 10:30 AM"' in html


def test_the_move_answer_costs_the_same_queries_however_full_the_day(
    client_as, frontdesk, clinic, django_assert_max_num_queries
):
    day = local_day(2)
    first = book(clinic, PatientFactory(), frontdesk, start=at(day, 8), kind="infusion", resource=clinic.chairs[0])
    client = client_as(frontdesk)
    _move(client, first, resource=clinic.chairs[0].pk, date=day.isoformat(), start_time="08:05")
    first = Appointment.objects.get(rescheduled_from=first)  # compare a moved booking with a moved booking
    # The reschedule writes (lock, cancel, history, insert, audit, reminder sync) and the grid's reads.
    with django_assert_max_num_queries(45) as few:
        _move(client, first, resource=clinic.chairs[0].pk, date=day.isoformat(), start_time="08:10")
    for hour in (10, 12, 14, 16, 18):
        for chair in clinic.chairs:
            book(clinic, PatientFactory(), frontdesk, start=at(day, hour), kind="infusion", resource=chair)
    moved = Appointment.objects.get(rescheduled_from=first)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = _move(client, moved, resource=clinic.chairs[0].pk, date=day.isoformat(), start_time="08:15")
    assert "is-focus" in response.content.decode()


def _next_fall_back_day(tz_name: str):
    day = local_day(1, tz_name)
    while not rules.is_ambiguous(day, time(1, 30), tz_name):
        day += timedelta(days=1)
    return day


def test_the_grid_rows_are_local_wall_time_on_a_daylight_saving_day(client_as, frontdesk, patient):
    site = LocationFactory(name="DST site", time_zone="America/New_York")
    chair = ResourceFactory(location=site, kind="chair", name="Chair DST")
    day = _next_fall_back_day("America/New_York")  # a 25-hour day
    appt = rules.to_utc(day, time(10), site.time_zone)
    booked = Appointment.objects.create(
        patient=patient,
        appointment_type=appointment_type("infusion"),
        location=site,
        resource=chair,
        start=appt,
        end=appt + timedelta(minutes=60),
        clinician_exclusive=False,
    )
    client = client_as(frontdesk)
    response = client.get(f"{CALENDAR}?location={site.pk}&date={day}")
    data = response.context["data"]
    item = next(c for c in data.columns if c.resource == chair).items[0]
    # Opening 07:00 is row 1 and 10:00 local is three hours of 5-minute rows below it, not four.
    assert data.grid_start_minutes == 7 * 60
    assert item.row == 1 + 3 * 12
    assert 'data-start="10:00"' in response.content.decode()
    _move(client, booked, resource=chair.pk, date=day.isoformat(), start_time="10:30")
    new = Appointment.objects.get(rescheduled_from=booked)
    assert new.start == rules.to_utc(day, time(10, 30), site.time_zone)


def _next_spring_forward_day(tz_name: str):
    day = local_day(1, tz_name)
    while not rules.is_nonexistent(day, time(2, 30), tz_name):
        day += timedelta(days=1)
    return day


def test_the_hour_the_clocks_skip_offers_no_empty_slot_and_a_move_into_it_is_refused(client_as, frontdesk, patient):
    site = LocationFactory(name="Night site", hours=[(d, time(0), time(23, 59)) for d in range(7)])
    chair = ResourceFactory(location=site, kind="chair", name="Chair N")
    day = _next_spring_forward_day(site.time_zone)
    client = client_as(frontdesk)
    html = client.get(f"{CALENDAR}?location={site.pk}&date={day}").content.decode()
    assert "Book Chair N at 1:30 AM" in html
    assert "Book Chair N at 2:00 AM" not in html
    assert "Book Chair N at 2:30 AM" not in html
    assert "Book Chair N at 3:00 AM" in html
    start = rules.to_utc(day, time(4), site.time_zone)
    booked = Appointment.objects.create(
        patient=patient,
        appointment_type=appointment_type("infusion"),
        location=site,
        resource=chair,
        start=start,
        end=start + timedelta(minutes=60),
        clinician_exclusive=False,
    )
    response = _move(client, booked, resource=chair.pk, date=day.isoformat(), start_time="02:30")
    assert "does not exist" in response.content.decode()
    booked.refresh_from_db()
    assert booked.status == AppointmentStatus.BOOKED


def test_on_the_night_the_clocks_go_back_the_move_dialog_asks_which_time_is_meant(client_as, frontdesk, patient):
    site = LocationFactory(name="Night site", hours=[(d, time(0), time(23, 59)) for d in range(7)])
    chair = ResourceFactory(location=site, kind="chair", name="Chair N")
    day = _next_fall_back_day(site.time_zone)
    start = rules.to_utc(day, time(4), site.time_zone)
    booked = Appointment.objects.create(
        patient=patient,
        appointment_type=appointment_type("infusion"),
        location=site,
        resource=chair,
        start=start,
        end=start + timedelta(minutes=60),
        clinician_exclusive=False,
    )
    client = client_as(frontdesk)
    assert 'id="cal-move-fold"' in client.get(f"{CALENDAR}?location={site.pk}&date={day}").content.decode()
    ordinary = day + timedelta(days=2)
    assert 'id="cal-move-fold"' not in client.get(f"{CALENDAR}?location={site.pk}&date={ordinary}").content.decode()
    asked = _move(client, booked, resource=chair.pk, date=day.isoformat(), start_time="01:30")
    assert "happens twice" in asked.content.decode()
    _move(client, booked, resource=chair.pk, date=day.isoformat(), start_time="01:30", fold="1")
    new = Appointment.objects.get(rescheduled_from=booked)
    assert new.start == rules.to_utc(day, time(1, 30), site.time_zone, fold=1)
