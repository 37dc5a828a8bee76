"""Browser: a patient fills in the pre-visit packet on a 360 px phone (date of birth by keyboard,
every step, one medicine), and the clinician, beside the intake form, accepts one reported answer
into the intake; the others stay out of the record. axe-core checks every page it opens."""

from datetime import date

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents.models import ConsentSignature
from consents.tests.factories import ConsentVersionFactory
from consultations.models import Consultation
from consultations.tests.factories import ConsultationFactory
from packets.models import Packet
from packets.tests.factories import new_packet
from patients.tests.factories import PatientFactory
from prescribers.tests.factories import credentialed
from scheduling.tests.factories import AppointmentFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
PHONE = {"width": 360, "height": 740}


def test_patient_fills_the_packet_on_a_phone_and_the_clinician_accepts_an_answer(live_server, page):
    clinician = UserFactory(
        username="e2e.packet", role=Role.PRESCRIBER, first_name="Ana", last_name="Reyes", credentials="MD"
    )
    clinician.password = make_password(PASSWORD)
    clinician.save(update_fields=["password"])
    credentialed(clinician)
    patient = PatientFactory(legal_first_name="Jordan", legal_last_name="Sample", date_of_birth=date(1984, 3, 9))
    appointment = AppointmentFactory(patient=patient, clinician=clinician)
    consultation = ConsultationFactory(patient=patient, clinician=clinician)
    ConsentVersionFactory(title="Consent to intravenous ketamine treatment", body="You may stop at any time.")
    new = new_packet(patient, appointment=appointment)
    base = live_server.url
    page.set_viewport_size(PHONE)

    # The link from the text message; the date of birth typed and sent with the keyboard.
    page.goto(f"{base}/packets/open/{new.token}/")
    page.get_by_label("Your date of birth").fill("1984-03-09")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/packets/forms/")
    assert new.token not in page.url
    page.get_by_role("link", name="Start").click()

    # Details and contacts.
    page.get_by_label("Emergency contact: name").fill("Sam Sample")
    page.get_by_label("Emergency contact: phone").fill("(202) 555-0199")
    page.get_by_role("button", name="Save and continue").click()

    # Health history: "No" to everything, then "Yes" to high blood pressure, and one medicine.
    expect(page.get_by_role("heading", name="Your health history and medicines")).to_be_visible()
    for radio in page.locator("input[type=radio][value=no]").all():
        radio.check()
    page.locator("input[name=fact_hypertension][value=yes]").check()
    page.get_by_label("Medicine 1: name").fill("Sertraline")
    page.get_by_label("Medicine 1: dose and how often").fill("50 mg daily")
    page.get_by_role("button", name="Save and continue").click()

    # Baseline questionnaires.
    expect(page.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    for n, value in enumerate([1, 1, 0, 1, 0, 0, 1, 0, 0], start=1):
        page.locator(f"input[name='phq9-item_{n}'][value='{value}']").check()
    for n in range(1, 8):
        page.locator(f"input[name='gad7-item_{n}'][value='1']").check()
    page.get_by_role("button", name="Send my answers").click()

    # Fasting and escort instructions.
    expect(page.get_by_text("hours before your appointment").first).to_be_visible()
    page.get_by_label("Your escort's name").fill("Sam Sample")
    page.get_by_label("Your escort's phone").fill("(202) 555-0199")
    page.get_by_label("I have read these instructions").check()
    page.get_by_role("button", name="Save and continue").click()

    # The consent forms: handed over to the signing page (no second date-of-birth check) and back.
    page.wait_for_url(f"{base}/packets/forms/")
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"{base}/consents/sign/")
    expect(page.get_by_role("heading", name="Consent to intravenous ketamine treatment")).to_be_visible()
    page.get_by_label("I have read this consent").check()
    page.get_by_label("Type your full name to sign").fill("Jordan Sample")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(f"{base}/packets/forms/done/")
    assert ConsentSignature.objects.filter(patient=patient).count() == 1
    expect(page.get_by_text("Your forms are complete")).to_be_visible()
    assert Packet.objects.get(pk=new.packet.pk).completed_at is not None
    assert Consultation.objects.get(pk=consultation.pk).hypertension is None  # reported, not recorded

    # The clinician sees it beside the intake form, marked patient-reported, and accepts one answer.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/consultations/{consultation.pk}/")
    reported = page.locator("#reported-history")
    expect(reported).to_contain_text("Patient-reported")
    expect(reported).to_contain_text("Sertraline")
    reported.get_by_role("button", name="Accept Hypertension: Yes").click()
    expect(page.locator("#fact-hypertension")).to_contain_text("Accepted")
    saved = Consultation.objects.get(pk=consultation.pk)
    assert saved.hypertension is True
    assert saved.stroke_history is None  # not accepted: not in the record
