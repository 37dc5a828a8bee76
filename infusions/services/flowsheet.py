"""The live flowsheet: readings (with the alerts they raise), alert actions, rate changes
and adverse events. Readings do not lock the session: two nurses entering at once both
keep their rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from core.audit import Verb
from infusions import rules
from infusions.models import (
    READING_FIELDS,
    AdverseEvent,
    AdverseEventKind,
    DrugGiven,
    FlowsheetReading,
    InfusionSession,
    Outcome,
    RateChange,
    RescueDrug,
    Route,
    SessionAlert,
    Severity,
)
from infusions.models.flowsheet import DOSE_UNIT_CHOICES
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY, field_error, lock, require, require_unsigned
from infusions.services.lifecycle import CHANGE, session_transition
from infusions.services.recovery import readiness_refresh
from prescribers.selectors import signature_text

RATE_ABOVE_ORDER = "infusions.rate_above_order"
DOSE_UNITS = [code for code, _label in DOSE_UNIT_CHOICES]

S = rules.SessionStatus
READING_STATUSES = (
    S.PRE_CHECK,
    S.CLEARED,
    S.INFUSING,
    S.PAUSED,
    S.COMPLETED,
    S.STOPPED_EARLY,
    S.RECOVERING,
    S.DISCHARGE_READY,
)


class ReadingNeedsConfirmation(ValidationError):
    """An extreme but possible value: shown at its field; the same reading, confirmed once,
    is stored."""


@transaction.atomic
def reading_record(
    *,
    session: InfusionSession,
    by: User,
    taken_at: datetime,
    values: dict[str, Any],
    at: datetime | None = None,
    confirmed: bool = False,
) -> FlowsheetReading:
    """Refuse only the physically impossible (negative, SpO₂ over 100 %, beyond what a
    monitor shows, a time in the future or before check-in); ask once to confirm an
    extreme value; store; raise an alert for each value beyond the clinic's thresholds
    (critical ones ask for pause, stop, airway or help)."""
    require(by, CHANGE)
    session = InfusionSession.objects.select_related("patient", "pre_check").get(pk=session.pk)
    require_unsigned(session)
    if session.status not in READING_STATUSES:
        raise ValidationError("Readings are recorded from check-in until discharge.")
    at = at or timezone.now()
    values = {name: values.get(name) for name in READING_FIELDS}
    if all(v is None for v in values.values()):
        raise ValidationError("Enter at least one value.")
    reading = rules.VitalsReading(**values)
    try:
        rules.validate_reading(reading)
        # Times are entered to the minute: the check-in minute itself is allowed.
        checked_in = session.checked_in_at.replace(second=0, microsecond=0) if session.checked_in_at else None
        rules.validate_reading_time(taken_at=taken_at, at=at, checked_in_at=checked_in)
    except rules.ReadingError as error:
        raise field_error(error) from error
    extreme = rules.extreme_values(reading)
    if extreme and not confirmed:
        raise ReadingNeedsConfirmation(extreme)
    row = FlowsheetReading.objects.create(
        session=session,
        taken_at=taken_at,
        phase=session_selectors.phase_of(session),
        entered_by=by,
        entered_at=at,
        **values,
    )
    policy = session_selectors.policy()
    alerts = rules.vitals_alerts(reading, policy.alert_thresholds, session_selectors.baseline_reading(session))
    SessionAlert.objects.bulk_create(
        SessionAlert(
            session=session,
            reading=row,
            code=a.code,
            field=a.field,
            severity=a.severity,
            message=a.message[:300],
            source=a.source[:200],
            raised_at=at,
        )
        for a in alerts
    )
    audit.record(
        actor=by,
        action="infusions.reading.recorded",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=row,
        patient=session.patient,
        changes={
            **{k: v for k, v in values.items() if v is not None},
            "alerts": [a.code for a in alerts],
            "confirmed_extreme": sorted(extreme),
        },
    )
    if session.status in (S.RECOVERING, S.DISCHARGE_READY):
        readiness_refresh(session=session, by=by, at=at)
    return row


@transaction.atomic
def alert_action(
    *, alert: SessionAlert, by: User, action: str, note: str = "", at: datetime | None = None
) -> SessionAlert:
    """Record what was done about an alert (who, when, which action); this resolves it.
    A critical alert takes pause, stop, airway, call for help or an intervention, always
    with a note; "pause" also pauses the infusion, "stop" stops it early."""
    require(by, CHANGE)
    row = SessionAlert.objects.select_for_update().select_related("session__patient").get(pk=alert.pk)
    require_unsigned(row.session)
    allowed = rules.CRITICAL_ALERT_ACTIONS if row.is_critical else rules.ALERT_ACTIONS
    if action not in allowed:
        labels = ", ".join(rules.ALERT_ACTION_LABELS[a].lower() for a in allowed)
        raise ValidationError({"action": f"Choose one of: {labels}."})
    if row.action:
        raise ValidationError("This alert already has an action.")
    note = note.strip()
    if (row.is_critical or action in ("slow", "intervention", "stop")) and not note:
        raise ValidationError({"note": "Say what was done."})
    row.action, row.action_note, row.actioned_by, row.actioned_at = action, note, by, at or timezone.now()
    row.save(update_fields=["action", "action_note", "actioned_by", "actioned_at"])
    audit.record(
        actor=by,
        action="infusions.alert.actioned",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=row,
        patient=row.session.patient,
        changes={"action": action, "note": note},
    )
    if action == "pause" and row.session.status == S.INFUSING:
        session_transition(session=row.session, to=S.PAUSED, by=by, reason=f"Alert: {row.message}")
    elif action == "stop" and row.session.status in (S.INFUSING, S.PAUSED):
        session_transition(
            session=row.session, to=S.STOPPED_EARLY, by=by, reason_code="vitals_limit", reason=f"{row.message}: {note}"
        )
    if row.session.status in (S.RECOVERING, S.DISCHARGE_READY):
        readiness_refresh(session=row.session, by=by)
    return row


@transaction.atomic
def rate_change_record(
    *,
    session: InfusionSession,
    by: User,
    rate_ml_per_h: Decimal,
    reason: str,
    order_text: str = "",
    at: datetime | None = None,
) -> RateChange:
    """A pump rate change while infusing. Refused outside the pump's range and above the
    clinic's mg/kg/h ceiling (whoever orders it); a rate above the calculated one needs a
    prescriber (``rate_above_order``, with a current licence and DEA registration) and their
    documented order."""
    require(by, CHANGE)
    session = lock(session)
    if session.status not in (S.INFUSING, S.PAUSED):
        raise ValidationError("The rate changes while infusing.")
    policy = session_selectors.policy()
    limits = policy.pump_limits
    if rate_ml_per_h is None or not (
        rate_ml_per_h == 0 or limits.min_rate_ml_per_h <= rate_ml_per_h <= limits.max_rate_ml_per_h
    ):
        raise ValidationError(
            {"rate_ml_per_h": f"Outside the pump's range {limits.min_rate_ml_per_h}–{limits.max_rate_ml_per_h} mL/h."}
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why the rate changed."})
    # When the pump was changed (charted late is allowed; never before the start nor in the future):
    # the delivery is computed from these times.
    now = timezone.now()
    at = at or now
    if at > now or (session.started_at is not None and at < session.started_at):
        raise ValidationError({"at": "The rate change must fall between the start of the infusion and now."})
    dose = session.started_dose or session_selectors.current_dose(session)
    if dose is not None and rate_ml_per_h > 0:
        per_kg = rules.rate_mg_per_kg_per_h(
            rate_ml_per_h=rate_ml_per_h, mg_per_ml=dose.final_mg_per_ml, weight_kg=dose.weight_kg
        )
        problems = rules.limit_problems(
            duration_min=dose.duration_min, mg_per_kg_per_h=per_kg, limits=policy.dosing_limits
        )
        if "mg_per_kg_per_h" in problems:
            message = f"{rate_ml_per_h} mL/h of {dose.final_mg_per_ml} mg/mL is {problems['mg_per_kg_per_h']}."
            raise ValidationError({"rate_ml_per_h": message})
    # One prescriber decision covers both: faster than the verified calculation, or faster
    # than the standing order's ceiling (which the calculation never exceeds).
    ceiling = _order_rate_ceiling(session)
    above_order = ceiling is not None and rate_ml_per_h > ceiling
    above = above_order or (dose is not None and rate_ml_per_h > dose.rate_ml_per_h)
    order_text = order_text.strip()
    if above:
        # Not above the order's ceiling, then above the calculation (so there is one).
        limit = (
            f"the standing order's ceiling ({ceiling} mL/h)"
            if above_order or dose is None
            else f"the calculated {dose.rate_ml_per_h} mL/h"
        )
        require_prescriber(
            by,
            RATE_ABOVE_ORDER,
            action=f"A rate of {rate_ml_per_h} mL/h, above {limit},",
            location=session.appointment.location,
        )
        if not order_text:
            raise ValidationError({"order_text": "Write the order for a rate above the calculated one."})
    row = RateChange.objects.create(
        session=session,
        at=at,
        rate_ml_per_h=rate_ml_per_h,
        reason=reason.strip(),
        by=by,
        above_calculated=above,
        ordered_by=by if above else None,
        order_text=order_text if above else "",
    )
    audit.record(
        actor=by,
        action="infusions.rate.changed",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=row,
        patient=session.patient,
        changes={
            "rate_ml_per_h": rate_ml_per_h,
            "reason": reason,
            "above_calculated": above,
            "order": order_text,
            **({"signed_credential": signature_text(by)} if above else {}),
        },
    )
    return row


def _order_rate_ceiling(session: InfusionSession) -> Decimal | None:
    """The order's rate ceiling in mL/h for the dose being given (None for a session started
    before orders were versioned, which has no order to hold it to)."""
    dose = session_selectors.current_dose(session)
    if session.order is None or dose is None:
        return None
    return rules.rate_ceiling_ml_per_h(
        max_rate_mg_per_kg_per_h=session.order.max_rate_mg_per_kg_per_h,
        weight_kg=dose.weight_kg,
        final_mg_per_ml=dose.final_mg_per_ml,
    )


@transaction.atomic
def adverse_event_record(
    *,
    session: InfusionSession,
    by: User,
    kind: str,
    severity: str,
    onset_at: datetime,
    action_taken: str,
    outcome: str,
    kind_other: str = "",
    notes: str = "",
    handover_note: str = "",
    drugs: Sequence[dict[str, Any]] = (),
) -> AdverseEvent:
    """An adverse event with the rescue drugs given for it. Each drug comes from the clinic's
    formulary (``formulary``: a RescueDrug) with the dose, unit, route and time typed; the
    person recording is the one who gave it unless ``given_by`` names another. A controlled
    drug is flagged (with its DEA schedule) for the controlled-substance log."""
    require(by, CHANGE)
    require_unsigned(session)
    now = timezone.now()
    errors = {}
    if kind not in AdverseEventKind.values:
        errors["kind"] = "Choose the type of event."
    if kind == AdverseEventKind.OTHER and not kind_other.strip():
        errors["kind_other"] = "Describe the event."
    if severity not in Severity.values:
        errors["severity"] = "Choose a severity."
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose an outcome."
    elif outcome == Outcome.HANDED_OVER and not handover_note.strip():
        errors["handover_note"] = "Say to whom the event was handed over and what they were told."
    if not action_taken.strip():
        errors["action_taken"] = "Say what was done."
    if onset_at is None or onset_at > now:
        errors["onset_at"] = "Onset cannot be in the future."
    # To the minute: the form's onset has no seconds, and an event in the minute of check-in is possible.
    elif session.checked_in_at and onset_at < session.checked_in_at.replace(second=0, microsecond=0):
        errors["onset_at"] = "Onset is before the patient checked in."
    for drug in drugs:
        problem = _drug_problem(drug, now=now)
        if problem:
            errors["drugs"] = problem
    if errors:
        raise ValidationError(errors)
    handed_over = outcome == Outcome.HANDED_OVER
    event = AdverseEvent.objects.create(
        session=session,
        kind=kind,
        kind_other=kind_other.strip(),
        severity=severity,
        onset_at=onset_at,
        action_taken=action_taken.strip(),
        outcome=outcome,
        notes=notes.strip(),
        recorded_by=by,
        recorded_at=now,
        handover_note=handover_note.strip() if handed_over else "",
        outcome_by=by if handed_over else None,
        outcome_at=now if handed_over else None,
    )
    given = DrugGiven.objects.bulk_create(_drug_row(event, d, by=by) for d in drugs)
    audit.record(
        actor=by,
        action="infusions.adverse_event.recorded",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=event,
        patient=session.patient,
        changes={
            "kind": kind,
            "severity": severity,
            "outcome": outcome,
            "drugs": [str(g) for g in given],
            "controlled": [str(g) for g in given if g.controlled],
        },
    )
    _refresh_readiness(session, by=by)
    return event


def _refresh_readiness(session: InfusionSession, *, by: User) -> None:
    # An open event takes a discharge-ready patient back to recovering; closing it may
    # make them ready again.
    if session.status in (S.RECOVERING, S.DISCHARGE_READY):
        readiness_refresh(session=session, by=by)


def _drug_problem(drug: dict[str, Any], *, now: datetime) -> str:
    item = drug.get("formulary")
    if not isinstance(item, RescueDrug) or not item.active:
        return "Choose each drug from the clinic's rescue formulary."
    dose = drug.get("dose")
    if dose is None or dose <= 0:
        return f"{item.name}: give the dose actually given (above 0)."
    if (drug.get("dose_unit") or item.dose_unit) not in DOSE_UNITS:
        return f"{item.name}: choose the dose unit."
    if (drug.get("route") or item.route) not in Route.values:
        return f"{item.name}: choose the route."
    if drug.get("given_at") is None or drug["given_at"] > now:
        return f"{item.name}: give the time it was given (not in the future)."
    giver = drug.get("given_by")
    if giver is not None and not (giver.is_active and giver.has_perm(CHANGE)):
        return f"{item.name}: the person who gave it must be a member of the clinical staff."
    return ""


def _drug_row(event: AdverseEvent, drug: dict[str, Any], *, by: User) -> DrugGiven:
    item: RescueDrug = drug["formulary"]
    return DrugGiven(
        adverse_event=event,
        session=event.session,
        formulary=item,
        name=item.name,
        dose=drug["dose"],
        dose_unit=drug.get("dose_unit") or item.dose_unit,
        route=drug.get("route") or item.route,
        given_at=drug["given_at"],
        given_by=drug.get("given_by") or by,
        controlled=item.controlled,
        dea_schedule=item.dea_schedule,
    )


@transaction.atomic
def adverse_event_outcome(*, event: AdverseEvent, by: User, outcome: str, note: str = "") -> AdverseEvent:
    """A later outcome for an event recorded earlier: resolved, handed over (with the note of
    whom to and what was said), or transferred. An event still ongoing or resolving keeps the
    patient from discharge; the session, once signed, no longer changes (an amendment does)."""
    require(by, CHANGE)
    session = lock(event.session)
    require_unsigned(session)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    errors = {}
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose an outcome."
    elif outcome == event.outcome:
        errors["outcome"] = f"The event is already recorded as {event.get_outcome_display().lower()}."
    elif outcome == Outcome.HANDED_OVER and not note.strip():
        errors["note"] = "Say to whom the event was handed over and what they were told."
    if errors:
        raise ValidationError(errors)
    before = event.outcome
    now = timezone.now()
    event.outcome = outcome
    event.handover_note = note.strip() if outcome == Outcome.HANDED_OVER else event.handover_note
    if outcome != Outcome.HANDED_OVER and note.strip():
        event.notes = "\n".join(filter(None, [event.notes, f"{now:%Y-%m-%d %H:%M} {note.strip()}"]))
    event.outcome_by = by
    event.outcome_at = now
    event.save(update_fields=["outcome", "handover_note", "notes", "outcome_by", "outcome_at"])
    audit.record(
        actor=by,
        action="infusions.adverse_event.outcome",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=event,
        patient=session.patient,
        changes={"outcome": [before, outcome]},
    )
    _refresh_readiness(session, by=by)
    return event
