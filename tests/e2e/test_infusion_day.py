"""Browser: the infusion day, from the chair board to the signed session.

The nurse opens the booked infusion from the chair board, checks the patient in, records
today's PHQ-9 and the checklist with the escort's details missing (the checklist asks for a
decision, which the page says only a prescriber may make), fixes them (all checks pass),
calculates the dose and clears; the prescriber verifies the dose; the nurse draws it from a
vial in the ketamine ledger (which names the vial on the session), starts, enters vitals
including an out-of-range reading, records an intervention, completes, records recovery
vitals, the Aldrete score and the discharge details until the session is computed
discharge-ready; then the patient desaturates: the critical alert takes the session back to
recovering and hides the Discharge button until the nurse records the airway manoeuvre; the
desaturation recorded as an ongoing adverse event keeps discharge blocked until she records
it resolved; then a normal reading and a fresh Aldrete; she discharges; signing is refused
until what is left in the bag is wasted at the bag's concentration with the doctor as witness
(their own password), drawn = delivered + wasted; then she signs and the chair's open draw is gone.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.tests.factories import ensure_protocol_library
from controlled_substances.models import LedgerEntry
from controlled_substances.tests.factories import ProductFactory, receive
from infusions.models import DoseCalculation, InfusionSession
from infusions.tests.factories import infusion_appointment, rescue_drug, set_policy
from prescribers.tests.factories import credentialed

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"


def _user(username, role, **kwargs):
    user = UserFactory(username=username, role=role, **kwargs)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])
    if role == Role.PRESCRIBER:
        credentialed(user)
    return user


def _sign_in(page, base, user):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def _sign_out(page):
    # Sign out on the server (the nav's form), so the session is gone there too: a late htmx
    # poll from the page could otherwise set the previous user's cookie again after the
    # cookies are cleared, and the login page would redirect that user home.
    with page.expect_navigation():
        page.locator("form[action$='/accounts/logout/']").evaluate("form => form.submit()")
    page.goto("about:blank")
    page.context.clear_cookies()


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _reading(page, **values):
    form = page.locator("#reading-form")
    for label, value in values.items():
        form.get_by_label(label, exact=True).fill(value)
    form.get_by_role("button", name="Add reading").click()


def test_infusion_day_from_chair_board_to_signed(live_server, page):
    ensure_protocol_library()
    product = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    vial = receive(product=product, lot_number="K10E2E")[0]
    # The shortest observation the policy allows; the test moves the infusion's end back
    # rather than wait for it.
    set_policy(min_observation_min=15)
    rescue_drug("Midazolam", controlled=True, dea_schedule="CIV")  # the seed, if a flush removed it
    nurse = _user("e2e.nurse", Role.NURSE, first_name="Ada", last_name="Okafor", credentials="RN")
    doctor = _user("e2e.doctor", Role.PRESCRIBER, first_name="Wei", last_name="Chen", credentials="MD")
    appointment = infusion_appointment(by=doctor, location=vial.registration.location)
    base = live_server.url
    now = timezone.now()

    # Chair board → open the session → check in.
    _sign_in(page, base, nurse)
    page.goto(f"{base}/infusions/board/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chairs")
    page.get_by_role("button", name="Open session").click()
    page.get_by_role("button", name="Check in and start pre-check").click()
    expect(page.locator("#session-status")).to_have_text("Pre-check")
    session = InfusionSession.objects.get(appointment=appointment)

    # Today's PHQ-9 (item 9 negative).
    for n in range(1, 10):
        page.locator(f"input[name='phq9-item_{n}'][value='0']").check()
    page.get_by_role("button", name="Save Patient Health Questionnaire-9 (PHQ-9)").click()

    # The checklist, escort's name and phone missing: a decision is needed.
    form = page.locator("#precheck-form")
    form.get_by_label("Last clear liquids").fill(_local(now - timedelta(hours=3)))
    form.get_by_label("Last light meal").fill(_local(now - timedelta(hours=9)))
    form.get_by_label("Last fatty or fried meal").fill(_local(now - timedelta(hours=12)))
    form.get_by_label("Escort present").select_option("yes")
    form.get_by_label("Childbearing potential").select_option("no")
    form.get_by_label("Medication changes since last session").select_option("no")
    form.get_by_label("Systolic BP (mmHg)").fill("124")
    form.get_by_label("Diastolic BP (mmHg)").fill("78")
    form.get_by_label("Heart rate (bpm)").fill("72")
    form.get_by_label("SpO₂ (%)").fill("98")
    form.get_by_label("Today's weight (kg)").fill("88")  # misread off the scale; corrected below
    form.get_by_role("button", name="Save and check").click()
    expect(page.locator("#check-results")).to_contain_text("Escort present but name and phone not recorded")
    expect(page.locator("#clearance")).to_contain_text("Needs a clinician's documented decision")
    # The nurse cannot decide to proceed: the page says a prescriber must.
    expect(page.locator("#needs-prescriber")).to_contain_text("Needs a prescriber")
    expect(page.get_by_role("button", name="Prescriber decision: proceed")).to_have_count(0)

    # Fixed: every check passes.
    form = page.locator("#precheck-form")
    form.get_by_label("Escort name").fill("Sam Rivera")
    form.get_by_label("Escort phone").fill("555-0100")
    form.get_by_role("button", name="Save and check").click()
    expect(page.locator("#clearance")).to_contain_text("All checks passed")

    # The dose on the misread weight; the corrected weight voids it and it is calculated again.
    page.get_by_role("button", name="Calculate dose").click()
    expect(page.locator("#dose-result")).to_contain_text("44.0 mg")
    form = page.locator("#precheck-form")
    form.get_by_label("Today's weight (kg)").fill("80")
    form.get_by_role("button", name="Save and check").click()
    expect(page.locator("#dose-result")).to_have_count(0)
    assert DoseCalculation.objects.get(session=session, weight_kg=Decimal("88.0")).superseded_at is not None
    # The dose, every step stored; clear.
    page.get_by_role("button", name="Calculate dose").click()
    expect(page.locator("#dose-result")).to_contain_text("40.0 mg")
    expect(page.locator("#dose-result")).to_contain_text("150.0 mL/h")
    page.get_by_role("button", name="Clear for infusion").click()
    expect(page.locator("#session-status")).to_have_text("Cleared")

    # A second clinician verifies the dose independently.
    _sign_out(page)
    _sign_in(page, base, doctor)
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    page.get_by_role("button", name="I independently verified this dose").click()
    expect(page.locator("#verified")).to_contain_text("Independently verified by")

    # The nurse tries to draw more than the verified dose: refused at the field, nothing written.
    _sign_out(page)
    _sign_in(page, base, nurse)
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    ledger = page.locator("#cs-session-panel")
    ledger.get_by_label("Vial").select_option(str(vial.pk))
    expect(ledger.get_by_label("Volume drawn (mL)")).to_have_value("4.00")
    ledger.get_by_label("Volume drawn (mL)").fill("5.00")
    ledger.get_by_role("button", name="Record the draw").click()
    expect(page.locator("#cs-session-panel")).to_contain_text("5.00 mL is 50 mg; the verified dose is 40 mg")
    assert not LedgerEntry.objects.filter(session=session).exists()
    # The verified dose, then the start.
    ledger = page.locator("#cs-session-panel")
    ledger.get_by_label("Vial").select_option(str(vial.pk))
    ledger.get_by_label("Volume drawn (mL)").fill("4.00")
    ledger.get_by_role("button", name="Record the draw").click()
    expect(page.locator("#cs-session-panel .badge.text-bg-warning")).to_have_text("waste not recorded")
    page.reload()
    page.get_by_role("button", name="Start infusion").click()
    expect(page.locator("#session-status")).to_have_text("Infusing")

    # Vitals, then an out-of-range reading: an alert asks for an action.
    _reading(
        page, **{"Systolic BP (mmHg)": "132", "Diastolic BP (mmHg)": "82", "Heart rate (bpm)": "80", "SpO₂ (%)": "98"}
    )
    expect(page.locator("#readings-table")).to_contain_text("132")
    _reading(page, **{"Systolic BP (mmHg)": "150", "Diastolic BP (mmHg)": "101", "Heart rate (bpm)": "88"})
    alerts = page.locator("#open-alerts")
    expect(alerts).to_contain_text("Diastolic BP 101 mmHg above 100 mmHg")
    alerts.get_by_label("Action").select_option("intervention")
    alerts.get_by_label("What was done").fill("Labetalol 10 mg IV per protocol; rate unchanged")
    alerts.get_by_role("button", name="Record action").click()
    expect(page.locator("#open-alerts")).to_have_count(0)

    # Nausea: stopped early, 16 minutes in (the start is moved back rather than waited for). The
    # pump's delivery is computed from the start and the stop, and shown with the session.
    InfusionSession.objects.filter(pk=session.pk).update(started_at=F("started_at") - timedelta(minutes=16))
    stop = page.locator("#to-stopped_early")
    stop.get_by_label("Stop reason").select_option("adverse_event")
    stop.get_by_label("Reason", exact=True).fill("Nausea and vomiting despite ondansetron")
    stop.get_by_role("button", name="Stop early").click()
    expect(page.locator("#session-status")).to_have_text("Stopped early")
    session.refresh_from_db()
    assert Decimal("40.00") <= session.delivered_ml < Decimal("45.00")  # 16 min at 150 mL/h, and the seconds since
    expect(page.locator("#delivered-mg")).to_contain_text(f"Delivered {session.delivered_mg} mg")
    # Drug is left in the bag: the chair shows an open draw until it is wasted.
    page.goto(f"{base}/infusions/board/")
    expect(page.locator(".open-draw")).to_contain_text("Open draw")
    page.goto(f"{base}/infusions/sessions/{session.pk}/")
    page.get_by_role("button", name="Start recovery").click()
    expect(page.locator("#session-status")).to_have_text("Recovering")
    moved = timedelta(minutes=20)  # as if the infusion had started and ended 20 minutes earlier
    InfusionSession.objects.filter(pk=session.pk).update(
        started_at=F("started_at") - moved, ended_at=F("ended_at") - moved
    )
    recovered = {
        "Systolic BP (mmHg)": "126",
        "Diastolic BP (mmHg)": "80",
        "Heart rate (bpm)": "74",
        "SpO₂ (%)": "98",
        "Resp. rate (/min)": "14",
        "MOAA/S": "5",
        "CADSS-6": "0",
    }
    _reading(page, **recovered)
    expect(page.locator("#readings-table")).to_contain_text("Recovery")

    # Aldrete 10 and the discharge details: computed discharge-ready.
    def aldrete_10():
        for n in range(1, 6):
            page.locator(f"input[name='aldrete-item_{n}'][value='2']").check()
        page.get_by_role("button", name="Save score").click()

    aldrete_10()
    expect(page.locator("#readiness")).to_contain_text("Not yet discharge-ready")
    discharge = page.locator("#discharge-form")
    discharge.get_by_label("Escort present now").check()
    discharge.get_by_label("Discharge instructions given").check()
    discharge.get_by_role("button", name="Save discharge details").click()
    expect(page.locator("#session-status")).to_have_text("Discharge-ready")

    # She desaturates: a critical alert, back to recovering, no Discharge button.
    _reading(page, **{"SpO₂ (%)": "84", "Resp. rate (/min)": "12"})
    alerts = page.locator("#open-alerts")
    expect(alerts).to_contain_text("CRITICAL: SpO₂ 84% below 90%: pause or stop, airway, call for help")
    page.reload()
    expect(page.locator("#session-status")).to_have_text("Recovering")
    expect(page.locator("#readiness")).to_contain_text("Alert without an action")
    expect(page.locator("#discharge-criteria [data-criterion='spo2']")).to_contain_text("84%")
    expect(page.get_by_role("button", name="Discharge", exact=True)).to_have_count(0)
    expect(page.locator("#open-alerts option[value='continue']")).to_have_count(0)

    # The airway manoeuvre resolves the alert; a normal reading and a fresh Aldrete after it.
    critical = page.locator("#open-alerts li.critical-alert")
    critical.get_by_label("Action").select_option("airway")
    critical.get_by_label("What was done").fill("Jaw thrust and O₂ 2 L/min by nasal cannula; SpO₂ 97 %")
    critical.get_by_role("button", name="Record action").click()
    expect(page.locator("#open-alerts")).to_have_count(0)
    expect(page.locator("#session-status")).to_have_text("Recovering")

    # The desaturation is also an adverse event, still ongoing: it keeps discharge blocked
    # until she records it resolved.
    adverse = page.locator("#adverse-form")
    page.locator("#adverse summary").click()
    adverse.get_by_label("Event").select_option(label="Desaturation")
    adverse.get_by_label("Severity").select_option(label="Moderate")
    adverse.locator("select[name='outcome']").select_option(label="Ongoing at discharge")
    adverse.get_by_label("Action taken").fill("Jaw thrust, O₂ 2 L/min by nasal cannula")
    expect(adverse.get_by_label("Rescue drug given")).to_contain_text("Midazolam (C-IV)")
    adverse.get_by_role("button", name="Save adverse event").click()
    expect(page.locator("#adverse")).to_contain_text("Ongoing at discharge: blocks discharge")
    expect(page.locator("#readiness")).to_contain_text("Adverse event open: Desaturation")
    page.locator("#adverse").get_by_label("Outcome now").select_option(label="Resolved")
    page.locator("#adverse").get_by_role("button", name="Record outcome").click()
    expect(page.locator("#adverse")).not_to_contain_text("blocks discharge")
    expect(page.locator("#readiness")).not_to_contain_text("Adverse event open")
    _reading(page, **recovered)
    page.reload()
    expect(page.locator("#readiness")).to_contain_text("scored before the latest reading")
    aldrete_10()
    expect(page.locator("#session-status")).to_have_text("Discharge-ready")
    expect(page.locator("#discharge-criteria [data-criterion='spo2']")).to_contain_text("98%")

    page.get_by_role("button", name="Discharge", exact=True).click()
    expect(page.locator("#session-status")).to_have_text("Discharged")
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_text("40 mg drawn for this session is not accounted for").first).to_be_visible()
    expect(page.locator("#session-status")).to_have_text("Discharged")

    # What is left in the bag is wasted, converted at the bag's 0.4 mg/mL (not the vial's 10), the
    # doctor witnessing with their own password; drawn = delivered + wasted, then she signs.
    left_ml = Decimal("100.00") - session.delivered_ml
    ledger = page.locator("#cs-session-panel")
    ledger.get_by_label("In the bag").check()
    ledger.get_by_label("Left over and wasted (mL)").fill(str(left_ml))
    ledger.get_by_label("Witness", exact=True).select_option(label=str(doctor))
    ledger.get_by_label("Witness's password").fill(PASSWORD)
    ledger.get_by_role("button", name="Record the waste").click()
    expect(page.locator("#cs-session-panel .badge.text-bg-success").first).to_have_text("accounted for")
    expect(page.locator("#closeout")).to_contain_text(f"delivered {session.delivered_mg} mg")
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.locator("#session-status")).to_have_text("Signed")
    session.refresh_from_db()
    assert session.signed_by == nurse
    assert session.content_sha256
    assert session.container_lot == f"K10E2E · {vial.code}"
    waste = LedgerEntry.objects.get(session=session, kind="waste")
    assert (waste.left_in, waste.measured_ml, waste.actor, waste.witness) == ("bag", left_ml, nurse, doctor)
    assert abs(session.delivered_mg + waste.quantity_mg - Decimal("40.00")) <= Decimal("0.01")
    page.goto(f"{base}/infusions/board/")
    expect(page.locator(".open-draw")).to_have_count(0)
