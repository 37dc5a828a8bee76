"""The booking forms: errors at the field, input kept, friendly conflicts, never a 500."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patients.models import Patient
from patients.tests.factories import PatientFactory
from scheduling import rules
from scheduling.models import Appointment, Closure, Series
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db
BOOK = reverse("scheduling:book")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _form(clinic, patient, day, **overrides):
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.consultation.pk),
        "location": str(clinic.site.pk),
        "date": day.isoformat(),
        "start_time": "10:00",
        "clinician": str(clinic.doctor.pk),
        "resource": "",
        "note": "",
    }
    data.update(overrides)
    return data


def _next_spring_gap_day():
    day = local_day(1)
    while True:
        try:
            rules.to_utc(day, time(2, 30), "America/New_York")
        except rules.NonexistentLocalTime:
            return day
        day += timedelta(days=1)


def test_a_valid_booking_redirects_to_the_calendar_day(client_as, frontdesk, clinic, patient):
    day = local_day(3)
    response = client_as(frontdesk).post(BOOK, _form(clinic, patient, day, note="Wheelchair"))
    assert response.status_code == 302
    assert f"date={day.isoformat()}" in response["Location"]
    appt = Appointment.objects.get(patient=patient)
    assert appt.start == at(day, 10)
    assert appt.note == "Wheelchair"


def test_the_booking_form_can_be_prefilled_from_a_calendar_slot(client_as, frontdesk, clinic):
    chair = clinic.chairs[1]
    url = f"{BOOK}?location={clinic.site.pk}&date={local_day(3)}&start_time=14:30&resource={chair.pk}"
    response = client_as(frontdesk).get(url)
    form = response.context["form"]
    assert form.initial["resource"] == str(chair.pk)
    assert form.initial["appointment_type"] == clinic.infusion.pk  # a chair: most likely an infusion
    assert 'value="14:30"' in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date": "2001-01-01"}, "date", "passed"),
        ({"end_time": "09:30"}, "end_time", "end must be after the start"),
        ({"patient": "GM9999999"}, "patient", "No patient"),
        ({"patient": "999999999"}, "patient", "No patient"),
        ({"start_time": "22:00"}, "start_time", "Outside opening hours"),
        ({"clinician": ""}, "clinician", "Choose the clinician"),
        ({"date": "not a date"}, "date", "valid date"),
    ],
)
def test_bad_input_is_explained_at_the_field_and_kept(client_as, frontdesk, clinic, patient, overrides, field, message):
    data = {**_form(clinic, patient, local_day(3), note="Keep me"), **overrides}
    response = client_as(frontdesk).post(BOOK, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert 'value="Keep me"' in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_deceased_patient_cannot_be_booked(client_as, frontdesk, clinic):
    patient = PatientFactory(status=Patient.Status.DECEASED)
    response = client_as(frontdesk).post(BOOK, _form(clinic, patient, local_day(3)))
    assert "deceased" in " ".join(response.context["form"].errors["patient"])


def test_a_closure_is_explained_at_the_start(client_as, frontdesk, clinic, patient):
    day = local_day(4)
    Closure.objects.create(location=clinic.site, starts_on=day, ends_on=day, reason="Independence Day")
    response = client_as(frontdesk).post(BOOK, _form(clinic, patient, day))
    assert "Independence Day" in " ".join(response.context["form"].errors["start_time"])


def test_a_time_that_does_not_exist_locally_is_refused_with_a_message(client_as, frontdesk, clinic, patient):
    response = client_as(frontdesk).post(BOOK, _form(clinic, patient, _next_spring_gap_day(), start_time="02:30"))
    assert "does not exist" in " ".join(response.context["form"].errors["start_time"])


def test_a_taken_slot_says_so_and_one_click_books_an_alternative(client_as, frontdesk, clinic, patient):
    day = local_day(3)
    book(clinic, PatientFactory(), frontdesk, start=at(day, 10), clinician=clinic.doctor)
    client = client_as(frontdesk)
    response = client.post(BOOK, _form(clinic, patient, day))
    assert response.status_code == 200
    assert "already seeing another patient" in " ".join(response.context["form"].errors["clinician"])
    alternatives = response.context["alternatives"]
    assert alternatives
    html = response.content.decode()
    assert 'name="alternative"' in html
    choice = f"{alternatives[0].start.isoformat()}|{alternatives[0].resource_id}"
    response = client.post(BOOK, {**_form(clinic, patient, day), "alternative": choice})
    assert response.status_code == 302
    assert Appointment.objects.get(patient=patient).start == alternatives[0].start


def test_hostile_text_is_stored_and_shown_as_text(client_as, frontdesk, clinic, patient):
    client = client_as(frontdesk)
    client.post(BOOK, _form(clinic, patient, local_day(3), note=HOSTILE[:300]))
    appt = Appointment.objects.get(patient=patient)
    client.post(
        reverse("scheduling:appointment-cancel", args=[appt.pk]), {"reason": HOSTILE[:200], "version": appt.version}
    )
    html = client.get(reverse("scheduling:appointment-detail", args=[appt.pk])).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    response = client.post(BOOK, {**_form(clinic, patient, local_day(3)), "patient_q": HOSTILE, "patient": ""})
    assert "<img src=x" not in response.content.decode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        [
            "patient",
            "appointment_type",
            "location",
            "date",
            "start_time",
            "end_time",
            "minutes",
            "clinician",
            "resource",
            "fold",
            "patient_q",
            "alternative",
            "note",
        ]
    ),
    value=st.text(max_size=400) | st.sampled_from(["-1", "0", "99999999999999999999", "\x00", "2026-02-30", "25:61"]),
)
def test_the_booking_form_never_fails_with_a_server_error(client_as, frontdesk, clinic, patient, field, value):
    with transaction.atomic():  # each example starts from the same empty calendar
        response = client_as(frontdesk).post(BOOK, {**_form(clinic, patient, local_day(3)), field: value})
        transaction.set_rollback(True)
    assert response.status_code in (200, 302)


def test_series_check_reports_conflicts_before_saving_and_books_the_chosen_times(client_as, frontdesk, clinic, patient):
    first = local_day(7)
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.infusion.pk),
        "location": str(clinic.site.pk),
        "first_date": first.isoformat(),
        "weekdays": [str(first.weekday())],
        "count": "3",
        "start_time": "10:00",
        "clinician": str(clinic.nurse.pk),
        "action": "check",
    }
    taken = book(clinic, patient, frontdesk, start=at(first + timedelta(days=7), 10), kind="follow_up")
    client = client_as(frontdesk)
    response = client.post(reverse("scheduling:series-new"), data)
    checks = response.context["checks"]
    assert [c.ok for c in checks] == [True, False, True]
    assert "already has an appointment" in response.content.decode()
    assert Appointment.objects.count() == 1  # nothing saved by checking
    picked = checks[1].alternatives[0].start
    response = client.post(
        reverse("scheduling:series-new"),
        {**data, "action": "book", "plan": response.context["plan_signature"], "occ-1": picked.isoformat()},
    )
    assert response.status_code == 302
    booked = Appointment.objects.filter(series__isnull=False).order_by("start")
    assert booked.count() == 3
    assert booked[1].start == picked
    assert taken.pk not in {a.pk for a in booked}


def test_series_with_occurrences_overlapping_each_other_are_refused_at_the_form(client_as, frontdesk, clinic, patient):
    first = local_day(7)
    data = _series(clinic, patient, first, action="check")
    client = client_as(frontdesk)
    response = client.post(reverse("scheduling:series-new"), data)
    # Pick a second time that overlaps the first (infusion + recovery runs to 11:40).
    overlapping = at(first, 11)
    response = client.post(
        reverse("scheduling:series-new"),
        {**data, "action": "book", "plan": response.context["plan_signature"], "occ-1": overlapping.isoformat()},
    )
    assert response.status_code == 200
    assert "Overlaps occurrence 1" in response.content.decode()
    assert not Appointment.objects.exists()


def _series(clinic, patient, first, **overrides):
    return {
        "patient": str(patient.pk),
        "appointment_type": str(clinic.infusion.pk),
        "location": str(clinic.site.pk),
        "first_date": first.isoformat(),
        "weekdays": [str(first.weekday())],
        "count": "2",
        "start_time": "10:00",
        "clinician": str(clinic.nurse.pk),
        "action": "book",
        **overrides,
    }


@pytest.mark.parametrize("start_time", ["", "   ", "25:99", HOSTILE])
def test_a_series_without_a_usable_time_is_refused_at_the_time_and_nothing_is_booked(
    client_as, frontdesk, clinic, patient, start_time
):
    data = _series(clinic, patient, local_day(7), start_time=start_time, plan="x", **{"occ-0": HOSTILE})
    response = client_as(frontdesk).post(reverse("scheduling:series-new"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["start_time"]
    assert response.context["form"]["first_date"].value() == data["first_date"]  # the input is kept
    assert not Series.objects.exists()
    assert not Appointment.objects.exists()


def test_a_series_occurrence_whose_time_does_not_exist_is_refused_before_anything_is_booked(
    client_as, frontdesk, clinic, patient
):
    """02:30 on the spring-forward day has no instant: the series says so for that date and books
    none of it (a series is all or nothing)."""
    gap = _next_spring_gap_day()
    response = client_as(frontdesk).post(
        reverse("scheduling:series-new"), _series(clinic, patient, gap, start_time="02:30")
    )
    assert response.status_code == 200
    checks = response.context["checks"]
    assert checks[0].start is None
    assert "does not exist" in checks[0].problems[0]
    assert "does not exist" in response.content.decode()
    assert not Series.objects.exists()
    assert not Appointment.objects.exists()


def test_a_series_starting_in_the_past_is_refused_at_the_first_date(client_as, frontdesk, clinic, patient):
    response = client_as(frontdesk).post(
        reverse("scheduling:series-new"),
        {
            "patient": str(patient.pk),
            "appointment_type": str(clinic.infusion.pk),
            "location": str(clinic.site.pk),
            "first_date": "2020-01-06",
            "weekdays": ["0"],
            "count": "6",
            "start_time": "10:00",
            "action": "check",
        },
    )
    assert "first_date" in response.context["form"].errors


def test_patient_search_lists_matches_as_choices(client_as, frontdesk):
    PatientFactory(legal_last_name="Okonkwo-Smith", legal_first_name="Adaeze")
    response = client_as(frontdesk).get(reverse("scheduling:patient-search"), {"patient_q": "Okonkwo"})
    html = response.content.decode()
    assert 'type="radio" name="patient"' in html
    assert "Okonkwo-Smith, Adaeze" in html


def _next_fall_back_day():
    day = local_day(1)
    while True:
        try:
            rules.to_utc(day, time(1, 30), "America/New_York")
        except rules.AmbiguousLocalTime:
            return day
        day += timedelta(days=1)


def test_a_time_that_happens_twice_needs_the_user_to_say_which(client_as, frontdesk, patient):
    from scheduling.tests.factories import LocationFactory, ResourceFactory, appointment_type

    night = LocationFactory(name="Night clinic", hours=[(d, time(0), time(23, 59)) for d in range(7)])
    chair = ResourceFactory(location=night, kind="chair")
    day = _next_fall_back_day()
    data = {
        "patient": str(patient.pk),
        "appointment_type": str(appointment_type("infusion").pk),
        "location": str(night.pk),
        "resource": str(chair.pk),
        "date": day.isoformat(),
        "start_time": "01:30",
    }
    client = client_as(frontdesk)
    response = client.post(BOOK, data)
    assert "happens twice" in " ".join(response.context["form"].errors["fold"])
    assert not Appointment.objects.exists()
    response = client.post(BOOK, {**data, "fold": "1"})  # the second 01:30, after the clocks go back
    assert response.status_code == 302
    booked = Appointment.objects.get()
    assert booked.start == rules.to_utc(day, time(1, 30), "America/New_York", fold=1)
    assert booked.start.astimezone(night.zone).fold == 1


def test_a_tampered_alternative_is_ignored_not_a_server_error(client_as, frontdesk, clinic, patient):
    data = {**_form(clinic, patient, local_day(3)), "location": "abc", "alternative": "2030-01-01T15:00:00+00:00|x"}
    response = client_as(frontdesk).post(BOOK, data)
    assert response.status_code == 200
    assert "location" in response.context["form"].errors
