"""Writes of a course over months: titration reviews and steps, urinary-symptom screens, liver
function tests, surveillance findings and maintenance re-screens. Each is atomic, checks the
permission, validates with messages keyed by field, and audits."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from consultations import rules as screening_rules
from consultations.lifecycle import ordered_rate_mg_per_kg_per_h
from consultations.models import TreatmentPlan
from consultations.selectors import current_order, live_plan_for, screening_thresholds
from consultations.services.orders import order_sign
from core.audit import Category, Verb
from courses import rules, selectors
from courses.models import (
    CourseFinding,
    FindingKind,
    LiverTest,
    MaintenanceRescreen,
    RescreenState,
    ReviewDecision,
    ReviewKind,
    TitrationReview,
    UrinaryScreen,
)
from infusions.models import InfusionSession
from patients.models import Patient

RECORD = "courses.add_livertest"
ACKNOWLEDGE = "courses.change_coursefinding"
REVIEW = "consultations.change_treatmentplan"


def _require(by: User, perm: str) -> None:
    if by is None or not by.has_perm(perm):
        raise PermissionDenied


def finding_raise(*, patient: Patient, kind: str, message: str, source: str, by: User) -> CourseFinding:
    """Open a surveillance finding for the clinicians (shown until acknowledged)."""
    finding = CourseFinding.objects.create(
        patient=patient, kind=kind, message=message[:400], source=source, created_at=timezone.now()
    )
    audit.record(
        actor=by,
        action="courses.finding.raised",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=finding,
        patient=patient,
        changes={"kind": kind, "source": source},
    )
    return finding


# --- Titration -------------------------------------------------------------------------


@transaction.atomic
def titration_review_record(
    *, plan: TreatmentPlan, kind: str, after_infusion: int, findings: str, decision: str, by: User
) -> TitrationReview:
    """Record a prescriber's review at a named point of the course; a step up or down the
    protocol's ladder signs the next version of the standing order, with the review as its
    reason (and, above the protocol's usual range, as the override's reason)."""
    require_prescriber(by, REVIEW, action="A titration review")
    locked = TreatmentPlan.objects.select_for_update(of=("self",)).select_related("protocol", "patient").get(pk=plan.pk)
    problems: dict[str, str] = {}
    if kind not in ReviewKind.values:
        problems["kind"] = "Choose the kind of review."
    if decision not in ReviewDecision.values:
        problems["decision"] = "Choose what the review decided."
    findings = findings.strip()[:2000]
    if not findings:
        problems["findings"] = "Say what was reviewed (scores, side effects, the patient's account)."
    order = current_order(locked)
    if order is None:
        problems["__all__"] = "The plan has no signed standing order to step from."
    given, _ = selectors.plan_counts(locked, locked.patient_id)
    if not 1 <= after_infusion <= max(given, 0):
        problems["after_infusion"] = (
            f"Name a point of the course that has happened: after infusion 1 to {given}."
            if given
            else "No infusion of this plan has been given yet: review after one."
        )
    protocol = locked.protocol
    ladder = list(protocol.titration_ladder or [])
    new_dose = order.dose if order is not None else None
    if order is not None and decision in (ReviewDecision.STEP_UP, ReviewDecision.STEP_DOWN):
        if not ladder:
            problems["decision"] = "This protocol has no titration ladder: the dose stays as ordered."
        else:
            new_dose = rules.ladder_step(ladder=ladder, current=order.dose, up=decision == ReviewDecision.STEP_UP)
            if new_dose is None:
                problems["decision"] = (
                    "The dose is already at the top of the protocol's ladder."
                    if decision == ReviewDecision.STEP_UP
                    else "The dose is already at the bottom of the protocol's ladder."
                )
    if decision == ReviewDecision.STEP_UP and kind == ReviewKind.TOLERABILITY and "decision" not in problems:
        problems["decision"] = "A tolerability review steps down or keeps the dose, never up."
    if problems or order is None or new_dose is None:  # no order or no rung: refused above
        raise ValidationError(problems)
    label = ReviewKind(kind).label.lower()
    signed = None
    if decision != ReviewDecision.KEEP:
        reason = (
            f"Titration ({ReviewDecision(decision).label.lower()}, {label} after infusion {after_infusion}): {findings}"
        )[:300]
        changes: dict[str, Any] = {"dose": new_dose}
        if new_dose > protocol.dose_max:
            changes["dose_override_reason"] = (
                f"Titration step on the protocol's ladder {protocol.titration_source} after a {label}"
            )[:300]
        implied = _implied_rate(new_dose, protocol.dose_unit, order.infusion_minutes)
        if implied > order.max_rate_mg_per_kg_per_h:
            changes["max_rate_mg_per_kg_per_h"] = implied
        signed = order_sign(plan=locked, by=by, reason=reason, changes=changes)
    review = TitrationReview.objects.create(
        plan=locked,
        patient=locked.patient,
        kind=kind,
        after_infusion=after_infusion,
        findings=findings,
        decision=decision,
        dose_before=order.dose,
        dose_after=new_dose,
        ladder_source=protocol.titration_source,
        order=signed,
        reviewed_by=by,
        reviewed_at=timezone.now(),
    )
    audit.record(
        actor=by,
        action="courses.titration.reviewed",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=review,
        patient=locked.patient,
        changes={
            "kind": kind,
            "after_infusion": after_infusion,
            "decision": decision,
            "dose": [str(order.dose), str(new_dose)],
            "order_version": signed.number if signed else order.number,
        },
    )
    return review


def _implied_rate(dose, dose_unit: str, minutes: int):
    return ordered_rate_mg_per_kg_per_h(dose=dose, dose_unit=dose_unit, infusion_minutes=minutes)


# --- Surveillance ------------------------------------------------------------------------


@transaction.atomic
def urinary_screen_record(*, session: InfusionSession, answers: dict[str, bool], notes: str, by: User) -> UrinaryScreen:
    """Record the pre-check's urinary-symptom screen; any yes raises a finding ([S23])."""
    _require(by, "courses.add_urinaryscreen")
    locked = InfusionSession.objects.select_for_update(of=("self",)).select_related("patient").get(pk=session.pk)
    if UrinaryScreen.objects.filter(session=locked).exists():
        raise ValidationError("The urinary-symptom screen of this infusion is already recorded.")
    if locked.started_at is not None:
        raise ValidationError("The screen belongs to the pre-check, before the infusion starts.")
    values = {name: bool(answers.get(name)) for name, _ in rules.URINARY_QUESTIONS}
    positive = rules.urinary_positive(values)
    screen = UrinaryScreen.objects.create(
        session=locked,
        patient=locked.patient,
        notes=notes.strip()[:300],
        positive=positive,
        recorded_by=by,
        recorded_at=timezone.now(),
        **values,
    )
    audit.record(
        actor=by,
        action="courses.urinary_screen.recorded",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=screen,
        patient=locked.patient,
        changes={**values, "positive": positive},
    )
    if positive:
        yes = [label.lower() for name, label in rules.URINARY_QUESTIONS if values[name]]
        finding_raise(
            patient=locked.patient,
            kind=FindingKind.URINARY,
            message=f"Urinary symptoms at the pre-check: {'; '.join(yes)}. Consider ketamine-associated cystitis.",
            source="[S23] CI-16",
            by=by,
        )
    return screen


