"""The session lifecycle: opening a session for an appointment, the one transition
service (every move through ``rules.TRANSITIONS`` and its gate), signing and amendments."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from consultations import lifecycle as plan_lifecycle
from consultations import selectors as plan_selectors
from core.amendments import amend
from core.audit import Verb
from core.hashing import content_sha256
from infusions import rules, signing
from infusions.models import InfusionSession, SessionAmendment, SessionTransition
from infusions.selectors import recovery as recovery_selectors
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY, CHANGE, lock, require, require_unsigned
from infusions.services.delivery import record_delivery, session_delivery
from infusions.services.dosing import changed_inputs
from scheduling.rules import AppointmentStatus
from scheduling.services import appointment_follow_care, appointment_transition

S = rules.SessionStatus


@transaction.atomic
def session_open(*, appointment, by: User) -> InfusionSession:
    """The session for an infusion appointment (created once; the patient's live plan)."""
    require(by, CHANGE)
    existing = InfusionSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if appointment.appointment_type.code != "infusion":
        raise ValidationError("Only an infusion appointment has an infusion session.")
    plan = plan_selectors.active_plan_for(appointment.patient)
    if plan is None:
        raise ValidationError("The patient has no active treatment plan: activate one before the infusion.")
    session = InfusionSession.objects.create(
        appointment=appointment, patient=appointment.patient, plan=plan, created_by=by
    )
    audit.record(
        actor=by,
        action="infusions.session.opened",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=session,
        patient=appointment.patient,
        changes={"appointment": appointment.pk, "plan": plan.pk},
    )
    return session


def _facts(
    session: InfusionSession, to: S, *, at: datetime, reason_code: str, reason: str, **extra
) -> rules.TransitionFacts:
    """What the gate of this move looks at: the session as it would be after the move."""
    frm = S(session.status)
    values: dict[str, Any] = {"reason": reason}
    if to == S.PRE_CHECK:
        values["checked_in"] = session.appointment.status in ("checked_in", "in_progress")
    elif to == S.CLEARED:
        values["clearance"] = session.clearance or None
        values["clinician_decision_reason"] = session.clinician_decision_reason
    elif to == S.DEFERRED:
        values["deferral_reason_code"] = reason_code
    elif to == S.INFUSING and frm == S.CLEARED:
        dose = session_selectors.current_dose(session)
        values["dose_verified"] = dose is not None and dose.is_verified
        values["dose_changed_inputs"] = tuple(changed_inputs(session, dose)) if dose is not None else ()
        values["container_selected"] = bool((extra.get("container_lot") or session.container_lot).strip())
        values["start_problems"] = tuple(signing.start_problems(session))
        values["started_at"] = at
    elif to == S.INFUSING:
        values["started_at"] = at
    elif to == S.COMPLETED:
        values["planned_dose_delivered"] = bool(extra.get("planned_dose_delivered"))
        values["ended_at"] = at
        # The nurse's tick is checked against the recorded delivery (start, rate changes, pauses).
        try:
            delivery = session_delivery(session, ended_at=at)
        except rules.DeliveryError:
            delivery = None  # record_delivery refuses it with its reason
        if delivery is not None:
            values["bag_delivery_known"] = True
            values["bag_minutes_left"] = rules.bag_minutes_left(delivery)
    elif to == S.STOPPED_EARLY:
        values["stop_reason_code"] = reason_code
        values["ended_at"] = at
    elif to == S.RECOVERING and frm != S.DISCHARGE_READY:
        values["ended_at"] = session.ended_at
    elif to in (S.DISCHARGE_READY, S.DISCHARGED):
        values["readiness"] = recovery_selectors.readiness(session, at=at)
        values["instructions_given"] = session.instructions_given_at is not None
    elif to == S.SIGNED:
        values["signer_present"] = extra.get("signer") is not None
        # The waste entry belongs to the controlled-substance ledger, which blocks signing
        # through ``signing.register_sign_check`` ("unaccounted drug"); not duplicated here.
        values["waste_recorded"] = True
    return rules.TransitionFacts(**values)


_PERMISSION = {S.SIGNED: "infusions.sign_infusionsession"}
# The calendar follows the chair: in progress from the start (through recovery), completed once
# the patient is discharged (signing, after it, finds it there).
_CARE = {
    # Not treated today: the visit is called off, so the desk rebooks it and the chair is free.
    # The clinical reason stays in the session record (the desk reads the appointment).
    S.DEFERRED: (
        AppointmentStatus.CANCELLED,
        "Not treated today (deferred; the reason is in the session)",
    ),
    S.INFUSING: (AppointmentStatus.IN_PROGRESS, "Infusion started"),
    S.DISCHARGED: (AppointmentStatus.COMPLETED, "Discharged after the infusion"),
    S.SIGNED: (AppointmentStatus.COMPLETED, "Infusion record signed"),
}


def _order_problems(session: InfusionSession, order, *, at: datetime) -> list[str]:
    """The standing order's conditions for starting: signed and current, the verified dose
    calculated on it, sessions left, and the minimum interval since the last start."""
    dose = session_selectors.current_dose(session)
    earlier = InfusionSession.objects.filter(plan=session.plan, started_at__isnull=False).exclude(pk=session.pk)
    last = earlier.order_by("-started_at").values_list("started_at", flat=True).first()
    return plan_lifecycle.start_order_problems(
        order_number=order.number if order is not None else None,
        dose_order_number=dose.order.number if dose is not None and dose.order is not None else None,
        sessions_started=earlier.count(),
        sessions_planned=order.sessions_planned if order is not None else None,
        hours_since_last_start=Decimal((at - last).total_seconds()) / 3600 if last is not None else None,
        min_interval_hours=order.min_interval_hours if order is not None else None,
    )


def session_transition(
    *,
    session: InfusionSession,
    to: str,
    by: User,
    at: datetime | None = None,
    reason_code: str = "",
    reason: str = "",
    container_lot: str = "",
    planned_dose_delivered: bool = False,
) -> InfusionSession:
    """Move the session one step along ``rules.TRANSITIONS``; refuse an illegal move or a
    gate that is not met (ValidationError listing what is missing); log who, when and why.
    Signing goes to ``session_sign`` outside this transaction (its refusal hooks must stand)."""
    if to == S.SIGNED:
        return session_sign(session=session, by=by, at=at)
    if to == S.DISCHARGED:
        return _session_discharge(session=session, by=by, at=at)
    return _session_transition(
        session=session,
        to=to,
        by=by,
        at=at,
        reason_code=reason_code,
        reason=reason,
        container_lot=container_lot,
        planned_dose_delivered=planned_dose_delivered,
    )


@transaction.atomic
def _session_transition(
    *,
    session: InfusionSession,
    to: str,
    by: User,
    at: datetime | None = None,
    reason_code: str = "",
    reason: str = "",
    container_lot: str = "",
    planned_dose_delivered: bool = False,
) -> InfusionSession:
    target = S(to) if to in S._value2member_map_ else None
    if target is None:
        raise ValidationError(f"Unknown session status {to!r}.")
    if target == S.SIGNED:
        # Signing owns its (durable) transaction so its refusal hooks run after a rollback.
        raise ValueError("Sign through session_transition or session_sign, outside any transaction.")
    require(by, _PERMISSION.get(target, CHANGE))
    locked = lock(session)
    require_unsigned(locked)
    at = at or timezone.now()
    reason, reason_code = reason.strip(), reason_code.strip()
    try:
        problems = rules.gate_problems(
            locked.status,
            target,
            _facts(
                locked,
                target,
                at=at,
                reason_code=reason_code,
                reason=reason,
                container_lot=container_lot,
                planned_dose_delivered=planned_dose_delivered,
                signer=by,
            ),
        )
    except rules.TransitionError as error:
        raise ValidationError(
            f"A session that is {locked.status_label.lower()} cannot move to {rules.STATUS_LABELS[target].lower()}."
        ) from error
    order = None
    if target == S.INFUSING and locked.status == S.CLEARED:
        order = plan_selectors.current_order(locked.plan)
        problems = [*problems, *_order_problems(locked, order, at=at)]
    if problems:
        raise ValidationError(problems)
    frm = locked.status
    fields = ["status", "status_changed_at", "version", "updated_at"]
    if target == S.PRE_CHECK:
        locked.checked_in_at = locked.checked_in_at or at
        fields.append("checked_in_at")
    elif target == S.DEFERRED:
        locked.deferral_reason_code, locked.deferral_reason = reason_code, reason
        fields += ["deferral_reason_code", "deferral_reason"]
    elif target == S.INFUSING and frm == S.CLEARED:
        locked.started_at = at
        locked.started_dose = session_selectors.current_dose(locked)
        locked.container_lot = (container_lot or locked.container_lot).strip()
        locked.order = order
        fields += ["started_at", "started_dose", "container_lot", "order"]
    elif target in (S.COMPLETED, S.STOPPED_EARLY):
        locked.ended_at = at
        fields.append("ended_at")
        # Delivery is recorded, not assumed: from the start, rate changes, pauses and this end.
        fields += record_delivery(locked, ended_at=at)
        if target == S.STOPPED_EARLY:
            locked.stop_reason_code, locked.stop_reason = reason_code, reason
            fields += ["stop_reason_code", "stop_reason"]
    elif target in (S.DISCHARGE_READY, S.DISCHARGED):
        readiness = recovery_selectors.readiness(locked, at=at)
        locked.readiness = {
            "ready": readiness.ready,
            "reasons": list(readiness.reasons_not_ready),
            "at": at.isoformat(),
        }
        fields.append("readiness")
        if target == S.DISCHARGED:
            locked.discharged_at = at
            fields.append("discharged_at")
    locked.status = target
    locked.status_changed_at = at
    locked.version += 1
    locked.save(update_fields=fields)
    SessionTransition.objects.create(
        session=locked, from_status=frm, to_status=target, by=by, at=at, reason_code=reason_code, reason=reason
    )
    if target in _CARE:
        appointment_follow_care(
            appointment=locked.appointment, to_status=_CARE[target][0], by=by, reason=_CARE[target][1]
        )
    audit.record(
        actor=by,
        action=f"infusions.session.{target}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "status": [frm, target],
            "reason_code": reason_code,
            "reason": reason,
            **({"delivered_mg": locked.delivered_mg} if "delivered_mg" in fields else {}),
        },
    )
    return locked


