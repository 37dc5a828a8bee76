"""Browser: the intake journey, from the booked consultation to "ready to book series".

A clinician opens today's booked consultation, records the intake with a resting BP of
185/105, sees the absolute finding with its source, re-measures (150/92), justifies the
first reading kept on record and the relative finding, signs, and creates and activates a
plan; the front desk then sees the plan ready to book, and is refused the clinical record.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.tests.factories import ensure_protocol_library, give_treatment_consent
from patients.tests.factories import PatientFactory
from prescribers.tests.factories import credentialed
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, LocationFactory

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


def _answer(page, code, answers):
    for n, value in enumerate(answers, start=1):
        page.locator(f"input[name='{code}-item_{n}'][value='{value}']").check()


def _screening(page):
    return page.locator("#screening")


def test_intake_to_ready_to_book(live_server, page):
    ensure_protocol_library()
    clinician = _user("e2e.clinician", Role.PRESCRIBER, first_name="Dana", last_name="Osei", credentials="MD")
    desk = _user("e2e.desk", Role.FRONT_DESK)
    patient = PatientFactory(legal_first_name="Robin", legal_last_name="Example")
    give_treatment_consent(patient)  # signed on the clinic's tablet before the visit (the consents app)
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = AppointmentFactory(
        patient=patient,
        clinician=clinician,
        location=LocationFactory(),
        start=start,
        end=start + timedelta(minutes=60),
        status=AppointmentStatus.CHECKED_IN,
    )
    base = live_server.url

    # The clinician opens today's booked consultation from the home page.
    _sign_in(page, base, clinician)
    page.get_by_role("button", name="Open intake").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Intake consultation · Example, Robin")

    # The intake: every history question answered, the lists complete, BP 185/105.
    page.get_by_label("Major depressive disorder").check()
    page.get_by_label("Presenting problem", exact=True).fill("Depressed for three years; four antidepressants tried.")
    for group in page.locator("fieldset.tri-state").all():
        group.get_by_label("No", exact=True).check()
    for question in (
        "Antidepressant trial history taken",
        "Current medication list complete",
    ):
        page.get_by_role("group", name=question).get_by_label("Yes", exact=True).check()
    page.get_by_label("Resting systolic BP (mmHg)", exact=True).fill("185")
    page.get_by_label("Resting diastolic BP (mmHg)", exact=True).fill("105")
    page.get_by_label("Heart rate (/min)", exact=True).fill("82")
    page.get_by_label("SpO2 (%)", exact=True).fill("98")
    page.get_by_label("Weight (kg)", exact=True).fill("80")
    page.get_by_label("Height (cm)", exact=True).fill("175")
    _answer(page, "phq9", [2, 3, 2, 2, 1, 2, 1, 1, 0])
    _answer(page, "gad7", [1, 2, 1, 1, 0, 1, 0])
    expect(page.locator("#section-consent")).to_contain_text("Signed (current version)")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved", timeout=10_000)  # server-side draft
    page.get_by_role("button", name="Save and screen").click()

    # The absolute finding, with its source.
    absolute = _screening(page).locator("tr.finding-absolute")
    expect(absolute).to_contain_text("CI-04")
    expect(absolute).to_contain_text("resting BP 185/105 mmHg")
    expect(absolute).to_contain_text("[S28] Swiss ketamine SmPC, contraindications")
    expect(_screening(page)).to_contain_text("Ineligible")

    # Re-measured at rest: 150/92 is what is screened now; the first reading above the hard
    # stop stays on record as a relative finding for the prescriber to justify.
    page.get_by_label("Re-measured resting systolic BP (mmHg)", exact=True).fill("150")
    page.get_by_label("Re-measured resting diastolic BP (mmHg)", exact=True).fill("92")
    page.get_by_role("button", name="Save and screen").click()
    expect(_screening(page).locator("tr.finding-absolute")).to_have_count(0)
    kept = _screening(page).locator("tr.finding-relative", has_text="CI-04")
    expect(kept).to_contain_text("first reading 185/105 mmHg")
    relative = _screening(page).locator("tr.finding-relative", has_text="CI-05")
    expect(relative).to_contain_text("re-measured resting BP 150/92 mmHg")

    # Justify and sign.
    page.get_by_label("Proceed despite findings, with documented justification").check()
    page.get_by_label("CI-04 (relative): justification").fill(
        "First reading taken on arrival after a rush; two re-measures at rest below 160/95."
    )
    page.get_by_label("CI-05 (relative): justification").fill(
        "Re-measured at rest; BP every 10 minutes during the infusion; benefit outweighs a short rise."
    )
    page.get_by_role("button", name="Sign and lock").click()
    expect(page.get_by_role("heading", name="Signed by")).to_be_visible()
    expect(page.locator("#screening")).to_contain_text("benefit outweighs a short rise")
    expect(page.get_by_text("verified")).to_be_visible()

    # The plan, from the protocol library, activated.
    page.get_by_role("link", name="Create treatment plan").click()
    page.get_by_label("Maximum dose per infusion (mg)").fill("40")
    page.get_by_label("Infusions per week").fill("2")
    page.get_by_role("button", name="Create plan (draft)").click()
    page.get_by_role("button", name="Activate").click()
    expect(page.locator(".ready-to-book").first).to_contain_text("Ready to book series")

    # The front desk sees the plan ready to book, and nothing clinical.
    page.context.clear_cookies()
    _sign_in(page, base, desk)
    page.goto(f"{base}/consultations/ready-to-book/")
    row = page.get_by_role("row", name="Example, Robin")
    expect(row).to_contain_text("Ready to book series")
    expect(row).to_contain_text("2× a week")
    expect(page.locator("main")).not_to_contain_text("mg/kg")
    consultation_id = appointment.consultation.pk
    response = page.goto(f"{base}/consultations/{consultation_id}/")
    assert response.status == 403


def _medication_row(page, n):
    return page.locator("#section-medications tbody tr").nth(n)


def _trial_row(page, n):
    return page.locator("#section-psychiatric tbody tr").nth(n)


def test_medications_and_a_trial_are_recorded_and_screened_for_interactions(live_server, page):
    """The medication list and the trial history save row by row ("save to add another"),
    and screening reads them: benzodiazepine and MAOI give the interaction finding, and
    theophylline the absolute one; lamotrigine is recorded (no sourced rule screens it)."""
    ensure_protocol_library()
    clinician = _user("e2e.meds", Role.PRESCRIBER, first_name="Dana", last_name="Osei", credentials="MD")
    patient = PatientFactory(legal_first_name="Sam", legal_last_name="Listed")
    start = timezone.now().replace(second=0, microsecond=0)
    appointment = AppointmentFactory(
        patient=patient,
        clinician=clinician,
        location=LocationFactory(),
        start=start,
        end=start + timedelta(minutes=60),
        status=AppointmentStatus.CHECKED_IN,
    )
    base = live_server.url
    _sign_in(page, base, clinician)
    page.get_by_role("button", name="Open intake").click()

    # First medication and a prior trial, saved.
    row = _medication_row(page, 0)
    row.get_by_label("Medicine").fill("Lorazepam")
    row.get_by_label("Dose and frequency").fill("1 mg at night")
    row.get_by_label("Interaction class").select_option(label="Benzodiazepine")
    trial = _trial_row(page, 0)
    trial.get_by_label("Drug").fill("Sertraline")
    trial.get_by_label("Trial dose").fill("150 mg")
    trial.get_by_label("Weeks").fill("8")
    trial.get_by_label("Yes").check()
    trial.get_by_label("Response").select_option(label="No response")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("Saved.")

    # The second and third rows appear after saving; add them and screen.
    row = _medication_row(page, 1)
    expect(_medication_row(page, 0).get_by_label("Medicine")).to_have_value("Lorazepam")
    row.get_by_label("Medicine").fill("Phenelzine")
    row.get_by_label("Interaction class").select_option(label="Monoamine oxidase inhibitor (MAOI)")
    page.get_by_role("button", name="Save", exact=True).click()
    row = _medication_row(page, 2)
    row.get_by_label("Medicine").fill("Theophylline")
    row.get_by_label("Interaction class").select_option(label="Theophylline or aminophylline")
    page.get_by_role("button", name="Save", exact=True).click()
    row = _medication_row(page, 3)
    row.get_by_label("Medicine").fill("Lamotrigine")
    row.get_by_label("Dose and frequency").fill("100 mg twice daily")
    row.get_by_label("Interaction class").select_option(label="Lamotrigine (recorded, not screened)")
    page.get_by_role("button", name="Save and screen").click()

    interaction = _screening(page).locator("tr.finding-interaction")
    expect(interaction).to_contain_text("CI-15")
    expect(interaction).to_contain_text("Benzodiazepine")
    expect(interaction).to_contain_text("Monoamine oxidase inhibitor (MAOI)")
    absolute = _screening(page).locator("tr.finding-absolute", has_text="CI-14")
    expect(absolute).to_contain_text("Theophylline or aminophylline")
    expect(_trial_row(page, 0).get_by_label("Drug")).to_have_value("Sertraline")
    expect(_medication_row(page, 3).get_by_label("Medicine")).to_have_value("Lamotrigine")

    consultation = appointment.consultation
    assert sorted(consultation.medications.values_list("interaction_class", flat=True)) == [
        "benzodiazepine",
        "lamotrigine",
        "maoi",
        "theophylline",
    ]
    assert consultation.antidepressant_trials.get().adequate is True
