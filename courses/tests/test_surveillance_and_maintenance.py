"""Surveillance prompts at their thresholds (urinary-symptom screen, liver function tests and
their findings) and the maintenance gate: a booster after the gap cannot be booked until the
re-screen is cleared (and consent renewed)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import AuditEvent
from consents import services as consent_services
from consents.models import ConsentKind, ConsentSignature
from consents.selectors import latest_versions
from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from courses import selectors, services
from courses.models import CourseFinding, RescreenState
from courses.tests.conftest import NOW
from courses.tests.factories import course, given_infusion, set_course_policy
from infusions import signing
from infusions.models import InfusionSession
from scheduling import services as scheduling
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, ClinicianFactory, appointment_type

pytestmark = pytest.mark.django_db
START = NOW + timedelta(hours=2)


def _today_session(c):
    appointment = AppointmentFactory(
        patient=c.patient,
        appointment_type=appointment_type("infusion"),
        location=c.location,
        resource=c.chair,
        start=START,
        end=START + timedelta(minutes=100),
        status=AppointmentStatus.CHECKED_IN,
    )
    return InfusionSession.objects.create(
        appointment=appointment, patient=c.patient, plan=c.plan, status="pre_check", created_by=c.prescriber
    )


@pytest.mark.parametrize(("given", "due"), [(5, False), (6, True), (8, True)])
def test_the_urinary_screen_is_asked_from_the_set_infusion_and_holds_the_start(clock, nurse, given, due):
    set_course_policy(urinary_screen_from_infusion=7)
    c = course(sessions_planned=20)
    for i in range(given):
        given_infusion(c, started_at=NOW - timedelta(days=3 * (i + 1)), delivered_mg="40")
    session = _today_session(c)
    assert selectors.infusion_number(session) == given + 1
    problems = signing.start_problems(session)
    assert bool(problems) is due
    if due:
        assert "urinary-symptom screen" in problems[0]
        services.urinary_screen_record(session=session, answers={}, notes="", by=nurse)
        assert signing.start_problems(session) == []
        assert not CourseFinding.objects.filter(patient=c.patient).exists()


def test_a_yes_on_the_urinary_screen_raises_a_finding(clock, nurse):
    c = course()
    session = _today_session(c)
    screen = services.urinary_screen_record(session=session, answers={"pain": True}, notes="Since Tuesday", by=nurse)
    assert screen.positive
    finding = CourseFinding.objects.get(patient=c.patient)
    assert finding.kind == "urinary"
    assert "pain or burning passing urine" in finding.message
    assert finding.source == "[S23] CI-16"
    with pytest.raises(ValidationError, match="already recorded"):
        services.urinary_screen_record(session=session, answers={}, notes="", by=nurse)


def test_the_liver_test_prompt_appears_at_the_threshold_and_a_test_answers_it(clock, nurse):
    set_course_policy(frequent_infusions_90d=4, lft_follow_up_days=60)
    c = course(sessions_planned=20)
    for i in range(3):
        given_infusion(c, started_at=NOW - timedelta(days=4 * (i + 1)), delivered_mg="40")
    t = selectors.thresholds()
    assert selectors.lft_prompt_for(c.patient, selectors.exposure_of(c.patient), t) is None
    given_infusion(c, started_at=NOW - timedelta(days=20), delivered_mg="40")
    prompt = selectors.lft_prompt_for(c.patient, selectors.exposure_of(c.patient), t)
    assert prompt.startswith("Baseline liver function tests due: 4 infusions in 90 days")
    services.liver_test_record(
        patient=c.patient, taken_on=date(2027, 1, 3), alt=30, alt_uln=40, ast=25, ast_uln=35, laboratory="", by=nurse
    )
    assert selectors.lft_prompt_for(c.patient, selectors.exposure_of(c.patient), t).startswith(
        "Follow-up liver function tests due: the last were on 01/03/2027"
    )
    services.liver_test_record(
        patient=c.patient, taken_on=date(2027, 3, 1), alt=30, alt_uln=40, ast=25, ast_uln=35, laboratory="", by=nurse
    )
    assert selectors.lft_prompt_for(c.patient, selectors.exposure_of(c.patient), t) is None
    assert not CourseFinding.objects.filter(patient=c.patient).exists()


def test_an_abnormal_liver_test_raises_a_finding_that_a_clinician_acknowledges(clock, nurse, client):
    c = course()
    test = services.liver_test_record(
        patient=c.patient,
        taken_on=date(2027, 3, 1),
        alt=95,
        alt_uln=40,
        ast=30,
        ast_uln=35,
        laboratory="Quest",
        by=nurse,
    )
    assert test.abnormal
    finding = CourseFinding.objects.get(patient=c.patient, kind="abnormal_lft")
    assert "ALT 95 U/L is above the upper limit of normal (40 U/L)" in finding.message
    client.force_login(nurse)
    response = client.post(
        reverse("courses:finding-acknowledge", args=[finding.pk]),
        {"acknowledgement": "Prescriber told; repeat in 4 weeks"},
    )
    assert response.status_code == 302
    finding.refresh_from_db()
    assert finding.acknowledged_by == nurse
    assert AuditEvent.objects.filter(action="courses.finding.acknowledged", patient_id=c.patient.pk).exists()


def test_a_future_sample_date_is_refused(clock, nurse):
    c = course()
    with pytest.raises(ValidationError) as caught:
        services.liver_test_record(
            patient=c.patient, taken_on=date(2027, 3, 5), alt=1, alt_uln=40, ast=1, ast_uln=40, laboratory="", by=nurse
        )
    assert "taken_on" in caught.value.message_dict


def _book_booster(c, by):
    return scheduling.appointment_book(
        patient=c.patient,
        appointment_type=appointment_type("booster"),
        location=c.location,
        start=START,
        by=by,
        clinician=c.nurse,
    )


@pytest.fixture
def lapsed(clock):
    """A patient whose last infusion was 200 days ago (the default gap is 180)."""
    c = course(sessions_planned=10)
    c.nurse = ClinicianFactory(location=c.location)
    given_infusion(c, started_at=NOW - timedelta(days=200), delivered_mg="40")
    # The course's factory signs the intake's consent today; this patient's consent is the one each
    # test gives, so the factory's is withdrawn (a signature is never edited or removed).
    for signature in ConsentSignature.objects.filter(patient=c.patient):
        consent_services.consent_withdraw(signature=signature, reason="Test history", by=c.prescriber)
    return c


def _consent(patient, *, days_ago: float = 0):
    """The patient signs the clinic's current treatment consent ``days_ago`` (the consents app)."""
    # The version in force (the consents app's own choice: the latest published); the test
    # database may also hold older ones, carried over from the intake's former consent store.
    version = latest_versions(kinds=[ConsentKind.TREATMENT]).get(ConsentKind.TREATMENT)
    version = version or ConsentVersionFactory(published_at=NOW - timedelta(days=400))
    return ConsentSignatureFactory(patient=patient, version=version, signed_at=NOW - timedelta(days=days_ago))


