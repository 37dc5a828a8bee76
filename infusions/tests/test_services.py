"""The infusion-day services: lifecycle, pre-check, dosing, flowsheet, recovery, signing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired
from infusions import rules, services, signing
from infusions.models import DoseCalculation, FlowsheetReading, InfusionSession, SessionAlert, SessionTransition
from infusions.tests.factories import (
    ALDRETE_LOW,
    PHQ9_ITEM9,
    advance,
    clean_precheck,
    open_session,
    rescue_drug,
    set_policy,
)
from prescribers.tests.factories import register

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def session(nurse_user, policy):
    return open_session(by=nurse_user)


def test_happy_path_reaches_signed_and_logs_every_move(session, nurse_user, verifier):
    signed = advance(session, S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    assert signed.status == S.SIGNED
    assert signed.content_sha256
    moves = list(SessionTransition.objects.filter(session=signed).values_list("from_status", "to_status"))
    assert moves == [
        ("scheduled", "pre_check"),
        ("pre_check", "cleared"),
        ("cleared", "infusing"),
        ("infusing", "completed"),
        ("completed", "recovering"),
        ("recovering", "discharge_ready"),
        ("discharge_ready", "discharged"),
        ("discharged", "signed"),
    ]
    assert AuditEvent.objects.filter(action="infusions.session.signed", object_id=str(signed.pk)).exists()


def test_signed_session_is_immutable_in_the_database(session, nurse_user, verifier):
    signed = advance(session, S.SIGNED, nurse_user=nurse_user, verifier=verifier)
    with pytest.raises(DatabaseError), transaction.atomic():
        InfusionSession.objects.filter(pk=signed.pk).update(stop_reason="edited")
    with pytest.raises(DatabaseError), transaction.atomic():
        FlowsheetReading.objects.filter(session=signed).update(hr_bpm=60)
    with pytest.raises(DatabaseError), transaction.atomic():
        FlowsheetReading.objects.create(
            session=signed,
            taken_at=timezone.now(),
            entered_at=timezone.now(),
            phase="post",
            hr_bpm=70,
            entered_by=nurse_user,
        )
    amendment = services.amendment_add(
        session=signed, by=nurse_user, kind="appends", reason="Late entry", text="Ate well"
    )
    assert amendment.pk


def _force_status(session, status, user):
    """Put the row in ``status`` directly (test set-up), with what the database requires of it."""
    extra = {}
    if status == S.DEFERRED:
        extra["deferral_reason_code"] = "other"
    if status == S.STOPPED_EARLY:
        extra["stop_reason_code"] = "other"
    if status == S.SIGNED:
        extra.update(signed_at=timezone.now(), signed_by=user, content_sha256="0" * 64)
    InfusionSession.objects.filter(pk=session.pk).update(status=status, **extra)
    session.refresh_from_db()


ILLEGAL = [(frm, to) for frm in S for to in S if to not in rules.TRANSITIONS[frm]]


@pytest.mark.parametrize(("frm", "to"), ILLEGAL)
def test_transition_service_refuses_every_move_not_in_the_table(frm, to, session, nurse_user):
    _force_status(session, frm, nurse_user)
    with pytest.raises(ValidationError):
        services.session_transition(session=session, to=to, by=nurse_user)
    assert InfusionSession.objects.get(pk=session.pk).status == frm


# Met by the service itself: resuming records the resume time (now), and signing has its
# signer (the user) while the waste entry is the ledger's registered sign check (tested below).
SERVICE_MET = {(S.PAUSED, S.INFUSING), (S.DISCHARGED, S.SIGNED)}


@pytest.mark.parametrize(("frm", "to"), [move for move in rules.GATES if move not in SERVICE_MET])
def test_no_allowed_move_skips_its_gate(frm, to, session, nurse_user):
    """With nothing recorded every gate holds; the move is refused and nothing is logged."""
    _force_status(session, frm, nurse_user)
    with pytest.raises(ValidationError):
        services.session_transition(session=session, to=to, by=nurse_user)
    assert not SessionTransition.objects.filter(session=session).exists()


def test_escort_missing_needs_a_decision_then_clears_once_fixed(session, nurse_user, verifier):
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    check = services.precheck_record(
        session=session, by=nurse_user, data=clean_precheck(escort_name="", escort_phone="")
    )
    assert check.outcome == rules.NEEDS_CLINICIAN_DECISION
    assert "escort" in [r["code"] for r in check.results if r["passed"] is not True]
    with pytest.raises(PrescriberRequired):
        services.precheck_clear(session=session, by=nurse_user, decision_reason="Escort on the way")
    check = services.precheck_record(session=session, by=nurse_user, data=clean_precheck())
    assert check.outcome == rules.CLEARED
    assert services.precheck_clear(session=session, by=nurse_user).status == S.CLEARED


def test_hard_stop_bp_defers_and_cannot_be_overridden(session, nurse_user):
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    check = services.precheck_record(session=session, by=nurse_user, data=clean_precheck(sbp_mmhg=190, dbp_mmhg=105))
    assert check.outcome == rules.DEFERRED
    with pytest.raises(ValidationError):
        services.precheck_clear(session=session, by=nurse_user, decision_reason="Looks fine to me")
    deferred = services.precheck_defer(
        session=session, by=nurse_user, reason_code="blood_pressure", reason="BP 190/105"
    )
    assert deferred.status == S.DEFERRED
    assert deferred.deferral_reason_code == "blood_pressure"
    # The patient goes home untreated: the calendar shows the visit called off, for the desk to
    # rebook, with the reason in words and without the clinical detail (the desk reads it).
    appointment = deferred.appointment
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert appointment.cancel_reason.startswith("Not treated today")
    assert "190" not in appointment.cancel_reason
    assert appointment.status_changes.latest("id").by == nurse_user


def test_item9_positive_requires_cssrs_before_clearance(session, nurse_user):
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_ITEM9)
    check = services.precheck_record(session=session, by=nurse_user, data=clean_precheck())
    blocking = {r["code"]: r for r in check.results if r["passed"] is not True}
    assert "cssrs_screen" in blocking
    assert check.outcome == rules.NEEDS_CLINICIAN_DECISION


def test_prescriber_decision_needs_a_registration_at_this_clinic_and_is_documented(session, nurse_user, clinician):
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    services.precheck_record(session=session, by=nurse_user, data=clean_precheck(sbp_mmhg=150, dbp_mmhg=85))
    with pytest.raises(PrescriberRequired, match="No DEA registration is on file for this location"):
        services.precheck_clear(session=session, by=clinician, decision_reason="Registered elsewhere")
    register(clinician.prescriber_profile, session.appointment.location)
    with pytest.raises(ValidationError, match="documented decision"):
        services.precheck_clear(session=session, by=clinician, decision_reason=" ")
    cleared = services.precheck_clear(session=session, by=clinician, decision_reason="Known white-coat BP; proceed")
    assert cleared.status == S.CLEARED
    assert cleared.clinician_decision_by == clinician
    assert cleared.clinician_decision_credential == f"MD, NPI {clinician.prescriber_profile.npi}"


@pytest.mark.parametrize(
    ("case", "answers", "test_required", "outcome"),
    [
        ("potential unknown, no-test policy", {"childbearing_potential": None}, False, "needs_clinician_decision"),
        ("potential unknown, test policy", {"childbearing_potential": None}, True, "needs_clinician_decision"),
        (
            "potential, status unknown, no-test policy",
            {"childbearing_potential": True},
            False,
            "needs_clinician_decision",
        ),
        (
            "potential, negative test, no-test policy",
            {"childbearing_potential": True, "pregnancy_test_result": "negative"},
            False,
            "cleared",
        ),
        ("no potential, no-test policy", {"childbearing_potential": False}, False, "cleared"),
    ],
)
def test_unknown_pregnancy_status_is_never_a_silent_pass(session, nurse_user, case, answers, test_required, outcome):
    set_policy(pregnancy_test_required=test_required)
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    check = services.precheck_record(session=session, by=nurse_user, data=clean_precheck(**answers))
    assert check.outcome == outcome
    pregnancy = next(r for r in check.results if r["code"] == "pregnancy")
    assert pregnancy["passed"] is (True if outcome == "cleared" else None)


def test_an_unknown_pregnancy_status_clears_only_with_a_prescribers_documented_decision(session, nurse_user, clinician):
    set_policy(pregnancy_test_required=False)
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    services.precheck_record(session=session, by=nurse_user, data=clean_precheck(childbearing_potential=True))
    with pytest.raises(PermissionDenied, match="needs a prescriber"):
        services.precheck_clear(session=session, by=nurse_user, decision_reason="Says she is not pregnant")
    register(clinician.prescriber_profile, session.appointment.location)  # the prescriber's DEA registration here
    cleared = services.precheck_clear(
        session=session, by=clinician, decision_reason="LMP 10 days ago, declines a test; consent to proceed"
    )
    assert cleared.status == S.CLEARED
    assert cleared.clinician_decision_reason.startswith("LMP 10 days ago")


def test_impossible_precheck_vitals_are_a_field_error(session, nurse_user):
    services.session_check_in(session=session, by=nurse_user)
    with pytest.raises(ValidationError) as error:
        services.precheck_record(session=session, by=nurse_user, data=clean_precheck(hr_bpm=400))
    assert "hr_bpm" in error.value.message_dict
    assert "possible range 0–350 bpm" in error.value.message_dict["hr_bpm"][0]


def _cleared_precheck(session, nurse_user):
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=[0] * 9)
    services.precheck_record(session=session, by=nurse_user, data=clean_precheck())


def test_dose_is_calculated_with_every_step(session, nurse_user):
    _cleared_precheck(session, nurse_user)
    calc = services.dose_calculate(
        session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )
    # 0.5 mg/kg × 80 kg = 40 mg (plan cap 50 mg); 4 mL + 96 mL = 100 mL over 40 min = 150 mL/h
    assert (calc.dose_mg, calc.total_volume_ml, calc.final_mg_per_ml, calc.rate_ml_per_h) == (
        Decimal("40.0"),
        Decimal("100.00"),
        Decimal("0.400"),
        Decimal("150.0"),
    )
    assert any("Dose: 0.5" in step for step in calc.steps)
    assert any("Rate:" in step for step in calc.steps)


def test_undiluted_100_mg_per_ml_is_refused_at_the_field(session, nurse_user):
    _cleared_precheck(session, nurse_user)
    with pytest.raises(ValidationError) as error:
        services.dose_calculate(session=session, by=nurse_user, vial_mg_per_ml=Decimal("100"), diluent_ml=Decimal("0"))
    assert "without dilution" in error.value.message_dict["diluent_ml"][0]


def test_dose_change_after_verification_voids_it(session, nurse_user, verifier):
    _cleared_precheck(session, nurse_user)
    first = services.dose_calculate(
        session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )
    services.dose_verify(calculation=first, by=verifier, fingerprint=first.fingerprint)
    second = services.dose_calculate(
        session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("46")
    )
    assert not second.is_verified
    services.precheck_clear(session=session, by=nurse_user)
    with pytest.raises(ValidationError) as error:
        services.session_transition(session=session, to=S.INFUSING, by=nurse_user, container_lot="L1")
    assert "Dose not verified by a second clinician" in error.value.messages
    # The stale page's verification of the old calculation is refused too.
    with pytest.raises(ValidationError):
        services.dose_verify(calculation=first, by=verifier, fingerprint=first.fingerprint)


def test_the_calculating_clinician_cannot_verify(session, nurse_user):
    _cleared_precheck(session, nurse_user)
    calc = services.dose_calculate(
        session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )
    with pytest.raises(ValidationError):
        services.dose_verify(calculation=calc, by=nurse_user, fingerprint=calc.fingerprint)
    with pytest.raises(DatabaseError), transaction.atomic():
        DoseCalculation.objects.filter(pk=calc.pk).update(
            verified_by=nurse_user, verified_at=timezone.now(), verified_fingerprint=calc.fingerprint
        )


def test_calculated_dose_content_is_fixed_in_the_database(session, nurse_user):
    _cleared_precheck(session, nurse_user)
    calc = services.dose_calculate(
        session=session, by=nurse_user, vial_mg_per_ml=Decimal("10"), diluent_ml=Decimal("96")
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        DoseCalculation.objects.filter(pk=calc.pk).update(dose_mg=Decimal("45"))


@pytest.fixture
def infusing(session, nurse_user, verifier):
    return advance(session, S.INFUSING, nurse_user=nurse_user, verifier=verifier)


def test_impossible_reading_refused_with_the_range(infusing, nurse_user):
    with pytest.raises(ValidationError) as error:
        services.reading_record(session=infusing, by=nurse_user, taken_at=timezone.now(), values={"spo2_pct": 140})
    assert "outside the possible range 0–100 %" in error.value.message_dict["spo2_pct"][0]


def test_reading_in_the_future_or_before_check_in_refused(infusing, nurse_user):
    with pytest.raises(ValidationError) as error:
        services.reading_record(
            session=infusing, by=nurse_user, taken_at=timezone.now() + timedelta(minutes=5), values={"hr_bpm": 70}
        )
    assert "future" in error.value.message_dict["taken_at"][0]
    with pytest.raises(ValidationError) as error:
        services.reading_record(
            session=infusing,
            by=nurse_user,
            taken_at=infusing.checked_in_at - timedelta(minutes=1),
            values={"hr_bpm": 70},
        )
    assert "checked in" in error.value.message_dict["taken_at"][0]


def test_two_nurses_entering_at_once_both_kept(infusing, nurse_user, verifier):
    at = timezone.now()
    services.reading_record(session=infusing, by=nurse_user, taken_at=at, values={"hr_bpm": 70})
    services.reading_record(session=infusing, by=verifier, taken_at=at, values={"hr_bpm": 72})
    assert list(FlowsheetReading.objects.filter(session=infusing, taken_at=at).values_list("hr_bpm", flat=True)) == [
        70,
        72,
    ]


def test_out_of_range_reading_raises_an_alert_that_asks_for_an_action(infusing, nurse_user):
    services.reading_record(
        session=infusing, by=nurse_user, taken_at=timezone.now(), values={"sbp_mmhg": 190, "dbp_mmhg": 95}
    )
    # 190 is also more than 40 % above the baseline 124: a second, change-from-baseline alert.
    assert sorted(SessionAlert.objects.filter(session=infusing).values_list("code", flat=True)) == [
        "sbp_change",
        "sbp_high",
    ]
    alert = SessionAlert.objects.get(session=infusing, code="sbp_high")
    assert alert.action == ""
    with pytest.raises(ValidationError):
        services.alert_action(alert=alert, by=nurse_user, action="intervention", note="")
    services.alert_action(alert=alert, by=nurse_user, action="pause", note="")
    assert InfusionSession.objects.get(pk=infusing.pk).status == S.PAUSED


def test_adverse_event_with_drug_given(infusing, nurse_user):
    now = timezone.now()
    event = services.adverse_event_record(
        session=infusing,
        by=nurse_user,
        kind="nausea_vomiting",
        severity="mild",
        onset_at=now,
        action_taken="Ondansetron given",
        outcome="resolved",
        drugs=[{"formulary": rescue_drug("Ondansetron"), "dose": Decimal("4"), "given_at": now}],
    )
    given = event.drugs.get()
    assert (given.name, given.dose_unit, given.route, given.given_by, given.controlled) == (
        "Ondansetron",
        "mg",
        "iv",
        nurse_user,
        False,
    )
    with pytest.raises(ValidationError) as error:
        services.adverse_event_record(
            session=infusing,
            by=nurse_user,
            kind="other",
            severity="mild",
            onset_at=now,
            action_taken="x",
            outcome="resolved",
        )
    assert "kind_other" in error.value.message_dict


def test_stop_early_needs_a_coded_reason(infusing, nurse_user):
    with pytest.raises(ValidationError):
        services.session_transition(session=infusing, to=S.STOPPED_EARLY, by=nurse_user, reason="felt unwell")
    stopped = services.session_transition(
        session=infusing, to=S.STOPPED_EARLY, by=nurse_user, reason_code="adverse_event", reason="Emergence reaction"
    )
    assert stopped.status == S.STOPPED_EARLY
    assert stopped.ended_at is not None


def test_discharge_ready_is_computed_and_falls_back_when_score_drops(session, nurse_user, verifier):
    ready = advance(session, S.DISCHARGE_READY, nurse_user=nurse_user, verifier=verifier)
    assert ready.status == S.DISCHARGE_READY
    assert ready.readiness["ready"] is True
    services.instrument_record(session=ready, by=nurse_user, code="aldrete", answers=ALDRETE_LOW)
    back = InfusionSession.objects.get(pk=ready.pk)
    assert back.status == S.RECOVERING
    with pytest.raises(ValidationError):
        services.session_discharge(session=back, by=nurse_user)


def test_registered_sign_check_blocks_signing(session, nurse_user, verifier):
    discharged = advance(session, S.DISCHARGED, nurse_user=nurse_user, verifier=verifier)

    def unaccounted(s):
        return ["Unaccounted drug: 0.5 mL not wasted"]

    signing.register_sign_check(unaccounted)
    try:
        with pytest.raises(ValidationError) as error:
            services.session_sign(session=discharged, by=nurse_user)
        assert "Unaccounted drug: 0.5 mL not wasted" in error.value.messages
    finally:
        signing.unregister_sign_check(unaccounted)
    assert services.session_sign(session=discharged, by=nurse_user).status == S.SIGNED


def test_front_desk_cannot_write(session, frontdesk):
    with pytest.raises(PermissionDenied):
        services.session_check_in(session=session, by=frontdesk)


def test_session_read_is_audited(session, nurse_user):
    services.session_viewed(session=session, by=nurse_user)
    assert AuditEvent.objects.filter(action="infusions.session.viewed", object_id=str(session.pk)).exists()
