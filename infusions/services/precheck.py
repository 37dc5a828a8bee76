"""The pre-infusion checklist: record what the nurse found, let the rules judge it, and
record the clinician's decision (proceed despite a review finding, or defer)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from assessments.selectors import current_responses_for
from consultations import rules as screening
from consultations import selectors as consultation_selectors
from consultations.choices import CLASS_FACT
from core.audit import Verb
from infusions import rules
from infusions.models import InfusionSession, PreCheck
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY, field_error, lock, require, require_unsigned
from infusions.services.dosing import DOSING_STATUSES, dose_void, usual_range_problem
from infusions.services.lifecycle import CHANGE, session_transition
from prescribers.selectors import signature_text

S = rules.SessionStatus
OVERRIDE = "infusions.override_precheck"
PRECHECK_FIELDS = (
    "last_clear_liquid_at",
    "last_light_meal_at",
    "last_fatty_meal_at",
    "escort_present",
    "escort_name",
    "escort_phone",
    "childbearing_potential",
    "pregnancy_test_result",
    "medications_changed",
    "medication_changes",
    "new_medication_classes",
    "sbp_mmhg",
    "dbp_mmhg",
    "hr_bpm",
    "spo2_pct",
    "weight_kg",
    "height_cm",
)
_READING_FIELD = {"sbp_mmhg": "sbp_mmhg", "dbp_mmhg": "dbp_mmhg", "hr_bpm": "hr_bpm", "spo2_pct": "spo2_pct"}


def _interaction_findings(session: InfusionSession, classes: list[str], today: date) -> list:
    """CI-14/CI-15 re-run on the intake facts with the new medicines' classes added."""
    facts = consultation_selectors.intake_facts(session.plan.consultation)
    added: dict[str, Any] = {CLASS_FACT[c]: True for c in classes if c in CLASS_FACT}
    facts = dataclasses.replace(facts, **added)
    thresholds = consultation_selectors.screening_thresholds()
    found = [
        screening.ci14_theophylline(facts, thresholds, today),
        screening.ci15_interactions(facts, thresholds, today),
    ]
    # The intake's own "not recorded" notes are not today's question: keep real findings only.
    return [f for f in found if f is not None and str(f.klass) != "monitor"]


def evaluate(session: InfusionSession, check: PreCheck, *, at: datetime) -> list[rules.CheckResult]:
    """Every pre-check rule over what was recorded (plus today's PHQ-9/C-SSRS on the session)."""
    policy = session_selectors.policy()
    screening_policy = consultation_selectors.screening_policy()
    today = timezone.localtime(at).date()
    responses = current_responses_for(subject=session)
    phq9 = next((r for r in reversed(responses) if r.instrument == "phq9"), None)
    cssrs = next((r for r in reversed(responses) if r.instrument == "cssrs_screen"), None)
    local = lambda r: timezone.localtime(r.administered_at).date() if r else None  # noqa: E731
    checks: list[rules.CheckResult] = []
    checks += rules.npo_check(
        at=at,
        last_clear_liquid_at=check.last_clear_liquid_at,
        last_light_meal_at=check.last_light_meal_at,
        last_fatty_meal_at=check.last_fatty_meal_at,
        intervals=policy.npo_intervals,
    )
    checks += rules.escort_check(
        escort_present=check.escort_present, escort_name=check.escort_name, escort_phone=check.escort_phone
    )
    checks += rules.pregnancy_check(
        childbearing_potential=check.childbearing_potential,
        test_required_by_policy=policy.pregnancy_test_required,
        test_result=check.pregnancy_test_result or None,
    )
    checks += rules.baseline_vitals_check(
        reading=rules.VitalsReading(
            sbp_mmhg=check.sbp_mmhg, dbp_mmhg=check.dbp_mmhg, hr_bpm=check.hr_bpm, spo2_pct=check.spo2_pct
        ),
        thresholds=rules.BaselineThresholds(
            sbp_defer_above_mmhg=screening_policy.bp_hard_stop_systolic_mmhg,
            dbp_defer_above_mmhg=screening_policy.bp_hard_stop_diastolic_mmhg,
            sbp_review_above_mmhg=screening_policy.bp_relative_systolic_mmhg,
            dbp_review_above_mmhg=screening_policy.bp_relative_diastolic_mmhg,
            hr_review_above_bpm=policy.baseline_hr_review_above_bpm,
            hr_review_below_bpm=policy.baseline_hr_review_below_bpm,
            spo2_review_at_or_below_pct=policy.baseline_spo2_review_at_or_below_pct,
        ),
    )
    checks += rules.suicide_risk_gate(
        today=today,
        phq9_answers=phq9.answers if phq9 else None,
        phq9_taken_on=local(phq9),
        cssrs_answers=cssrs.answers if cssrs else None,
        cssrs_taken_on=local(cssrs),
    )
    checks += rules.weight_check(today=today, weight_kg=check.weight_kg, measured_on=today if check.weight_kg else None)
    checks += rules.medication_changes_check(
        medications_changed=check.medications_changed,
        interaction_findings=lambda: _interaction_findings(session, check.new_medication_classes, today),
    )
    return checks