CLEAR = {"bp_systolic_mmhg": 126, "bp_diastolic_mmhg": 80}


def test_a_booster_after_the_gap_is_blocked_until_rescreen_and_reconsent(lapsed, frontdesk, nurse):
    _consent(lapsed.patient, days_ago=250)  # signed at intake, before the last infusion: not renewed
    with pytest.raises(scheduling.SchedulingError) as caught:
        _book_booster(lapsed, frontdesk)
    assert len(caught.value.messages) == 2
    assert any("needs a re-screen first" in m for m in caught.value.messages)
    assert any("renewed consent" in m for m in caught.value.messages)
    # Re-screened and cleared, but no renewed consent yet: still refused, for the consent only.
    found = services.rescreen_record(patient=lapsed.patient, facts=CLEAR, misuse={}, by=nurse)
    assert found.state == RescreenState.CLEARED, found.screening["findings"]
    with pytest.raises(scheduling.SchedulingError) as caught:
        _book_booster(lapsed, frontdesk)
    assert len(caught.value.messages) == 1
    assert "needs the patient's renewed consent" in caught.value.messages[0]
    _consent(lapsed.patient)
    assert _book_booster(lapsed, frontdesk).status == AppointmentStatus.BOOKED


def test_a_misuse_answer_waits_for_the_prescriber(lapsed, frontdesk, nurse):
    found = services.rescreen_record(
        patient=lapsed.patient,
        facts=CLEAR,
        misuse={"early_requests": True},
        by=nurse,
    )
    _consent(lapsed.patient)
    assert found.state == RescreenState.REVIEW
    assert CourseFinding.objects.filter(patient=lapsed.patient, kind="misuse").exists()
    with pytest.raises(scheduling.SchedulingError, match="waiting for the prescriber"):
        _book_booster(lapsed, frontdesk)
    services.rescreen_review(rescreen=found, reason="Discussed; spacing agreed", by=lapsed.prescriber)
    _book_booster(lapsed, frontdesk)


def test_an_absolute_contraindication_at_the_rescreen_stops_boosters(lapsed, frontdesk, nurse):
    found = services.rescreen_record(
        patient=lapsed.patient,
        facts={"bp_systolic_mmhg": 126, "bp_diastolic_mmhg": 80, "takes_theophylline_or_aminophylline": True},
        misuse={},
        by=nurse,
    )
    assert found.state == RescreenState.INELIGIBLE  # CI-14 is absolute [S25]
    with pytest.raises(scheduling.SchedulingError, match="absolute contraindication: no booster can be booked"):
        _book_booster(lapsed, frontdesk)
    with pytest.raises(ValidationError, match="cannot be cleared"):
        services.rescreen_review(rescreen=found, reason="Stopped the theophylline", by=lapsed.prescriber)


def test_a_rescreen_before_the_last_infusion_is_not_current(lapsed, frontdesk, nurse):
    with pytest.raises(scheduling.SchedulingError, match="needs a re-screen first"):
        _book_booster(lapsed, frontdesk)
    services.rescreen_record(patient=lapsed.patient, facts={}, misuse={}, by=nurse)
    given_infusion(lapsed, started_at=NOW - timedelta(hours=10), delivered_mg="40")
    # The last infusion is now this morning: no gap, no re-screen needed, but the interval rule holds.
    with pytest.raises(scheduling.SchedulingError, match="Too close"):
        _book_booster(lapsed, frontdesk)


def test_within_the_gap_no_rescreen_is_asked(clock, frontdesk):
    c = course(sessions_planned=10)
    c.nurse = ClinicianFactory(location=c.location)
    given_infusion(c, started_at=NOW - timedelta(days=179), delivered_mg="40")
    _book_booster(c, frontdesk)