@transaction.atomic
def _session_discharge(*, session: InfusionSession, by: User, at: datetime | None = None) -> InfusionSession:
    """Discharge; a session still recorded as recovering whose criteria hold now (the
    observation time ran out with nothing posted, which the pages show without writing) is
    first recorded discharge-ready, now and by the person discharging, through the same gate."""
    require(by, CHANGE)
    at = at or timezone.now()
    locked = lock(session)
    if locked.status == S.RECOVERING:
        locked = _session_transition(
            session=locked, to=S.DISCHARGE_READY, by=by, at=at, reason=rules.READY_WHEN_DISCHARGING
        )
    return _session_transition(session=locked, to=S.DISCHARGED, by=by, at=at)


@transaction.atomic
def session_check_in(*, session: InfusionSession, by: User, at: datetime | None = None) -> InfusionSession:
    """Start the pre-check: checks the appointment in first if the front desk has not."""

    appointment = session.appointment
    if appointment.status in ("booked", "confirmed"):
        appointment_transition(appointment=appointment, to_status="checked_in", by=by)
        session.appointment.refresh_from_db()
    return session_transition(session=session, to=S.PRE_CHECK, by=by, at=at)


def signed_content(session: InfusionSession) -> dict:
    """What a signature covers: the record as the selectors show it."""
    return json.loads(json.dumps(session_selectors.record_content(session), default=str))


