"""The follow-up visit note: open, save, sign, amend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from assessments import selectors as assessment_selectors
from assessments.models import ResponseContext
from assessments.services import response_record
from core.amendments import amend
from core.audit import Verb
from core.hashing import content_sha256
from followups import rules
from followups.models import FollowUpAmendment, FollowUpVisit, PlanDecision
from followups.services._common import AUDIT_CATEGORY, NOTE_FIELDS, VISIT_TYPE_CODES, _require
from followups.services.boosters import _booster_from_visit
from followups.services.responses import after_response
from scheduling.models import Appointment
from scheduling.rules import when_text


@transaction.atomic
def visit_open(*, appointment, by: User) -> FollowUpVisit:
    """The note for a follow-up or booster appointment, created on first open (1:1)."""
    _require(by, "followups.add_followupvisit")
    if appointment.appointment_type.code not in VISIT_TYPE_CODES:
        raise ValidationError("Only follow-up and booster appointments have a follow-up note.")
    visit = FollowUpVisit.objects.filter(appointment=appointment).first()
    if visit is not None:
        return visit
    visit = FollowUpVisit.objects.create(
        patient=appointment.patient, appointment=appointment, clinician=appointment.clinician or by
    )
    audit.record(
        actor=by,
        action="followups.visit.opened",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=visit,
        patient=appointment.patient,
    )
    return visit


@transaction.atomic
def visit_save(
    *,
    visit: FollowUpVisit,
    by: User,
    expected_version: int,
    changes: Mapping[str, str],
    instruments: Mapping[str, Any] | None = None,
) -> FollowUpVisit:
    """Save the note's text and record any instruments (through assessments), optimistic-locked."""
    _require(by, "followups.change_followupvisit")
    locked = FollowUpVisit.objects.select_for_update().select_related("patient").get(pk=visit.pk)
    if locked.is_signed:
        raise ValidationError("This note is signed; record an amendment instead.")
    if locked.version != expected_version:
        raise ValidationError("Someone else saved this note meanwhile. Reload to see their changes.")
    before = {name: getattr(locked, name) for name in NOTE_FIELDS}
    for name in NOTE_FIELDS:
        if name in changes:
            setattr(locked, name, changes[name].strip())
    locked.version += 1
    locked.save(update_fields=[*NOTE_FIELDS, "version", "updated_at"])
    for code, answers in (instruments or {}).items():
        response = response_record(
            patient=locked.patient,
            code=code,
            answers=answers,
            context=ResponseContext.FOLLOW_UP,
            by=by,
            subject=locked,
        )
        after_response(response=response)
    audit.record(
        actor=by,
        action="followups.visit.saved",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes=audit.diff(locked, before, list(NOTE_FIELDS)),
    )
    return locked


def visit_content(visit: FollowUpVisit) -> dict[str, Any]:
    responses = assessment_selectors.current_responses_for(subject=visit)
    return {
        "visit": visit.pk,
        "patient": visit.patient_id,
        "appointment": visit.appointment_id,
        **{name: getattr(visit, name) for name in NOTE_FIELDS},
        "plan_decision": visit.plan_decision,
        "decision_note": visit.decision_note,
        "instruments": [{"id": r.pk, "code": r.instrument, "total": r.total} for r in responses],
    }


def visit_sign_refusal(visit: FollowUpVisit, *, now) -> str | None:
    """Why the note cannot be signed at ``now`` (its appointment has not started), or None; the
    visit page shows it beside the sign button, and :func:`visit_sign` refuses with it."""
    appointment = Appointment.objects.select_related("location").get(pk=visit.appointment_id)
    return rules.sign_refusal(
        now=now,
        visit_start=appointment.start,
        visit_start_text=when_text(appointment.start.astimezone(appointment.location.zone)),
    )


@transaction.atomic(durable=True)
def visit_sign(*, visit: FollowUpVisit, by: User, plan_decision: str, decision_note: str = "") -> FollowUpVisit:
    """Sign the note with a plan decision; the database then refuses any change (pgtrigger)."""
    _require(by, "followups.sign_followupvisit")
    locked = FollowUpVisit.objects.select_for_update().get(pk=visit.pk)
    if locked.is_signed:
        raise ValidationError("This note is already signed.")
    refusal = visit_sign_refusal(locked, now=timezone.now())
    if refusal:
        raise ValidationError(refusal)
    if plan_decision not in PlanDecision.values:
        raise ValidationError({"plan_decision": "Choose the plan decision."})
    decision_note = decision_note.strip()
    if plan_decision in (PlanDecision.REFER, PlanDecision.DISCHARGE, PlanDecision.PAUSE) and not decision_note:
        raise ValidationError({"decision_note": "Say why (and, for a referral, to whom)."})
    locked.plan_decision = plan_decision
    locked.decision_note = decision_note
    content = visit_content(locked)
    locked.content_sha256 = content_sha256(content)
    locked.status = FollowUpVisit.Status.SIGNED
    locked.signed_at = timezone.now()
    locked.signed_by = by
    locked.save(
        update_fields=[
            "plan_decision",
            "decision_note",
            "content_sha256",
            "status",
            "signed_at",
            "signed_by",
            "updated_at",
        ]
    )
    if plan_decision == PlanDecision.BOOSTER:
        _booster_from_visit(visit=locked, by=by)
    audit.record(
        actor=by,
        action="followups.visit.signed",
        verb=Verb.SIGN,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"plan_decision": plan_decision, "content_sha256": locked.content_sha256},
    )
    return locked


@transaction.atomic(durable=True)
def visit_amend(*, visit: FollowUpVisit, by: User, reason: str, text: str) -> FollowUpAmendment:
    _require(by, "followups.add_followupamendment")
    return amend(
        visit,
        model=FollowUpAmendment,
        link="visit",
        by=by,
        reason=reason,
        text=text,
        content=lambda reason, text, at: {"visit": visit.pk, "reason": reason, "text": text, "at": at.isoformat()},
        on_created=lambda amendment: audit.record(
            actor=by,
            action="followups.visit.amended",
            verb=Verb.CREATE,
            category=AUDIT_CATEGORY,
            target=amendment,
            patient=visit.patient,
        ),
        unsigned="Edit the draft directly; amendments are for signed notes.",
        missing={"reason": "Say why the note is amended.", "text": "Write the amendment."},
    )


def visit_viewed(*, visit: FollowUpVisit, by: User) -> None:
    audit.record_read(
        actor=by, action="followups.visit.viewed", target=visit, patient=visit.patient, category=AUDIT_CATEGORY
    )


def alert_viewed(*, alert, by: User) -> None:
    audit.record_read(
        actor=by, action="followups.safety_alert.viewed", target=alert, patient=alert.patient, category=AUDIT_CATEGORY
    )


def patient_panel_viewed(*, patient, by: User) -> None:
    audit.record_read(
        actor=by, action="followups.patient_panel.viewed", target=patient, patient=patient, category=AUDIT_CATEGORY
    )
