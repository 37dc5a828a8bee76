"""The calendar pages: what they show, quick actions, and query counts that do not grow."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, AppointmentStatus, Location
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    ResourceFactory,
    appointment_type,
)

pytestmark = pytest.mark.django_db
CALENDAR = reverse("scheduling:calendar")


@pytest.fixture
def big_site(db):
    """A site with 12 chairs and 2 rooms, like the main clinic."""
    site = LocationFactory(name="Main", time_zone="America/New_York")
    chairs = [ResourceFactory(location=site, kind="chair", name=f"Chair {i}") for i in range(1, 13)]
    ResourceFactory(location=site, kind="room", name="Room 1")
    ResourceFactory(location=site, kind="room", name="Room 2")
    return site, chairs


def _fill_week(site, chairs, per_chair_per_day: int, monday, first_slot: int = 0):
    infusion = appointment_type("infusion")
    nurse = ClinicianFactory(location=site)
    patients = [PatientFactory() for _ in chairs]  # one per chair: never in two chairs at once
    rows = []
    for offset in range(6):
        day = monday + timedelta(days=offset)
        for chair, patient in zip(chairs, patients, strict=True):
            for slot in range(first_slot, first_slot + per_chair_per_day):
                start = at(day, 8 + 2 * slot)
                rows.append(
                    Appointment(
                        patient=patient,
                        appointment_type=infusion,
                        location=site,
                        resource=chair,
                        clinician=nurse,
                        start=start,
                        end=start + timedelta(minutes=100),
                        clinician_exclusive=False,
                    )
                )
    Appointment.objects.bulk_create(rows)
    return len(rows)


@pytest.mark.parametrize("view", ["week", "day"])
def test_the_calendar_query_count_does_not_grow_with_bookings(
    client_as, frontdesk, big_site, django_assert_max_num_queries, view
):
    site, chairs = big_site
    monday = local_day(7) - timedelta(days=local_day(7).weekday())
    url = f"{CALENDAR}?location={site.pk}&date={monday.isoformat()}&view={view}"
    client = client_as(frontdesk)
    _fill_week(site, chairs, 1, monday)
    # session, user, permissions ×2, locations, bookings, resources, hours, closures, role (nav),
    # audit entry (one statement), session save (savepoint, update, release)
    with django_assert_max_num_queries(14):
        small = client.get(url)
    _fill_week(site, chairs[:6], 4, monday + timedelta(days=7))  # next week: more rows in the table
    _fill_week(site, chairs[6:], 3, monday, first_slot=1)
    with django_assert_max_num_queries(14):
        large = client.get(url)
    assert small.status_code == large.status_code == 200
    assert len(large.context["data"].appointments) > len(small.context["data"].appointments)


def test_the_week_view_has_a_row_per_chair_and_room_and_a_column_per_day(client_as, frontdesk, big_site):
    site, chairs = big_site
    monday = local_day(7) - timedelta(days=local_day(7).weekday())
    _fill_week(site, chairs[:2], 1, monday)
    response = client_as(frontdesk).get(f"{CALENDAR}?location={site.pk}&date={monday}&view=week")
    data = response.context["data"]
    assert [c.label for c in data.columns] == [f"Chair {i}" for i in range(1, 13)] + ["Room 1", "Room 2"]
    assert len(data.days) == 7
    assert response.content.decode().count('class="chip appt-c-purple') == 12


def test_the_day_view_places_bookings_in_their_column_and_marks_now(client_as, frontdesk, clinic, patient):
    day = local_day(1)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[1])
    with time_machine.travel(at(day, 10, 30), tick=False):
        response = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}")
    data = response.context["data"]
    column = next(c for c in data.columns if c.resource == clinic.chairs[1])
    item = column.items[0]
    assert item.appointment == appt
    assert item.span == 100 // 5
    assert data.now_row == item.row + 30 // 5
    html = response.content.decode()
    assert f'id="appt-{appt.pk}"' in html
    assert "cal-now" in html
    assert patient.display_name in html


def test_cancelled_bookings_are_hidden_unless_asked_for(client_as, frontdesk, clinic, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    Appointment.objects.filter(pk=appt.pk).update(status=AppointmentStatus.CANCELLED, cancel_reason="x")
    url = f"{CALENDAR}?location={clinic.site.pk}&date={local_day(2)}"
    client = client_as(frontdesk)
    assert f'id="appt-{appt.pk}"' not in client.get(url).content.decode()
    assert f'id="appt-{appt.pk}"' in client.get(url + "&show=all").content.decode()


def test_the_calendar_survives_nonsense_parameters(client_as, frontdesk, clinic):
    response = client_as(frontdesk).get(CALENDAR, {"location": "x' OR 1=1", "date": "2026-02-30", "view": "<b>"})
    assert response.status_code == 200
    assert response.context["location"] == clinic.site


def test_the_calendar_without_any_location_explains_what_to_do(client_as, frontdesk):
    Location.objects.all().delete()
    assert "No clinic locations yet" in client_as(frontdesk).get(CALENDAR).content.decode()


def test_checking_in_from_the_calendar_with_htmx_swaps_the_card(client_as, frontdesk, clinic, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(1), 10))
    with time_machine.travel(appt.start - timedelta(minutes=10), tick=False):
        response = client_as(frontdesk).post(
            reverse("scheduling:appointment-status", args=[appt.pk]),
            {"to_status": "checked_in", "version": appt.version, "next": CALENDAR},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="appt-{appt.pk}"' in html
    assert "Checked in" in html
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CHECKED_IN


def test_a_refused_quick_action_explains_itself_in_the_card(client_as, frontdesk, clinic, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(1), 10))
    response = client_as(frontdesk).post(
        reverse("scheduling:appointment-status", args=[appt.pk]),
        {"to_status": "no_show", "version": appt.version},
        HTTP_HX_REQUEST="true",
    )
    assert "no-show can be recorded from" in response.content.decode()


def test_a_quick_action_without_htmx_redirects_back_with_a_message(client_as, frontdesk, clinic, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(1), 10))
    response = client_as(frontdesk).post(
        reverse("scheduling:appointment-status", args=[appt.pk]),
        {"to_status": "confirmed", "version": appt.version, "next": "https://evil.example/"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment-detail", args=[appt.pk])  # no open redirect


def test_the_day_sheet_lists_the_day_and_records_the_print(client_as, frontdesk, clinic, patient):
    book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    response = client_as(frontdesk).get(
        reverse("scheduling:day-sheet"), {"location": clinic.site.pk, "date": local_day(2).isoformat()}
    )
    assert patient.mrn in response.content.decode()
    event = AuditEvent.objects.get(action="scheduling.day_sheet.printed")
    assert (event.verb, event.changes["rows"]) == ("print", 1)


def test_the_appointment_page_shows_history_and_the_reschedule_link(client_as, frontdesk, clinic, patient):
    from scheduling import services

    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    new = services.appointment_reschedule(
        appointment=appt, by=frontdesk, start=at(local_day(3), 11), clinician=clinic.doctor
    )
    client = client_as(frontdesk)
    old_html = client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    assert "Moved to" in old_html
    assert reverse("scheduling:appointment-detail", args=[new.pk]) in old_html
    new_html = client.get(reverse("scheduling:appointment-detail", args=[new.pk])).content.decode()
    assert "Moved from" in new_html


def test_reschedule_page_offers_next_free_times_and_moves_the_booking(client_as, frontdesk, clinic, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    client = client_as(frontdesk)
    url = reverse("scheduling:appointment-reschedule", args=[appt.pk])
    page = client.get(url)
    assert page.context["alternatives"]
    response = client.post(
        url,
        {
            "date": local_day(4).isoformat(),
            "start_time": "15:00",
            "clinician": clinic.doctor.pk,
            "version": appt.version,
        },
    )
    assert response.status_code == 302
    new = Appointment.objects.get(rescheduled_from=appt)
    assert new.start == at(local_day(4), 15)


def test_the_front_desk_home_lists_arrivals_and_missing_escorts(client_as, frontdesk, clinic):
    patient = PatientFactory()
    today = local_day(0)
    with time_machine.travel(at(today, 6), tick=False):
        appt = book(clinic, patient, frontdesk, start=at(today, 9), kind="infusion")
        tomorrow = book(clinic, PatientFactory(), frontdesk, start=at(local_day(1), 9), kind="infusion")
        response = client_as(frontdesk).get(reverse("home"))
    html = response.content.decode()
    assert [a.pk for a in response.context["arrivals"]] == [appt.pk]
    assert {a.pk for a in response.context["escort_missing"]} == {appt.pk, tomorrow.pk}
    assert [a.pk for a in response.context["tomorrow"]] == [tomorrow.pk]
    assert "Escort not confirmed" in html
    assert "Check in" in html


def test_the_clinician_home_lists_todays_patients_booked_with_them(client_as, frontdesk, clinic):
    patient = PatientFactory()
    today = local_day(0)
    with time_machine.travel(at(today, 6), tick=False):
        book(clinic, patient, frontdesk, start=at(today, 11))
        book(clinic, PatientFactory(), frontdesk, start=at(today, 11), kind="infusion")  # the nurse's
        response = client_as(clinic.doctor).get(reverse("home"))
    assert [a.patient for a in response.context["todays_patients"]] == [patient]


def test_appointments_created_directly_still_render(client_as, admin):
    appt = AppointmentFactory()
    response = client_as(admin).get(reverse("scheduling:appointment-detail", args=[appt.pk]))
    assert response.status_code == 200


def test_clinician_columns_put_overlapping_monitored_chairs_side_by_side(client_as, frontdesk, clinic):
    day = local_day(2)
    for chair in clinic.chairs[:2]:
        book(clinic, PatientFactory(), frontdesk, start=at(day, 9), kind="infusion", resource=chair)
    book(clinic, PatientFactory(), frontdesk, start=at(day, 13))  # the doctor's intake
    response = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}&columns=clinicians")
    columns = {c.clinician: c for c in response.context["data"].columns if c.clinician}
    assert set(columns) == {clinic.doctor, clinic.nurse}
    assert columns[clinic.nurse].lanes == 2
    assert sorted(item.lane for item in columns[clinic.nurse].items) == [1, 2]
    assert columns[clinic.doctor].lanes == 1
    assert "lanes-2" in response.content.decode()


def test_the_week_table_escapes_what_people_typed(client_as, frontdesk, clinic):
    """The week cells are formatted in Python (speed); names must still come out as text."""
    patient = PatientFactory(legal_last_name='<script>alert("x")</script>', preferred_name="A&B")
    day = local_day(1)
    book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    response = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}&view=week")
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, A&amp;B" in html


def test_the_day_grid_escapes_what_people_typed_and_links_each_free_half_hour(client_as, frontdesk, clinic):
    """The grid's booking links are formatted in Python (speed); a typed chair name stays text."""
    clinic.chairs[0].name = 'Chair <b>"A&B"</b>'
    clinic.chairs[0].save()
    patient = PatientFactory(legal_last_name='<script>alert("x")</script>', preferred_name="A&B")
    day = local_day(1)
    appt = book(clinic, patient, frontdesk, start=at(day, 10), kind="infusion", resource=clinic.chairs[0])
    html = client_as(frontdesk).get(f"{CALENDAR}?location={clinic.site.pk}&date={day}").content.decode()
    assert "<script>alert" not in html
    assert "<b>" not in html
    assert 'data-name="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, A&amp;B"' in html
    link = (
        f'href="{reverse("scheduling:book")}?location={clinic.site.pk}&amp;date={day.isoformat()}'
        f'&amp;start_time=07:30&amp;resource={clinic.chairs[0].pk}" '
        'aria-label="Book Chair &lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt; at 7:30 AM"'
    )
    assert link in html
    # The site is open 07:00-21:00: 28 half-hours in each of 3 chairs and 2 rooms.
    assert html.count('class="cal-slot ') == 28 * 5
    assert f'data-move-url="{reverse("scheduling:appointment-move", args=[appt.pk])}"' in html


