"""Browser: a front-desk morning. Find a patient despite a typo, book an intake from the
calendar, check someone in, mark a no-show. (Registering with the duplicate warning is
covered in test_patients.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, AppointmentStatus
from scheduling.tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    ResourceFactory,
    appointment_type,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


@pytest.fixture
def morning(settings):
    site = LocationFactory(name="Grace MindCare Midtown", time_zone=settings.TIME_ZONE)
    room = ResourceFactory(location=site, kind="room", name="Consult room 1")
    chair = ResourceFactory(location=site, kind="chair", name="Chair 1")
    doctor = ClinicianFactory(username="dr.e2e", first_name="Wei", last_name="Chen", credentials="MD", location=site)
    desk = UserFactory(username="desk.e2e", role=Role.FRONT_DESK)
    desk.password = make_password(PASSWORD)
    desk.save(update_fields=["password"])
    now = timezone.now().replace(second=0, microsecond=0)
    infusion = appointment_type("infusion")
    arriving = AppointmentFactory(
        patient=PatientFactory(legal_first_name="Arlo", legal_last_name="Arrival"),
        appointment_type=appointment_type("follow_up"),
        location=site,
        resource=room,
        clinician=doctor,
        start=now,
        end=now + timedelta(minutes=30),
    )
    missing = AppointmentFactory(
        patient=PatientFactory(legal_first_name="Nora", legal_last_name="Noshow"),
        appointment_type=infusion,
        location=site,
        resource=chair,
        start=now - timedelta(minutes=30),
        end=now + timedelta(minutes=70),
        clinician_exclusive=False,
    )
    newcomer = PatientFactory(legal_first_name="Zephyrine", legal_last_name="Quackenbush")
    return {"site": site, "doctor": doctor, "desk": desk, "arriving": arriving, "missing": missing, "new": newcomer}


def _sign_in(page, base, user):
    page.goto(f"{base}/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_front_desk_finds_books_checks_in_and_marks_a_no_show(live_server, page, morning):
    base = live_server.url
    _sign_in(page, base, morning["desk"])

    # 1. A misspelled surname still finds the patient.
    page.goto(f"{base}/patients/?q=Quakenbush")
    page.get_by_role("link", name="Quackenbush, Zephyrine").wait_for()

    # 2. Book her intake consultation from an empty room slot on the calendar.
    site = morning["site"]
    day = timezone.localdate() + timedelta(days=3)
    page.goto(f"{base}/schedule/?location={site.pk}&date={day.isoformat()}")
    page.get_by_role("link", name="Book Consult room 1 at 10:00 AM").click()
    page.wait_for_url("**/schedule/book/**")
    page.get_by_label("Find by name, date of birth, MRN or phone").fill("Quakenbush")
    page.get_by_label("Quackenbush, Zephyrine", exact=False).check()
    assert page.get_by_label("Appointment type").input_value() == str(appointment_type("consultation").pk)
    page.get_by_label("Clinician").select_option(label=str(morning["doctor"]))
    page.get_by_role("button", name="Book", exact=True).click()
    page.wait_for_url("**/schedule/?*")
    page.get_by_text("Booked intake consultation for Quackenbush, Zephyrine").wait_for()
    booked = Appointment.objects.get(patient=morning["new"])
    assert booked.start.astimezone(site.zone).hour == 10
    assert booked.resource.name == "Consult room 1"

    # 3. Check in today's arrival from the front desk home page.
    page.goto(f"{base}/")
    arriving = morning["arriving"]
    page.get_by_role("button", name="Check in: Arrival, Arlo").click()
    page.get_by_text("Arrival, Arlo: checked in.").wait_for()
    arriving.refresh_from_db()
    assert arriving.status == AppointmentStatus.CHECKED_IN

    # 4. Mark the patient who never came as a no-show, from the calendar's quick actions.
    missing = morning["missing"]
    missing_day = missing.start.astimezone(site.zone).date()
    page.goto(f"{base}/schedule/?location={site.pk}&date={missing_day.isoformat()}")
    card = page.locator(f"#appt-{missing.pk}")
    card.get_by_role("button", name="Actions for Noshow, Nora").click()
    with page.expect_response(lambda r: r.url.endswith(f"/appointments/{missing.pk}/status/")):
        card.get_by_role("button", name="No-show").click()
    page.locator(f"#appt-{missing.pk}").get_by_text("No-show").wait_for()  # the card was swapped in place
    missing.refresh_from_db()
    assert missing.status == AppointmentStatus.NO_SHOW
