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
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, SelfBooking, SelfBookingPolicy
from scheduling.services import self_booking as services
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type
from tests.e2e import axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
PHONE = {"width": 360, "height": 780}


def _every_violation(page) -> list[str]:
    """axe-core on the page as it is now, every impact (the suite's watcher blocks serious and critical)."""
    if not page.evaluate("() => !!window.axe"):
        page.evaluate(axe.AXE.read_text())
    page.wait_for_function("() => !window.__axeRunning", timeout=30_000)
    return page.evaluate(
        """async () => {
             window.__axeRunning = true;
             let results;
             try { results = await window.axe.run(document, {resultTypes: ["violations"]}); }
             finally { window.__axeRunning = false; }
             return results.violations.map((v) => `${v.impact} ${v.id} at ` +
               v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
           }"""
    )


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
