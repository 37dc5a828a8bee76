"""Browser: a patient signs the treatment consent by secure link on a 360 px phone, drawing a
signature with a finger (here the mouse); another signs with the keyboard only (typed name, no
drawing). axe-core checks every page (tests/e2e/conftest.py)."""

from datetime import date

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents import services
from consents.models import ConsentKind, ConsentSignature, SignatureMethod
from consents.tests.factories import ConsentVersionFactory
from patients.tests.factories import PatientFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


def _open(page, base, token, dob):
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/consents/c/{token}/")
    page.get_by_label("Your date of birth").fill(dob)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/consents/sign/")
    assert token not in page.url


def _fits_the_phone(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_patient_signs_the_consent_on_a_phone_with_a_drawn_signature(live_server, page):
    desk = UserFactory(username="e2e.desk.consent", role=Role.FRONT_DESK)
    version = ConsentVersionFactory(
        title="Consent to intravenous ketamine treatment", body="Ketamine is used off-label.\n\nYou may stop."
    )
    patient = PatientFactory(legal_first_name="Jordan", legal_last_name="Sample", date_of_birth=date(1984, 3, 9))
    new = services.consent_link_create(patient=patient, kinds=[ConsentKind.TREATMENT], by=desk)
    base = live_server.url
    _open(page, base, new.token, "1984-03-09")

    expect(page.get_by_role("heading", name="Consent to intravenous ketamine treatment")).to_be_visible()
    expect(page.get_by_text("Ketamine is used off-label.")).to_be_visible()
    assert _fits_the_phone(page)
    canvas = page.locator("#signature-pad")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 20 + step * 20, box["y"] + box["height"] / 2 + (10 if step % 2 else -10))
    page.mouse.up()
    page.get_by_label("Type your full name to sign").fill("Jordan Sample")
    page.get_by_label("I have read this consent").check()
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(f"{base}/consents/sign/done/")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    signature = ConsentSignature.objects.get(patient=patient)
    assert (signature.version_id, signature.method, signature.typed_name) == (
        version.pk,
        SignatureMethod.ONLINE,
        "Jordan Sample",
    )
    assert bytes(signature.signature_png).startswith(b"\x89PNG")
    assert signature.ip_address == "127.0.0.1"
    assert "Chrome" in signature.user_agent


def test_a_keyboard_only_patient_signs_with_the_typed_name_alone(live_server, page):
    desk = UserFactory(username="e2e.desk.consent2", role=Role.FRONT_DESK)
    ConsentVersionFactory(body="Read this.")
    patient = PatientFactory(legal_first_name="Riley", legal_last_name="Keys", date_of_birth=date(1990, 1, 2))
    new = services.consent_link_create(patient=patient, kinds=[ConsentKind.TREATMENT], by=desk)
    base = live_server.url
    _open(page, base, new.token, "1990-01-02")

    # The consent text is a focusable region (it scrolls with the arrow keys), then the box, the name.
    page.locator("#consent-text").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_agree"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_typed_name"
    page.keyboard.type("Riley Keys")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/consents/sign/done/")
    signature = ConsentSignature.objects.get(patient=patient)
    assert signature.typed_name == "Riley Keys"
    assert bytes(signature.signature_png) == b""
