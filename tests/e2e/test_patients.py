"""Browser: front desk finds a patient by a misspelled surname, then registers a
near-copy, sees the duplicate warning, proceeds with a reason and lands on the new page."""

import re
from datetime import date

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def test_front_desk_finds_a_misspelled_patient_and_registers_a_near_copy_with_a_reason(live_server, page):
    user = UserFactory(username="e2e-frontdesk", role=Role.FRONT_DESK)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    existing = PatientFactory(legal_last_name="Johnson", legal_first_name="Mary", date_of_birth=date(1980, 3, 7))
    PatientFactory(legal_last_name="Miller", legal_first_name="Ann")

    page.goto(f"{live_server.url}/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")

    # Find her by a misspelled surname.
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Patients").click()
    page.get_by_label(re.compile("^Search by name")).fill("Jonsen")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Johnson, Mary")).to_be_visible()
    expect(page.get_by_role("link", name="Miller, Ann")).to_have_count(0)

    # Register a near-copy: the registry warns and links to the existing record.
    page.get_by_role("link", name="Register a patient").click()
    page.get_by_label("Legal last name").fill("Jonson")
    page.get_by_label("Legal first name").fill("Mary")
    page.get_by_label("Date of birth").fill("3/7/80")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="This person may already be registered")).to_be_visible()
    expect(page.get_by_role("link", name="Johnson, Mary")).to_have_attribute("href", f"/patients/{existing.pk}/")
    expect(page.get_by_label("Legal last name")).to_have_value("Jonson")  # what was typed is kept

    # Proceed with a reason: the new patient's page opens.
    page.get_by_label("Reason to register anyway").fill("Different person: cousin, confirmed with photo ID")
    page.get_by_role("button", name="Register anyway").click()
    page.wait_for_url(re.compile(r"/patients/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Jonson, Mary")
    expect(page.get_by_text("Registered Jonson, Mary")).to_be_visible()

    new = Patient.objects.get(legal_last_name="Jonson")
    assert page.url.endswith(f"/patients/{new.pk}/")
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=new.pk)
    assert event.changes["duplicate_reason"] == [None, "Different person: cousin, confirmed with photo ID"]