def test_the_front_desk_home_query_count_does_not_grow_with_arrivals(
    client_as, frontdesk, big_site, django_assert_max_num_queries
):
    site, chairs = big_site
    client = client_as(frontdesk)
    today = local_day(0)
    monday = today - timedelta(days=today.weekday())
    client.get(reverse("home"))
    with django_assert_max_num_queries(16) as small:
        client.get(reverse("home"))
    _fill_week(site, chairs, 3, monday)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("home"))
    assert response.status_code == 200


def test_a_cards_status_form_on_the_day_view_posts_with_its_own_csrf_token(frontdesk, clinic, patient):
    """The card's move forms are written by the view: each carries a CSRF token the check accepts."""
    import re

    from django.test import Client

    appt = book(clinic, patient, frontdesk, start=at(local_day(1), 10))
    client = Client(enforce_csrf_checks=True)
    client.force_login(frontdesk)
    page = client.get(CALENDAR, {"location": clinic.site.pk, "date": local_day(1).isoformat()}).content.decode()
    status_url = reverse("scheduling:appointment-status", args=[appt.pk])
    form = re.search(rf'<form method="post" action="{status_url}".*?</form>', page, re.S)
    assert form is not None
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.group(0)))
    assert fields["to_status"] == "confirmed"
    assert fields["version"] == str(appt.version)
    assert client.post(status_url, fields).status_code == 302
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CONFIRMED
