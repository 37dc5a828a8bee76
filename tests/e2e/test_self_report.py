"""Browser: a patient answers a PHQ-9 by secure link on a phone, with item 9 positive, and
sees crisis resources; the clinician sees the urgent alert, acknowledges it with an action,
and finds the new point on the outcomes chart."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from assessments.models import ResponseContext
from assessments.services import response_record
from followups import services
from followups.models import SafetyAlert
from followups.tests.factories import phq9_for_total
from patients.tests.factories import PatientFactory
from prescribers.tests.factories import credentialed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
PHONE = {"width": 390, "height": 844}
ANSWERS = [2, 2, 2, 2, 1, 1, 1, 1, 2]  # total 14, item 9 = "More than half the days"


def test_patient_self_report_with_item9_positive_reaches_the_clinician(live_server, page):
    clinician = UserFactory(
        username="e2e.followup", role=Role.PRESCRIBER, first_name="Ana", last_name="Reyes", credentials="MD"
    )
    clinician.password = make_password(PASSWORD)
    clinician.save(update_fields=["password"])
    credentialed(clinician)
    patient = PatientFactory(legal_first_name="Jordan", legal_last_name="Sample", date_of_birth=date(1984, 3, 9))
    response_record(
        patient=patient,
        code="phq9",
        answers=phq9_for_total(21),
        context=ResponseContext.BASELINE,
        by=clinician,
        administered_at=timezone.now() - timedelta(days=30),
    )
    new = services.link_create(patient=patient, codes=["phq9"], by=clinician)
    base = live_server.url
    requests = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("referer", ""))))
    page.set_viewport_size(PHONE)

    # The patient opens the link from a text message and confirms their date of birth.
    page.goto(f"{base}/followups/q/{new.token}/")
    page.get_by_label("Your date of birth").fill("1984-03-09")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/followups/self-report/")
    assert new.token not in page.url
    expect(page.get_by_text("Little interest or pleasure in doing things")).to_be_visible()
    for n, value in enumerate(ANSWERS, start=1):
        page.locator(f"input[name='phq9-item_{n}'][value='{value}']").check()
    page.get_by_role("button", name="Send my answers").click()

    # Crisis resources, at once.
    crisis = page.locator("#crisis-resources")
    expect(crisis).to_be_visible()
    expect(crisis).to_contain_text("988")
    expect(crisis).to_contain_text("911")
    # The token never left the first request: not in a later URL, never in a Referer.
    later = requests[1:]
    assert all(new.token not in url for url, _ in later)
    assert all(new.token not in referer for _, referer in requests)
    assert all(url.startswith(base) for url, _ in requests)  # no third-party requests

    # The clinician sees the alert on their home page and acknowledges it with an action.
    page.context.clear_cookies()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    alerts = page.locator("#safety-alerts")
    expect(alerts).to_contain_text("Sample, Jordan")
    alerts.get_by_role("link", name="Sample, Jordan").click()
    page.get_by_label("Called the patient; risk assessed").check()
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"{base}/")
    expect(page.locator("#safety-alerts")).to_have_count(0)
    assert SafetyAlert.objects.get(patient=patient).action == "called_patient"

    # The new, patient-entered point is on the chart and in its table.
    page.goto(f"{base}/followups/patients/{patient.pk}/outcomes/")
    expect(page.locator("#trajectory-chart svg")).to_be_visible()
    expect(page.get_by_role("cell", name="Entered by the patient")).to_be_visible()
    expect(page.get_by_text("-33.3%")).to_be_visible()