@transaction.atomic
def session_container_record(*, session: InfusionSession, container_lot: str, by: User) -> InfusionSession:
    """Which vial the dose is drawn from (the ledger fills it when a nurse draws through it;
    starting the infusion needs it). Only before the infusion starts."""
    require(by, CHANGE)
    locked = lock(session)
    require_unsigned(locked)
    if locked.status not in (S.PRE_CHECK, S.CLEARED):
        raise ValidationError("The vial can only be chosen before the infusion starts.")
    before, locked.container_lot = locked.container_lot, container_lot.strip()[:60]
    if before == locked.container_lot:
        return locked
    locked.save(update_fields=["container_lot", "updated_at"])
    audit.record(
        actor=by,
        action="infusions.session.container_recorded",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"container_lot": [before, locked.container_lot]},
    )
    return locked


def session_sign(*, session: InfusionSession, by: User, at: datetime | None = None) -> InfusionSession:
    """discharged → signed: the gate, then every registered sign check (e.g. the ledger's
    "unaccounted drug"); then the record is hashed and locked by the database. A refusal is
    passed to the registered refusal hooks once the refused transaction is gone (e.g. the
    ledger lists a close-out discrepancy for resolution). Once signed, the registered "signed"
    hooks run (e.g. the care team drafts a milestone's progress letters)."""
    try:
        signed = _session_sign(session=session, by=by, at=at)
    except ValidationError:
        signing.sign_refused(session, by)
        raise
    signing.session_signed(signed, by)
    return signed


