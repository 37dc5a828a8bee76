"""Browser: a titration step. The prescriber opens the patient's course after three infusions,
records a non-response review after infusion 3 and steps up the protocol's ladder; the course
shows the new signed version of the standing order and the outcomes page marks the dose step."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from consultations.models import StandingOrder
from courses.tests.factories import course, given_infusion

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def test_a_titration_step_signs_a_new_order_version(live_server, page):
    c = course(sessions_planned=6)
    protocol = c.plan.protocol
    protocol.titration_ladder = [Decimal("0.5"), Decimal("0.75")]
    protocol.titration_source = "[S2][S3]"
    protocol.save(update_fields=["titration_ladder", "titration_source"])
    for days in (9, 6, 3):
        given_infusion(c, started_at=timezone.now() - timedelta(days=days), delivered_mg="40")
    c.prescriber.password = make_password(PASSWORD)
    c.prescriber.save(update_fields=["password"])
    base = live_server.url

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(c.prescriber.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}/courses/patients/{c.patient.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Course over months")
    expect(page.locator("#exposure-h").locator("xpath=..")).to_contain_text("120.00 mg")
    page.get_by_role("link", name="Record a titration review").click()
    expect(page.get_by_text("A step up goes to 0.75.")).to_be_visible()
    page.get_by_label("Non-response review").check()
    page.get_by_label("Reviewed after infusion number").fill("3")
    page.get_by_label("What the review found").fill("PHQ-9 19 to 17 after three infusions; tolerated well.")
    page.get_by_label("Step up the ladder").check()
    page.get_by_role("button", name="Sign the review").click()

    expect(page.get_by_text("Standing order version 2 signed: 0.5 → 0.75 (step up the ladder).")).to_be_visible()
    expect(page.get_by_text("in force")).to_be_visible()
    order = StandingOrder.objects.get(plan=c.plan, superseded_at__isnull=True)
    assert (order.number, order.dose) == (2, Decimal("0.750"))
    assert order.reason.startswith("Titration (step up the ladder, non-response review after infusion 3)")

    page.goto(f"{base}/followups/patients/{c.patient.pk}/outcomes/")
    expect(page.locator("#dose-steps + ul")).to_contain_text("Order v2: 0.5 → 0.75 mg/kg")
