"""Browser: a prescriber drafts a progress letter to the patient's psychiatrist from the care-team
card, writes the plan, signs it and downloads the PDF for the psychiatrist (a disclosure)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.urls import reverse
from playwright.sync_api import expect

from care_team.models import ProgressLetter
from documents.models import Disclosure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def _sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_a_prescriber_drafts_signs_and_releases_a_progress_letter(live_server, page):
    from care_team.tests.factories import authorised
    from consultations import services as consultation_services
    from consultations.tests.factories import ensure_protocol_library, plan_for, signed_consultation
    from prescribers.tests.factories import prescriber

    ensure_protocol_library()
    doctor = prescriber(username="dr.letters", first_name="Lena", last_name="Ortiz")
    doctor.password = make_password(PASSWORD)
    doctor.save(update_fields=["password"])
    consultation = signed_consultation()
    plan = plan_for(consultation)
    consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
    authorisation = authorised(patient=consultation.patient, provider=None)
    psychiatrist = authorisation.member.provider.name
    base = live_server.url

    _sign_in(page, base, doctor)
    page.goto(f"{base}{reverse('patients:detail', args=[consultation.patient_id])}")
    card = page.locator("#care-team")
    expect(card).to_contain_text(psychiatrist)
    card.get_by_role("button", name=f"Draft progress letter to {psychiatrist}").click()
    page.wait_for_url("**/care-team/letters/**")
    expect(page.get_by_role("heading", level=1)).to_contain_text(psychiatrist)
    page.get_by_label("Plan and comments").fill("Induction complete; monthly boosters for three months.")
    page.get_by_role("button", name="Sign and issue the letter").click()
    expect(page.get_by_text("Signed and issued")).to_be_visible()
    letter = ProgressLetter.objects.get()
    assert letter.status == "signed"
    assert letter.signed_by == doctor

    with page.expect_download() as download:
        page.get_by_role("link", name=f"Download PDF for {psychiatrist}").click()
    assert download.value.suggested_filename.endswith(".pdf")
    disclosure = Disclosure.objects.get(document_id=letter.document_id)
    assert (disclosure.recipient, disclosure.purpose, disclosure.by_id) == (psychiatrist, "referral", doctor.pk)