@transaction.atomic(durable=True)
def _session_sign(*, session: InfusionSession, by: User, at: datetime | None = None) -> InfusionSession:
    require(by, "infusions.sign_infusionsession")
    locked = lock(session)
    require_unsigned(locked)
    problems = signing.sign_problems(locked)
    if problems:
        raise ValidationError(problems)
    at = at or timezone.now()
    content = signed_content(locked)
    locked.signed_content = content
    locked.content_sha256 = content_sha256(content)
    locked.signed_at = at
    locked.signed_by = by
    # status, signature and hash in one UPDATE: the check constraint wants all or none.
    try:
        problems = rules.gate_problems(
            locked.status, S.SIGNED, _facts(locked, S.SIGNED, at=at, reason_code="", reason="", signer=by)
        )
    except rules.TransitionError as error:
        raise ValidationError("Only a discharged session can be signed.") from error
    if problems:
        raise ValidationError(problems)
    frm = locked.status
    locked.status = S.SIGNED
    locked.status_changed_at = at
    locked.version += 1
    locked.save(
        update_fields=[
            "signed_content",
            "content_sha256",
            "signed_at",
            "signed_by",
            "status",
            "status_changed_at",
            "version",
            "updated_at",
        ]
    )
    SessionTransition.objects.create(session=locked, from_status=frm, to_status=S.SIGNED, by=by, at=at)
    appointment_follow_care(
        appointment=locked.appointment, to_status=_CARE[S.SIGNED][0], by=by, reason=_CARE[S.SIGNED][1]
    )
    audit.record(
        actor=by,
        action="infusions.session.signed",
        verb=Verb.SIGN,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"content_sha256": locked.content_sha256},
    )
    return locked


@transaction.atomic(durable=True)
def amendment_add(*, session: InfusionSession, by: User, kind: str, reason: str, text: str) -> SessionAmendment:
    require(by, "infusions.add_sessionamendment")

    def audited(amendment: SessionAmendment) -> None:
        audit.record(
            actor=by,
            action="infusions.session.amended",
            verb=Verb.CREATE,
            category=AUDIT_CATEGORY,
            target=amendment,
            patient=session.patient,
            changes={"kind": kind, "reason": amendment.reason},
        )

    return amend(
        session,
        model=SessionAmendment,
        link="session",
        by=by,
        reason=reason,
        text=text,
        content=lambda reason, text, at: {
            "session": session.pk,
            "kind": kind,
            "reason": reason,
            "text": text,
            "at": at,
        },
        on_created=audited,
        unsigned="Edit the session directly until it is signed.",
        missing={"reason": "Say why the record is being amended.", "text": "Write the correction or addendum."},
        errors={} if kind in ("amends", "appends") else {"kind": "Choose correction or addendum."},
        fields={"kind": kind},
    )


def session_viewed(*, session: InfusionSession, by: User) -> None:
    """Every read of a session is audited (STYLE 13)."""
    audit.record_read(
        actor=by, action="infusions.session.viewed", target=session, patient=session.patient, category=AUDIT_CATEGORY
    )
