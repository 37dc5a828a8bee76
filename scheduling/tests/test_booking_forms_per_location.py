"""The booking, series, find and reschedule forms follow the chosen location: its chairs and rooms
only, its time zone's daylight-saving question only when it matters, and a confirmation that
says which dates were booked."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from scheduling import rules
from scheduling.models import Appointment, AppointmentStatus
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import LocationFactory, ResourceFactory, appointment_type

pytestmark = pytest.mark.django_db
BOOK = reverse("scheduling:book")
SERIES = reverse("scheduling:series-new")
OPTIONS = reverse("scheduling:resource-options")


@pytest.fixture
def uptown(clinic):
    site = LocationFactory(name="Uptown", time_zone="America/New_York")
    return {"site": site, "chair": ResourceFactory(location=site, kind="chair", name="Uptown chair A")}


def _names(form) -> set[str]:
    return {r.name for r in form.fields["resource"].queryset}


def test_the_booking_form_lists_only_the_chosen_locations_chairs_and_rooms(client_as, frontdesk, clinic, uptown):
    client = client_as(frontdesk)
    form = client.get(BOOK, {"location": clinic.site.pk}).context["form"]
    assert _names(form) == {"Chair 1", "Chair 2", "Chair 3", "Room 1", "Room 2"}
    form = client.get(BOOK, {"location": uptown["site"].pk}).context["form"]
    assert _names(form) == {"Uptown chair A"}
    html = client.get(BOOK, {"location": uptown["site"].pk}).content.decode()
    assert "Uptown chair A" in html
    assert "Chair 1<" not in html
    # The location select asks for the new list when it changes.
    assert f'hx-get="{OPTIONS}"' in html
    assert 'hx-target="#id_resource"' in html


@pytest.mark.parametrize("auto_id", ["id_%s", "f-%s", True, "custom", False])
@pytest.mark.parametrize("prefix", [None, "b"])
def test_the_location_select_refreshes_the_resource_select_whatever_its_id(frontdesk, clinic, auto_id, prefix):
    """The refresh targets the id Django renders for the resource select (an id format, the bare
    name for auto_id=True or one without a %s, none at all for auto_id=False), never a crash."""
    from scheduling.forms import BookingForm

    form = BookingForm(user=frontdesk, initial={"location": clinic.site.pk}, auto_id=auto_id, prefix=prefix)
    target = form.fields["location"].widget.attrs["hx-target"]
    select = str(form["resource"])
    if auto_id is False:
        assert target == ""
        assert " id=" not in select
    else:
        assert target.startswith("#")
        assert f'id="{target[1:]}"' in select


def test_another_sites_chair_is_refused_at_the_field_and_nothing_is_booked(
    client_as, frontdesk, clinic, uptown, patient
):
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.infusion.pk),
        "location": str(clinic.site.pk),
        "date": local_day(3).isoformat(),
        "start_time": "10:00",
        "clinician": str(clinic.nurse.pk),
        "resource": str(uptown["chair"].pk),
    }
    response = client_as(frontdesk).post(BOOK, data)
    assert response.status_code == 200
    assert "not at the chosen location" in " ".join(response.context["form"].errors["resource"])
    assert response.context["form"]["start_time"].value() == "10:00"  # what was typed stays
    assert not Appointment.objects.exists()


def test_the_resource_options_follow_the_location_and_shrug_off_nonsense(client_as, frontdesk, clinic, uptown):
    client = client_as(frontdesk)
    html = client.get(OPTIONS, {"location": uptown["site"].pk, "empty": "Any free one"}).content.decode()
    assert "Uptown chair A" in html
    assert "Chair 1" not in html
    assert ">Any free one<" in html
    for junk in ("", "abc", "99999999", "1; DROP TABLE", "<script>"):
        response = client.get(OPTIONS, {"location": junk, "empty": "<b>x</b>"})
        assert response.status_code == 200
        assert "Chair" not in response.content.decode()
        assert "<b>" not in response.content.decode()


def test_a_desk_of_one_site_is_offered_no_other_sites_chairs(client_as, frontdesk, clinic, uptown):
    from scheduling.models import StaffLocation

    frontdesk.chain_wide = False
    frontdesk.save(update_fields=["chain_wide"])
    StaffLocation.objects.create(user=frontdesk, location=clinic.site)
    client = client_as(frontdesk)
    assert "Chair 1" in client.get(OPTIONS, {"location": clinic.site.pk}).content.decode()
    elsewhere = client.get(OPTIONS, {"location": uptown["site"].pk})
    assert elsewhere.status_code == 200
    assert "Uptown chair A" not in elsewhere.content.decode()


def test_the_find_and_series_forms_list_only_the_locations_resources(client_as, frontdesk, clinic, uptown):
    client = client_as(frontdesk)
    find = client.get(reverse("scheduling:find"), {"location": uptown["site"].pk}).context["form"]
    assert _names(find) == {"Uptown chair A"}
    series = client.get(SERIES, {"location": uptown["site"].pk}).context["form"]
    assert _names(series) == {"Uptown chair A"}


def _next_fall_back_day():
    day = local_day(1)
    while not rules.is_ambiguous(day, time(1, 30), "America/New_York"):
        day += timedelta(days=1)
    return day


def test_the_daylight_saving_question_is_asked_only_when_the_time_happens_twice(client_as, frontdesk, patient):
    night = LocationFactory(name="Night clinic", hours=[(d, time(0), time(23, 59)) for d in range(7)])
    chair = ResourceFactory(location=night, kind="chair")
    client = client_as(frontdesk)
    assert "If that time happens twice" not in client.get(BOOK, {"location": night.pk}).content.decode()
    day = _next_fall_back_day()
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(appointment_type("infusion").pk),
        "location": str(night.pk),
        "resource": str(chair.pk),
        "date": (day + timedelta(days=1)).isoformat(),
        "start_time": "01:30",
        "minutes": "abc",  # an error elsewhere re-shows the form
    }
    ordinary = client.post(BOOK, data)
    assert "If that time happens twice" not in ordinary.content.decode()
    twice = client.post(BOOK, {**data, "date": day.isoformat(), "minutes": ""})
    assert "If that time happens twice" in twice.content.decode()
    assert "happens twice" in " ".join(twice.context["form"].errors["fold"])
    assert not Appointment.objects.exists()


def test_a_new_booking_is_scrolled_to_and_highlighted_on_the_calendar(client_as, frontdesk, clinic, patient):
    client = client_as(frontdesk)
    day = local_day(3)
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.consultation.pk),
        "location": str(clinic.site.pk),
        "date": day.isoformat(),
        "start_time": "10:00",
        "clinician": str(clinic.doctor.pk),
    }
    response = client.post(BOOK, data)
    booked = Appointment.objects.get()
    assert f"focus={booked.pk}" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert "cal-appt gr-s" in page
    assert "is-focus" in page
    assert page.index("is-focus") < page.index(f'id="appt-{booked.pk}"')


def test_the_series_confirmation_lists_every_booked_date_in_the_clinics_zone(client_as, frontdesk, clinic, patient):
    first = local_day(7)
    first += timedelta(days=(0 - first.weekday()) % 7)  # a Monday
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.infusion.pk),
        "location": str(clinic.site.pk),
        "first_date": first.isoformat(),
        "weekdays": ["0", "2", "4"],
        "count": "3",
        "start_time": "10:00",
        "clinician": str(clinic.nurse.pk),
        "action": "book",
    }
    client = client_as(frontdesk)
    response = client.post(SERIES, data, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Booked 3 × infusion" in text
    for offset in (0, 2, 4):
        assert rules.when_text(at(first + timedelta(days=offset), 10).astimezone(clinic.site.zone)) in text
    assert "America/New_York" in text


def test_rescheduling_can_move_a_visit_to_another_location_and_its_chair(client_as, frontdesk, clinic, uptown, patient):
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 10), kind="infusion", resource=clinic.chairs[0])
    url = reverse("scheduling:appointment-reschedule", args=[appt.pk])
    client = client_as(frontdesk)
    form = client.get(url).context["form"]
    assert _names(form) == {"Chair 1", "Chair 2", "Chair 3", "Room 1", "Room 2"}
    data = {
        "location": uptown["site"].pk,
        "date": local_day(4).isoformat(),
        "start_time": "11:00",
        "clinician": "",
        "version": appt.version,
    }
    # The old site's chair is not offered for the new site, and is refused if posted anyway.
    refused = client.post(url, {**data, "resource": clinic.chairs[0].pk})
    assert refused.status_code == 200
    assert refused.context["form"].errors["resource"]
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.BOOKED
    response = client.post(url, {**data, "resource": uptown["chair"].pk})
    assert response.status_code == 302
    new = Appointment.objects.get(rescheduled_from=appt)
    assert (new.location, new.resource, new.start) == (uptown["site"], uptown["chair"], at(local_day(4), 11))
    assert f"location={uptown['site'].pk}" in response["Location"]
    assert f"focus={new.pk}" in response["Location"]
    event = AuditEvent.objects.filter(action="scheduling.appointment.rescheduled").get()
    assert event.changes["location"] == [clinic.site.pk, uptown["site"].pk]
    appt.refresh_from_db()
    assert appt.status == AppointmentStatus.CANCELLED
    assert list(appt.status_changes.values_list("to_status", flat=True)) == ["booked", "cancelled"]


def test_find_next_available_opened_from_the_calendar_is_a_form_to_fill_not_a_failed_search(
    client_as, frontdesk, clinic
):
    client = client_as(frontdesk)
    opened = client.get(reverse("scheduling:find"), {"location": clinic.site.pk})
    assert not opened.context["form"].is_bound
    assert "This field is required" not in opened.content.decode()
    assert opened.context["form"]["location"].value() == str(clinic.site.pk)  # the calendar's site, chosen
    searched = client.get(reverse("scheduling:find"), {"location": clinic.site.pk, "appointment_type": ""})
    assert "This field is required" in searched.content.decode()  # an empty search still says what is missing
