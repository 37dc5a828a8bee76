"""Browser: the whole front door on a 360 px phone. A person reaches out at /start/ (agreeing to
e-mail), chooses a time on the thank-you page and books their intake consultation; the pre-visit
forms arrive by e-mail (the channel they gave); they fill them in and sign the treatment consent;
the clinician, beside the intake form, accepts one reported answer into the record. Every public
page has no axe-core finding of any impact and fits the phone."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.hashers import make_password
from django.core import mail
from playwright.sync_api import expect

from consents.models import ConsentSignature
from consents.tests.factories import ConsentVersionFactory
from consultations.models import Consultation
from consultations.tests.factories import ConsultationFactory
from inquiries.models import Inquiry
from packets.services import packet_for_booking
from prescribers.tests.factories import credentialed
from scheduling.models import Appointment
from scheduling.tests.conftest import clinic  # noqa: F401 - the scheduling tests' clinic fixture
from scheduling.tests.selfbooking_helpers import policy, self_bookable
from tests.e2e.test_inquiry_form import PHONE, _findings

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def _public_page_is_clean(page) -> None:
    """No axe-core finding of any impact; nothing scrolls sideways on the phone."""
    assert _findings(page) == [], page.url
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_from_an_inquiry_to_a_booked_intake_with_a_signed_consent_and_the_history_accepted(
    live_server,
    page,
    clinic,  # noqa: F811
):
    policy(min_notice_hours=24, horizon_days=28, requires_approval=False)
    self_bookable(clinic.consultation)
    ConsentVersionFactory(title="Consent to intravenous ketamine treatment", body="You may stop at any time.")
    doctor = clinic.doctor
    doctor.password = make_password(PASSWORD)
    doctor.save(update_fields=["password"])
    credentialed(doctor)
    base = live_server.url
    page.set_viewport_size(PHONE)

    # The inquiry: e-mail as the way to be reached, which also covers reminders and forms.
    page.goto(f"{base}/start/")
    _public_page_is_clean(page)
    page.locator("#id_first_name").fill("Jordan")
    page.locator("#id_last_name").fill("Sample")
    page.locator("#id_date_of_birth").fill("03/09/1984")
    page.locator("#id_email").fill("jordan.sample@example.org")
    page.locator("#id_contact_by_2").check()  # e-mail
    page.locator("#id_reason_0").check()
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/start/thanks/")
    _public_page_is_clean(page)

    # A time for the first consultation, from the thank-you page.
    page.locator("#book-h ~ form button").click()
    page.wait_for_url(f"{base}/book/verify/")
    _public_page_is_clean(page)
    page.locator("#id_date_of_birth").fill("1984-03-09")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/book/")
    _public_page_is_clean(page)
    page.locator("label[for^=day-]").first.click()
    page.locator("#book-slot").click()
    page.wait_for_url(f"{base}/book/done/")
    _public_page_is_clean(page)
    expect(page.get_by_role("heading", name="You are booked")).to_be_visible()

    inquiry = Inquiry.objects.select_related("patient").get()
    patient = inquiry.patient
    assert (patient.email_opt_in, patient.email_consent_method, patient.sms_opt_in) == (True, "inquiry", False)
    appointment = Appointment.objects.get(patient=patient, appointment_type=clinic.consultation)

    # The worker sends the pre-visit forms for the booked intake, by e-mail only.
    mail.outbox.clear()
    assert packet_for_booking(appointment_id=appointment.pk) is not None
    (message,) = mail.outbox
    assert message.to == ["jordan.sample@example.org"]
    link = re.search(r"https?://\S+/packets/open/[^/\s]+/", message.body).group(0)
    token_path = link[link.index("/packets/open/") :]

    page.goto(f"{base}{token_path}")
    _public_page_is_clean(page)
    page.get_by_label("Your date of birth").fill("1984-03-09")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/packets/forms/")
    _public_page_is_clean(page)
    page.get_by_role("link", name="Start").click()
    _public_page_is_clean(page)
    page.get_by_label("Emergency contact: name").fill("Sam Sample")
    page.get_by_label("Emergency contact: phone").fill("(202) 555-0199")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_role("heading", name="Your health history and medicines")).to_be_visible()
    _public_page_is_clean(page)
    for radio in page.locator("input[type=radio][value=no]").all():
        radio.check()
    page.locator("input[name=fact_hypertension][value=yes]").check()
    page.get_by_label("Medicine 1: name").fill("Sertraline")
    page.get_by_label("Medicine 1: dose and how often").fill("50 mg daily")
    page.get_by_role("button", name="Save and continue").click()

    expect(page.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    _public_page_is_clean(page)
    for n, value in enumerate([1, 1, 0, 1, 0, 0, 1, 0, 0], start=1):
        page.locator(f"input[name='phq9-item_{n}'][value='{value}']").check()
    for n in range(1, 8):
        page.locator(f"input[name='gad7-item_{n}'][value='1']").check()
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_text("hours before your appointment").first).to_be_visible()
    _public_page_is_clean(page)
    page.get_by_label("Your escort's name").fill("Sam Sample")
    page.get_by_label("Your escort's phone").fill("(202) 555-0199")
    page.get_by_label("I have read these instructions").check()
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url(f"{base}/packets/forms/")
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url(f"{base}/consents/sign/")
    _public_page_is_clean(page)
    page.get_by_label("I have read this consent").check()
    page.get_by_label("Type your full name to sign").fill("Jordan Sample")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(f"{base}/packets/forms/done/")
    _public_page_is_clean(page)
    expect(page.get_by_text("Your forms are complete")).to_be_visible()
    assert ConsentSignature.objects.filter(patient=patient, method="online").count() == 1

    # The clinician opens the intake: the consent is current, the reported history waits beside it.
    consultation = ConsultationFactory(patient=patient, clinician=doctor, appointment=appointment)
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(doctor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/consultations/{consultation.pk}/")
    expect(page.locator("#section-consent")).to_contain_text("Signed (current version)")
    reported = page.locator("#reported-history")
    expect(reported).to_contain_text("Patient-reported")
    expect(reported).to_contain_text("Sertraline")
    assert Consultation.objects.get(pk=consultation.pk).hypertension is None  # reported, not recorded
    reported.get_by_role("button", name="Accept Hypertension: Yes").click()
    expect(page.locator("#fact-hypertension")).to_contain_text("Accepted")
    saved = Consultation.objects.get(pk=consultation.pk)
    assert saved.hypertension is True
    assert saved.stroke_history is None  # not accepted: not in the record
    assert patient.date_of_birth == date(1984, 3, 9)


def test_the_patient_cancels_their_online_booking_from_the_link_on_a_phone(
    live_server,
    page,
    clinic,  # noqa: F811
):
    """The same booking link, opened again, manages the booking: the manage page and the
    cancellation have no axe-core finding and fit the phone."""
    from scheduling.services import self_booking as booking_services
    from scheduling.tests.conftest import at, local_day
    from scheduling.tests.selfbooking_helpers import issue, texting_patient

    policy(min_notice_hours=24, horizon_days=28, requires_approval=False)
    self_bookable(clinic.consultation)
    patient = texting_patient(date_of_birth=date(1979, 9, 3))
    new = issue(patient)
    booking_services.self_booking_link_verify(link_id=new.link.pk, date_of_birth=patient.date_of_birth)
    booked = booking_services.self_booking_book(
        link_id=new.link.pk,
        appointment_type=clinic.consultation,
        location=clinic.site,
        start=at(local_day(5), 10),
        clinician_id=clinic.doctor.pk,
    )
    base = live_server.url
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/book/{new.token}/")
    page.locator("#id_date_of_birth").fill("1979-09-03")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/book/manage/")
    _public_page_is_clean(page)
    page.locator("#move-visit").click()
    expect(page.get_by_role("heading", name="Choose a new time")).to_be_visible()
    _public_page_is_clean(page)
    page.get_by_role("link", name="Back to your visit").click()
    page.locator("#cancel-visit").click()
    page.wait_for_url(f"{base}/book/done/")
    expect(page.get_by_role("heading", name="Your visit is cancelled")).to_be_visible()
    _public_page_is_clean(page)
    assert Appointment.objects.get(pk=booked.appointment.pk).status == "cancelled"
