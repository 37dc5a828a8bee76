"""Browser: a patient confirms a visit from the link in a reminder text, on a phone. A real browser
is the test here: under a no-referrer policy Chromium posts the form with ``Origin: null``, which
the CSRF check refuses, so the answer only a browser gives is whether the patient's tap counts."""

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from reminders.services.links import reminder_links_issue
from reminders.tests.conftest import due_reminders, make_rule, opted_patient
from scheduling.models import AppointmentStatus
from scheduling.tests.conftest import at, book, local_day
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 780}


def test_a_patient_confirms_a_visit_from_the_reminder_link_on_a_phone(live_server, page):
    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    ResourceFactory(location=site, kind="room", name="Room 1")
    doctor = ClinicianFactory(username="dr.reminder", credentials="MD", location=site)
    clinic = SimpleNamespace(
        site=site,
        doctor=doctor,
        nurse=doctor,
        consultation=appointment_type("consultation"),
        follow_up=appointment_type("follow_up"),
        infusion=appointment_type("infusion"),
    )
    patient = opted_patient(email=False)
    desk = UserFactory(username="desk.reminder", role=Role.FRONT_DESK)
    appointment = book(clinic, patient, desk, start=at(local_day(5), 10))
    rule = make_rule(types=[clinic.consultation], hours=24, email=False)
    [reminder] = due_reminders(rule, [appointment], key="e2e-link")
    token = reminder_links_issue(reminders=[reminder])[reminder.pk]

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/schedule/visit/{token}/")
    page.wait_for_url(f"{live_server.url}/schedule/visit/")
    assert token not in page.url
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("confirmed", exact=False).first).to_be_visible()

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CONFIRMED
