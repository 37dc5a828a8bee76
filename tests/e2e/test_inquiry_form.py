"""Browser: a person reaches out on a 360 px phone with the keyboard alone. A first try without a
way to be contacted is refused at the field with what was typed kept; fixed, it is thanked. Every
state of the public pages has no axe-core finding at any impact (not only the serious ones the
suite blocks on), nothing scrolls sideways, the honeypot is never reached by Tab, and every
control is at least 24 px high (WCAG 2.2 target size)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from inquiries.models import Inquiry
from scheduling.models import Appointment
from scheduling.tests.conftest import clinic  # noqa: F401 - the scheduling tests' clinic fixture
from scheduling.tests.factories import LocationFactory
from scheduling.tests.selfbooking_helpers import policy, self_bookable
from tests.e2e import axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def _findings(page) -> list[str]:
    """Every finding, whatever its impact, target size included: the public pages have none."""
    return axe.every_finding(page)


def _fits_the_phone(page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    small = page.evaluate(
        """() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main button')]
                 .filter((el) => !el.closest('.hp-field'))
                 .filter((el) => { const r = el.getBoundingClientRect(); return r.height < 24 || r.width < 24; })
                 .map((el) => el.id || el.name)"""
    )
    assert small == []


def _tab_to(page, target: str, *, limit: int = 80) -> None:
    """Press Tab until the element with id ``target`` (or matching the selector) has the focus,
    never passing the honeypot."""
    selector = target if any(c in target for c in "#.[ ") else f"#{target}"
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(s) => [document.activeElement && document.activeElement.id,"
            " !!(document.activeElement && document.activeElement.matches(s))]",
            selector,
        )
        assert focused[0] != "id_website", "the honeypot took the focus"
        if focused[1]:
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_person_reaches_out_on_a_phone_with_the_keyboard_alone(live_server, page):
    LocationFactory(name="Lakeview")
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.get_by_role("link", name="Reach out to us")).to_be_visible()
    _tab_to(page, "#start-link a")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/start/")
    expect(page.get_by_role("heading", name="Reach out to us")).to_be_visible()
    assert _findings(page) == []
    _fits_the_phone(page)

    # "Who is filling in": the first radio is "myself"; Space chooses it.
    _tab_to(page, "id_who_0")
    page.keyboard.press("Space")
    _tab_to(page, "id_first_name")
    page.keyboard.type("Robin")
    _tab_to(page, "id_last_name")
    page.keyboard.type("Alvarez")
    _tab_to(page, "id_date_of_birth")
    page.keyboard.type("04/12/1986")
    _tab_to(page, "id_phone")
    page.keyboard.type("(312) 555-0188")
    _tab_to(page, "id_reason_0")
    page.keyboard.press("ArrowDown")  # anxiety
    page.keyboard.press("ArrowUp")  # back to depression
    _tab_to(page, "id_preferred_location")
    page.keyboard.press("ArrowDown")  # Lakeview
    _tab_to(page, "id_referrer_npi")
    page.keyboard.press("Enter")  # sends the form: no way to be contacted was chosen

    expect(page.get_by_role("alert")).to_contain_text("You may contact me by")
    expect(page.locator("#id_contact_by_error")).to_have_text("Choose at least one way we may contact you.")
    expect(page.locator("#id_first_name")).to_have_value("Robin")  # what was typed stays
    expect(page.locator("#id_phone")).to_have_value("(312) 555-0188")
    assert _findings(page) == []
    _fits_the_phone(page)
    assert not Inquiry.objects.exists()

    # The error summary's link takes the focus to the field; Space ticks "Phone call".
    _tab_to(page, "#form-errors a")
    page.keyboard.press("Enter")
    _tab_to(page, "id_contact_by_0")
    page.keyboard.press("Space")
    _tab_to(page, "id_referrer_npi")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{live_server.url}/start/thanks/")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert _findings(page) == []
    _fits_the_phone(page)
    inquiry = Inquiry.objects.get()
    assert (inquiry.last_name, inquiry.reason, inquiry.channels) == ("Alvarez", "depression", ["phone"])
    assert inquiry.preferred_location.name == "Lakeview"


def test_from_the_thanks_to_a_booked_consultation_on_a_phone(live_server, page, clinic):  # noqa: F811
    policy(min_notice_hours=24, horizon_days=28, requires_approval=False)
    self_bookable(clinic.consultation)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/start/")
    _tab_to(page, "id_first_name")
    page.keyboard.type("Sam")
    _tab_to(page, "id_last_name")
    page.keyboard.type("Okoye")
    _tab_to(page, "id_date_of_birth")
    page.keyboard.type("09/03/1979")
    _tab_to(page, "id_email")
    page.keyboard.type("sam.okoye@example.org")
    _tab_to(page, "id_contact_by_2")  # e-mail
    page.keyboard.press("Space")
    _tab_to(page, "id_reason_0")  # the group's first; arrows choose within it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # PTSD
    _tab_to(page, "id_referrer_npi")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/start/thanks/")
    assert _findings(page) == []
    _fits_the_phone(page)

    _tab_to(page, "#book-h ~ form button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/book/verify/")
    _tab_to(page, "#id_date_of_birth")
    page.keyboard.type("09031979")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/book/")
    _tab_to(page, "input[name=slot]")  # the slots are one radio group: Tab reaches the first time
    page.keyboard.press("Space")
    _tab_to(page, "#book-slot")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/book/done/")

    inquiry = Inquiry.objects.select_related("patient").get()
    assert (inquiry.patient.legal_last_name, inquiry.reason) == ("Okoye", "ptsd")
    assert Appointment.objects.filter(patient=inquiry.patient, appointment_type=clinic.consultation).count() == 1
    expect(page.get_by_role("heading").first).to_be_visible()
    inquiry.refresh_from_db()
    assert inquiry.status == "booked"
