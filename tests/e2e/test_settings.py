"""Browser: an administrator opens a new site from the settings pages (the location, its
opening hours, a chair) and finds it in the booking form, without the Django admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from scheduling.models import Location, OpeningHours, Resource

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def test_an_administrator_adds_a_location_with_hours_and_a_chair_and_books_into_it(live_server, page):
    administrator = UserFactory(username="e2e.admin", role=Role.ADMINISTRATOR)
    administrator.password = make_password(PASSWORD)
    administrator.save(update_fields=["password"])
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(administrator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")

    # From the home page to the settings, then the location.
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Locations").first.click()
    page.get_by_role("link", name="Add location").click()
    page.get_by_label("Name").fill("Grace MindCare Uptown")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("is not an IANA time zone name").wait_for()
    assert page.get_by_label("Name").input_value() == "Grace MindCare Uptown"  # what was typed stays
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved location: Grace MindCare Uptown.").wait_for()
    site = Location.objects.get(name="Grace MindCare Uptown")

    # Its Monday hours.
    page.get_by_role("link", name="Opening hours").first.click()
    page.get_by_role("link", name="Add opening hours").click()
    page.get_by_label("Location").select_option(label="Grace MindCare Uptown")
    page.get_by_label("Weekday").select_option(label="Monday")
    page.get_by_label("Opens").fill("09:00")
    page.get_by_label("Closes").fill("17:00")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved opening hours").wait_for()
    hours = OpeningHours.objects.get(location=site)
    assert hours.effective_from is not None  # counts from today, not backwards

    # A chair.
    page.get_by_role("link", name="Chairs and rooms").first.click()
    page.get_by_role("link", name="Add chair or room").click()
    page.get_by_label("Location").select_option(label="Grace MindCare Uptown")
    page.get_by_label("Kind").select_option(label="Infusion chair")
    page.get_by_label("Name").fill("Window chair")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved chair or room: Window chair.").wait_for()
    assert Resource.objects.filter(location=site, name="Window chair", kind="chair").exists()

    # The front of the product offers it at once.
    page.goto(f"{base}/schedule/book/?location={site.pk}")
    assert "Grace MindCare Uptown" in page.get_by_label("Location").inner_text()
    assert "Window chair" in page.get_by_label("Chair or room").inner_text()


@pytest.mark.parametrize("width", [1280, 1366])
def test_the_administrators_navigation_fits_a_laptop_screen(live_server, page, width):
    """Every menu an administrator has, and the account menu at its right end, on one screen
    without scrolling sideways (a superuser's Admin link too)."""
    administrator = UserFactory(
        username="e2e.wide", role=Role.ADMINISTRATOR, first_name="Morgan", last_name="Ellison-Whitfield"
    )
    administrator.password = make_password(PASSWORD)
    administrator.is_superuser = True
    administrator.save(update_fields=["password", "is_superuser"])
    page.set_viewport_size({"width": width, "height": 800})
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(administrator.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    nav = page.get_by_role("navigation", name="Main navigation")
    account = nav.locator(".dropdown > button")
    box = account.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= width
    for name in ("Today", "Patients", "Schedule", "Reports", "Audit", "Settings", "Admin"):
        link = nav.get_by_role("link", name=name, exact=True)
        link_box = link.bounding_box()
        assert link_box is not None
        assert link_box["x"] + link_box["width"] <= width, name
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    account.click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
