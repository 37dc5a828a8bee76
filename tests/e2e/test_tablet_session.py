"""Browser, on a tablet at the chair: the session page reads in the order the nurse works.

Before the start: the check, the dose, then the ketamine ledger's draw (drawn from the
verified dose before the infusion may start), then the flowsheet. Once the infusion has
ended: the flowsheet, recovery, and the ledger's close-out (what is left of the draw is
wasted) just before signing, not between the dose and the flowsheet. Both in landscape
(1024 × 768) and portrait (768 × 1024), where the sections stack in document order.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.tests.factories import ensure_protocol_library
from controlled_substances import services as ledger
from controlled_substances.tests.factories import ProductFactory, receive
from infusions import services
from infusions.models import InfusionSession
from infusions.rules import SessionStatus as S
from infusions.selectors.sessions import current_dose
from infusions.tests.factories import advance, infusion_appointment, set_policy
from prescribers.tests.factories import credentialed
from tests.e2e import axe

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
TABLETS = {"landscape": (1024, 768), "portrait": (768, 1024)}


def _user(username, role, **kwargs):
    user = UserFactory(username=username, role=role, **kwargs)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    if role == Role.PRESCRIBER:
        credentialed(user)
    return user


def _top(page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the page"
    return box["y"]


def _in_order(page, *selectors: str) -> None:
    tops = [_top(page, s) for s in selectors]
    assert tops == sorted(tops), f"chairside order broken: {list(zip(selectors, tops, strict=True))}"


@pytest.mark.parametrize("tablet", TABLETS)
def test_the_session_page_follows_the_chairside_order_on_a_tablet(live_server, page, tablet):
    ensure_protocol_library()
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    vial = receive(product=product, lot_number="K10TAB")[0]
    set_policy(min_observation_min=15)
    nurse = _user("tab.nurse", Role.NURSE, first_name="Ada", last_name="Okafor", credentials="RN")
    doctor = _user("tab.doctor", Role.PRESCRIBER, first_name="Wei", last_name="Chen", credentials="MD")
    appointment = infusion_appointment(by=doctor, location=vial.registration.location)
    session = services.session_open(appointment=appointment, by=nurse)
    session = advance(session, S.CLEARED, nurse_user=nurse, verifier=doctor)

    page.set_viewport_size(dict(zip(("width", "height"), TABLETS[tablet], strict=True)))
    base = live_server.url
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(nurse.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")

    # Cleared, not started: the draw comes right after the dose, before the start and the flowsheet.
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    expect(page.locator("#cs-session-panel")).to_contain_text("Draw from a vial")
    _in_order(page, "#precheck", "#dose", "#cs-session-panel", "#flowsheet")
    assert not axe.check(page)

    # Drawn, infused, ended: recovery follows the flowsheet and the close-out follows recovery.
    dose = current_dose(InfusionSession.objects.get(pk=session.pk))
    ledger.session_draw_record(
        session=session, container=vial, volume_ml=dose.drug_volume_ml, by=nurse, at=timezone.now()
    )
    advance(session, S.RECOVERING, nurse_user=nurse, verifier=doctor)
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    expect(page.locator("#cs-session-panel")).to_contain_text("Close the draw")
    _in_order(page, "#precheck", "#dose", "#flowsheet", "#recovery", "#cs-session-panel")
    assert not axe.check(page)