@transaction.atomic
def precheck_record(
    *, session: InfusionSession, by: User, data: dict[str, Any], at: datetime | None = None
) -> PreCheck:
    """Save the checklist and evaluate it; the session's clearance follows the rules.
    Impossible values are refused per field (never stored)."""
    require(by, CHANGE)
    locked = lock(session)
    require_unsigned(locked)
    if locked.status != S.PRE_CHECK:
        raise ValidationError("The checklist is recorded during the pre-check.")
    at = at or timezone.now()
    reading = rules.VitalsReading(**{name: data.get(name) for name in _READING_FIELD})
    try:
        rules.validate_reading(reading)
    except rules.ReadingError as error:
        raise field_error(error) from error
    for name in ("last_clear_liquid_at", "last_light_meal_at", "last_fatty_meal_at"):
        if data.get(name) and data[name] > at:
            raise ValidationError({name: "Cannot be in the future."})
    if data.get("weight_kg") is not None:
        # Refused like an impossible vital: zero, negative or a wrong-unit weight is never stored.
        try:
            rules.dosing_weight_kg(actual_kg=data["weight_kg"])
        except rules.DoseError as error:
            raise ValidationError({"weight_kg": error.message}) from error
    check = PreCheck.objects.filter(session=locked).first() or PreCheck(session=locked)
    weight_confirmed = _weight_change_confirmed(locked, check, data)
    before = {"weight_kg": check.weight_kg, "height_cm": check.height_cm} if check.pk else {}
    for name in PRECHECK_FIELDS:
        if name in data:
            value = data[name]
            setattr(
                check,
                name,
                ""
                if value is None
                and name in ("escort_name", "escort_phone", "medication_changes", "pregnancy_test_result")
                else value,
            )
    check.recorded_by, check.recorded_at = by, at
    try:
        results = evaluate(locked, check, at=at)
    except rules.RuleInputError as error:
        raise field_error(error) from error
    check.results = [dataclasses.asdict(r) for r in results]
    check.outcome = rules.clearance(results)
    check.evaluated_at = at
    changed = [name for name, value in before.items() if value != getattr(check, name)]
    if changed:
        # The calculation rested on the old values: void it (and its verification) now, not at
        # the start (a trigger on the pre-check does the same for any other writer).
        dose_void(session=locked, by=by, reason=f"pre-check {', '.join(changed)} changed")
    check.save()
    locked.clearance = check.outcome
    locked.escort_name, locked.escort_phone = check.escort_name, check.escort_phone
    locked.save(update_fields=["clearance", "escort_name", "escort_phone", "updated_at"])
    audit.record(
        actor=by,
        action="infusions.precheck.recorded",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=check,
        patient=locked.patient,
        changes={
            "outcome": check.outcome,
            "blocking": [r.code for r in rules.blocking_checks(results)],
            **({"weight_confirmed": weight_confirmed} if weight_confirmed else {}),
        },
    )
    return check