@transaction.atomic
def liver_test_record(
    *, patient: Patient, taken_on: date, alt: int, alt_uln: int, ast: int, ast_uln: int, laboratory: str, by: User
) -> LiverTest:
    """Record liver function test results; a value above the laboratory's upper limit of
    normal raises a finding for the prescriber ([S11]; CI-10)."""
    _require(by, RECORD)
    problems = {}
    if taken_on > timezone.localdate():
        problems["taken_on"] = "The sample date cannot be in the future."
    for name, value in (("alt_uln", alt_uln), ("ast_uln", ast_uln)):
        if value <= 0:
            problems[name] = "Give the laboratory's upper limit of normal."
    if problems:
        raise ValidationError(problems)
    abnormal = rules.lft_abnormal(alt=alt, ast=ast, alt_uln=alt_uln, ast_uln=ast_uln)
    test = LiverTest.objects.create(
        patient=patient,
        taken_on=taken_on,
        alt=alt,
        alt_uln=alt_uln,
        ast=ast,
        ast_uln=ast_uln,
        laboratory=laboratory.strip()[:120],
        abnormal=bool(abnormal),
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    audit.record(
        actor=by,
        action="courses.liver_test.recorded",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=test,
        patient=patient,
        changes={"taken_on": taken_on.isoformat(), "alt": alt, "alt_uln": alt_uln, "ast": ast, "ast_uln": ast_uln},
    )
    if abnormal:
        finding_raise(
            patient=patient,
            kind=FindingKind.ABNORMAL_LFT,
            message=f"Liver function tests of {taken_on:%m/%d/%Y}: {'; '.join(abnormal)}.",
            source="[S11] CI-10",
            by=by,
        )
    return test


@transaction.atomic
def finding_acknowledge(*, finding: CourseFinding, text: str, by: User) -> CourseFinding:
    _require(by, ACKNOWLEDGE)
    locked = CourseFinding.objects.select_for_update().get(pk=finding.pk)
    if locked.acknowledged_at is not None:
        raise ValidationError("This finding is already acknowledged.")
    text = text.strip()[:300]
    if not text:
        raise ValidationError({"acknowledgement": "Say what was done about it."})
    locked.acknowledged_by = by
    locked.acknowledged_at = timezone.now()
    locked.acknowledgement = text
    locked.save(update_fields=["acknowledged_by", "acknowledged_at", "acknowledgement"])
    audit.record(
        actor=by,
        action="courses.finding.acknowledged",
        verb=Verb.UPDATE,
        category=Category.CLINICAL,
        target=locked,
        patient=locked.patient,
        changes={"acknowledgement": text},
    )
    return locked


# --- Maintenance -----------------------------------------------------------------------------


@transaction.atomic
def rescreen_record(
    *,
    patient: Patient,
    facts: dict[str, Any],
    misuse: dict[str, bool],
    by: User,
) -> MaintenanceRescreen:
    """Re-run the contraindication rules on the intake's facts updated with today's answers,
    and ask the misuse and diversion questions ([S34]; CI-12 [S11]). An absolute finding makes
    the patient ineligible for boosters; any other finding or a yes waits for the prescriber."""
    _require(by, "courses.add_maintenancerescreen")
    unknown = set(facts) - set(selectors.RESCREEN_FACTS)
    if unknown:
        raise ValidationError(f"Not asked at a re-screen: {', '.join(sorted(unknown))}.")
    today = timezone.localdate()
    updated = dataclasses.replace(selectors.rescreen_base_facts(patient), **facts)
    result = screening_rules.screen(updated, screening_thresholds(), today=today)
    answers = {name: bool(misuse.get(name)) for name, _ in rules.MISUSE_QUESTIONS}
    concern = rules.misuse_concern(answers)
    state = rules.rescreen_state(outcome=str(result.outcome), misuse=concern)
    rescreen = MaintenanceRescreen.objects.create(
        patient=patient,
        plan=live_plan_for(patient),
        facts={name: facts[name] for name in selectors.RESCREEN_FACTS if name in facts},
        screening=result.as_dict(),
        outcome=str(result.outcome),
        misuse_answers=answers,
        state=state,
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    audit.record(
        actor=by,
        action="courses.rescreen.recorded",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=rescreen,
        patient=patient,
        changes={
            "outcome": str(result.outcome),
            "state": state,
            "misuse": answers,
        },
    )
    if concern:
        yes = [label.lower() for name, label in rules.MISUSE_QUESTIONS if answers[name]]
        finding_raise(
            patient=patient,
            kind=FindingKind.MISUSE,
            message=f"At the maintenance re-screen: {'; '.join(yes)}.",
            source="[S34] [S11] CI-12",
            by=by,
        )
    return rescreen


@transaction.atomic
def rescreen_review(*, rescreen: MaintenanceRescreen, reason: str, by: User) -> MaintenanceRescreen:
    """A prescriber clears a re-screen that waited for review, saying why (never an absolute one)."""
    require_prescriber(by, REVIEW, action="Clearing a maintenance re-screen")
    locked = MaintenanceRescreen.objects.select_for_update().get(pk=rescreen.pk)
    if locked.state != RescreenState.REVIEW:
        raise ValidationError(
            "Only a re-screen waiting for review can be cleared."
            if locked.state == RescreenState.CLEARED
            else "An absolute contraindication cannot be cleared for boosters."
        )
    reason = reason.strip()[:300]
    if not reason:
        raise ValidationError({"review_reason": "Say why boosters may go ahead."})
    locked.state = RescreenState.CLEARED
    locked.reviewed_by = by
    locked.reviewed_at = timezone.now()
    locked.review_reason = reason
    locked.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_reason"])
    audit.record(
        actor=by,
        action="courses.rescreen.reviewed",
        verb=Verb.UPDATE,
        category=Category.CLINICAL,
        target=locked,
        patient=locked.patient,
        changes={"state": [RescreenState.REVIEW, RescreenState.CLEARED], "reason": reason},
    )
    return locked
