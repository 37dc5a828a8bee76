"""Browser: a patient books their intake consultation from a link on a 360 px phone, by keyboard
where it matters, with no axe-core violation of any impact on the public pages; the front desk
sees the held request and approves it."""

from datetime import date

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from core import tokens
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, SelfBooking, SelfBookingLink, SelfBookingPolicy, WaitlistEntry
from scheduling.services import appointment_book, appointment_cancel
from scheduling.services import self_booking as services
from scheduling.tests.conftest import at, local_day
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type
from scheduling.tests.selfbooking_helpers import texting_patient
from tests.e2e import axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


PASSWORD = "a long enough e2e password"
PHONE = {"width": 360, "height": 780}


def _every_violation(page) -> list[str]:
    """axe-core on the page as it is now, every impact (the suite's watcher blocks serious and critical)."""
    return axe.every_finding(page)


def _fits_the_phone(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scroll"


def test_a_patient_books_an_intake_consultation_on_a_phone_and_the_desk_approves_it(live_server, page):
    site = LocationFactory(name="Midtown", time_zone="America/New_York", address="12 Main Street")
    ResourceFactory(location=site, kind="room", name="Room 1")
    ClinicianFactory(username="dr.e2e", first_name="Ana", last_name="Reyes", credentials="MD", location=site)
    consultation = appointment_type("consultation")
    consultation.self_bookable = True
    consultation.save(update_fields=["self_bookable"])
    SelfBookingPolicy.objects.update_or_create(pk=1, defaults={"requires_approval": True, "min_notice_hours": 24})
    desk = UserFactory(username="e2e.desk", role=Role.FRONT_DESK, first_name="Rae", last_name="Desk")
    desk.password = make_password(PASSWORD)
    desk.save(update_fields=["password"])
    patient = PatientFactory(legal_first_name="Jordan", legal_last_name="Sample", date_of_birth=date(1984, 3, 9))
    new = services.self_booking_link_issue(patient=patient, by=desk)
    base = live_server.url
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("referer", ""))))
    page.set_viewport_size(PHONE)

    # The patient opens the link from a text and confirms their date of birth, by keyboard.
    page.goto(f"{base}/book/{new.token}/")
    page.wait_for_url(f"{base}/book/verify/")
    assert _every_violation(page) == []
    _fits_the_phone(page)
    page.get_by_label("Your date of birth").fill("1984-03-09")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/book/")
    assert new.token not in page.url
    expect(page.get_by_role("heading", name="Choose a time")).to_be_visible()
    assert _every_violation(page) == []
    _fits_the_phone(page)

    # The first day's first time, chosen with the keyboard: the radio group takes focus, Space picks.
    first = page.locator("input[name='slot']").first
    first.focus()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    page.get_by_role("button", name="Book this time").click()
    page.wait_for_url(f"{base}/book/done/")
    expect(page.get_by_role("heading", name="Your request is with the clinic")).to_be_visible()
    expect(page.get_by_text("Midtown")).to_be_visible()
    assert _every_violation(page) == []
    _fits_the_phone(page)
    # The token never left the first request: not in a later URL, never in a Referer, no third party.
    assert all(new.token not in url for url, _ in requests[1:])
    assert all(new.token not in referer for _, referer in requests)
    assert all(url.startswith(base) for url, _ in requests)

    booked = Appointment.objects.get(patient=patient)
    assert booked.start > timezone.now()
    assert SelfBooking.objects.get(appointment=booked).status == SelfBooking.Status.PENDING

    # The front desk approves the held request.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(desk.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("link", name="Online bookings and waitlist").click()
    row = page.locator(f"#request-{SelfBooking.objects.get().pk}")
    expect(row).to_contain_text("Jordan")
    row.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("No online booking is waiting.")).to_be_visible()
    assert SelfBooking.objects.get().status == SelfBooking.Status.APPROVED


def test_waitlisted_patients_claim_a_freed_slot_on_a_phone_first_wins_the_other_is_told(live_server, browser):
    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    ResourceFactory(location=site, kind="room", name="Room 1")
    doctor = ClinicianFactory(username="dr.e2e2", first_name="Ana", last_name="Reyes", credentials="MD", location=site)
    consultation = appointment_type("consultation")
    consultation.self_bookable = True
    consultation.save(update_fields=["self_bookable"])
    SelfBookingPolicy.objects.update_or_create(
        pk=1, defaults={"requires_approval": False, "min_notice_hours": 24, "waitlist_offer_count": 2}
    )
    desk = UserFactory(username="e2e.desk2", role=Role.FRONT_DESK)
    first = texting_patient(date_of_birth=date(1980, 1, 31))
    second = texting_patient(date_of_birth=date(1990, 6, 15))
    base = live_server.url
    phones = []
    for patient in (first, second):
        context = browser.new_context(viewport=PHONE)
        axe.watch(context)
        phone = context.new_page()
        phones.append(phone)
        # Each asks from their booking link to be told of an earlier time.
        new = services.self_booking_link_issue(patient=patient, by=desk)
        phone.goto(f"{base}/book/{new.token}/")
        phone.get_by_label("Your date of birth").fill(patient.date_of_birth.isoformat())
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{base}/book/")
        phone.get_by_role("button", name="Tell me about an earlier time").click()
        expect(phone.get_by_role("heading", name="You are on the waitlist")).to_be_visible()
        assert _every_violation(phone) == []
        _fits_the_phone(phone)
    assert WaitlistEntry.objects.filter(status="waiting").count() == 2

    # Someone cancels; both waiting patients get a claim link (the hook runs on commit).
    holder = PatientFactory()
    booked = services_book(site, consultation, doctor, holder, desk, at(local_day(4), 11))
    appointment_cancel(appointment=booked, by=desk, reason="Patient is travelling")
    offers = {link.patient_id: link for link in SelfBookingLink.objects.filter(kind="offer")}
    assert set(offers) == {first.pk, second.pk}
    tokens = {}
    for patient in (first, second):
        # The token is in the text only; the test issues a fresh one for the same offer.
        link = offers[patient.pk]
        token, token_hash = _new_token()
        SelfBookingLink.objects.filter(pk=link.pk).update(token_hash=token_hash)
        tokens[patient.pk] = token

    for phone, patient in zip(phones, (first, second), strict=True):
        phone.goto(f"{base}/book/{tokens[patient.pk]}/")
        phone.get_by_label("Your date of birth").fill(patient.date_of_birth.isoformat())
        phone.get_by_role("button", name="Continue").click()
        phone.wait_for_url(f"{base}/book/offer/")
        expect(phone.get_by_role("button", name="Claim this time")).to_be_visible()
        assert _every_violation(phone) == []
        _fits_the_phone(phone)

    phones[0].get_by_role("button", name="Claim this time").click()
    expect(phones[0].get_by_role("heading", name="You are booked")).to_be_visible()
    phones[1].get_by_role("button", name="Claim this time").click()
    expect(phones[1].get_by_role("heading", name="Sorry, someone else claimed that time first")).to_be_visible()
    for phone in phones:
        assert _every_violation(phone) == []
    assert Appointment.objects.get(patient=first, status="booked").start == booked.start
    assert WaitlistEntry.objects.get(patient=second).status == "waiting"


def services_book(site, kind, doctor, patient, desk, start):
    return appointment_book(
        patient=patient, appointment_type=kind, location=site, start=start, clinician=doctor, by=desk
    )


def _new_token():
    return tokens.issue()