def _weight_change_confirmed(session: InfusionSession, check: PreCheck, data: dict[str, Any]) -> dict[str, str]:
    """A newly typed weight more than the clinic's limit away from the last recorded one (or the
    intake's) stands only with the nurse's reason (``data["weight_change_reason"]``); returns
    what the audit trail keeps of that confirmation ({} when none was needed)."""
    weight = data.get("weight_kg")
    if weight is None or (check.pk and weight == check.weight_kg):
        return {}
    reference_kg, reference = session_selectors.reference_weight(session, check)
    problem = rules.weight_change_problem(
        weight_kg=weight,
        reference_kg=reference_kg,
        reference=reference,
        threshold_percent=session_selectors.policy().weight_change_confirm_percent,
    )
    if not problem:
        return {}
    reason = (data.get("weight_change_reason") or "").strip()[:300]
    if not reason:
        raise ValidationError({"weight_kg": problem, "weight_change_reason": "Give the reason to confirm this weight."})
    return {"weight_kg": str(weight), "reference_kg": str(reference_kg), "reference": reference, "reason": reason}


@transaction.atomic
def precheck_clear(*, session: InfusionSession, by: User, decision_reason: str = "") -> InfusionSession:
    """pre_check → cleared. When the rules asked for review, a prescriber's documented
    decision (``decision_reason``) is recorded first; a hard stop cannot be overridden."""
    locked = lock(session)
    decision_reason = decision_reason.strip()
    if locked.clearance == rules.NEEDS_CLINICIAN_DECISION:
        require_prescriber(
            by,
            OVERRIDE,
            action="Clearing a pre-check that needs review (a relative contraindication or a suicide-risk finding)",
            location=locked.appointment.location,
        )
        if not decision_reason:
            raise ValidationError({"decision_reason": "Pre-checks need a prescriber's documented decision."})
        locked.clinician_decision_reason = decision_reason
        locked.clinician_decision_by = by
        locked.clinician_decision_at = timezone.now()
        locked.clinician_decision_credential = signature_text(by)
        locked.save(
            update_fields=[
                "clinician_decision_reason",
                "clinician_decision_by",
                "clinician_decision_at",
                "clinician_decision_credential",
                "updated_at",
            ]
        )
    return session_transition(session=locked, to=S.CLEARED, by=by, reason=decision_reason)


@transaction.atomic
def prescriber_request(*, session: InfusionSession, by: User) -> InfusionSession:
    """A nurse whose pre-check needs a prescriber's decision, or whose order's dose is above the
    protocol's usual range with no recorded override, asks for one: the session shows on every
    prescriber's home until it is cleared or deferred, or a new order version is signed. Asking
    again changes nothing."""
    require(by, CHANGE)
    locked = lock(session)
    for_precheck = locked.status == S.PRE_CHECK and locked.clearance == rules.NEEDS_CLINICIAN_DECISION
    order = consultation_selectors.current_order(locked.plan) if locked.status in DOSING_STATUSES else None
    dose_problem = usual_range_problem(order, locked.plan.protocol) if order is not None else ""
    if not (for_precheck or dose_problem):
        raise ValidationError(
            "Only a pre-check that needs a prescriber's decision, or an order whose dose needs a "
            "prescriber's override, asks for one."
        )
    asked = locked.prescriber_requested_at
    if asked is not None and (for_precheck or (order is not None and asked > order.signed_at)):
        return locked
    locked.prescriber_requested_at, locked.prescriber_requested_by = timezone.now(), by
    locked.save(update_fields=["prescriber_requested_at", "prescriber_requested_by", "updated_at"])
    audit.record(
        actor=by,
        action="infusions.prescriber.requested",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "blocking": [r["code"] for r in locked.pre_check.results if r["passed"] is not True]
            if for_precheck
            else [],
            **({"dose": dose_problem} if dose_problem else {}),
        },
    )
    return locked


def precheck_defer(*, session: InfusionSession, by: User, reason_code: str, reason: str = "") -> InfusionSession:
    if reason_code not in rules.DEFERRAL_REASON_CODES:
        raise ValidationError({"reason_code": "Choose a coded deferral reason."})
    return session_transition(session=session, to=S.DEFERRED, by=by, reason_code=reason_code, reason=reason)
