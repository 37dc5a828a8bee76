"""The session lifecycle: statuses, the transition table and its gates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from infusions.rules._common import TransitionError
from infusions.rules.discharge import Readiness
from infusions.rules.prechecks import CLEARED, DEFERRED, NEEDS_CLINICIAN_DECISION


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    PRE_CHECK = "pre_check"
    CLEARED = "cleared"
    DEFERRED = "deferred"
    INFUSING = "infusing"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    RECOVERING = "recovering"
    DISCHARGE_READY = "discharge_ready"
    DISCHARGED = "discharged"
    SIGNED = "signed"


_S = SessionStatus
STATUS_LABELS: Final = {
    _S.SCHEDULED: "Scheduled",
    _S.PRE_CHECK: "Pre-check",
    _S.CLEARED: "Cleared",
    _S.DEFERRED: "Deferred",
    _S.INFUSING: "Infusing",
    _S.PAUSED: "Paused",
    _S.COMPLETED: "Infusion complete",
    _S.STOPPED_EARLY: "Stopped early",
    _S.RECOVERING: "Recovering",
    _S.DISCHARGE_READY: "Discharge-ready",
    _S.DISCHARGED: "Discharged",
    _S.SIGNED: "Signed",
}

# Reference 5.2. Rate changes while infusing are events, not status moves.
# discharge_ready → recovering is added so a worsening reading can take readiness back.
TRANSITIONS: Final[Mapping[SessionStatus, frozenset[SessionStatus]]] = {
    _S.SCHEDULED: frozenset({_S.PRE_CHECK}),
    _S.PRE_CHECK: frozenset({_S.CLEARED, _S.DEFERRED}),
    # Cleared and then not treated today (the patient leaves, the line cannot be placed):
    # deferred with a coded reason and its details; drug drawn for it is wasted in the ledger.
    _S.CLEARED: frozenset({_S.INFUSING, _S.DEFERRED}),
    _S.DEFERRED: frozenset(),
    _S.INFUSING: frozenset({_S.PAUSED, _S.COMPLETED, _S.STOPPED_EARLY}),
    _S.PAUSED: frozenset({_S.INFUSING, _S.COMPLETED, _S.STOPPED_EARLY}),
    _S.COMPLETED: frozenset({_S.RECOVERING}),
    _S.STOPPED_EARLY: frozenset({_S.RECOVERING}),
    _S.RECOVERING: frozenset({_S.DISCHARGE_READY}),
    _S.DISCHARGE_READY: frozenset({_S.DISCHARGED, _S.RECOVERING}),
    _S.DISCHARGED: frozenset({_S.SIGNED}),
    _S.SIGNED: frozenset(),
}

# The reason logged when discharge-ready is recorded by the discharge itself (the observation
# time ran out with nothing posted): the report tells these apart, as their moment is the discharge's.
READY_WHEN_DISCHARGING: Final = "Every criterion met when discharging"

DEFERRAL_REASON_CODES: Final = (
    "npo",  # PD-01
    "escort",  # PD-02
    "blood_pressure",  # CI-04/CI-05
    "vitals_other",
    "pregnancy",  # CI-07
    "suicide_risk",  # PD-03/PD-04
    "weight",
    "medication_interaction",  # CI-14/CI-15
    "patient_declined",
    "clinician_decision",
    "other",
)
STOP_REASON_CODES: Final = ("adverse_event", "vitals_limit", "patient_request", "equipment", "other")


@dataclass(frozen=True, slots=True)
class TransitionFacts:
    """What the gates look at. Defaults are the "nothing recorded" state, which every
    gate refuses."""

    checked_in: bool = False
    clearance: str | None = None
    clinician_decision_reason: str = ""
    deferral_reason_code: str = ""
    dose_verified: bool = False
    # Inputs of the calculation in force that differ from today's (weight corrected, plan changed …).
    dose_changed_inputs: tuple[str, ...] = ()
    container_selected: bool = False
    # What other apps found standing in the way of the start (e.g. the drawn amount).
    start_problems: tuple[str, ...] = ()
    started_at: datetime | None = None
    reason: str = ""
    stop_reason_code: str = ""
    planned_dose_delivered: bool = False
    # What the recorded delivery says at the end (``delivery.bag_minutes_left``): None when no
    # delivery can be computed (no verified dose started), which leaves the nurse's word.
    bag_minutes_left: Decimal | None = None
    bag_delivery_known: bool = False
    ended_at: datetime | None = None
    readiness: Readiness | None = None
    instructions_given: bool = False
    signer_present: bool = False
    waste_recorded: bool = False
    rems_required: bool = False
    rems_form_queued: bool = False


def _gate_pre_check(f: TransitionFacts) -> list[str]:
    return [] if f.checked_in else ["Patient not checked in"]


def _gate_cleared(f: TransitionFacts) -> list[str]:
    if f.clearance == CLEARED:
        return []
    if f.clearance == NEEDS_CLINICIAN_DECISION:
        return [] if f.clinician_decision_reason.strip() else ["Pre-checks need a clinician's documented decision"]
    if f.clearance == DEFERRED:
        return ["A hard-stop pre-check failed: defer (a clinician decision cannot override a day-of deferral)"]
    return ["Pre-checks not evaluated"]


def _gate_deferred(f: TransitionFacts) -> list[str]:
    return [] if f.deferral_reason_code in DEFERRAL_REASON_CODES else ["Coded deferral reason required"]


def _gate_infusing(f: TransitionFacts) -> list[str]:
    problems = []
    if not f.dose_verified:
        problems.append("Dose not verified by a second clinician")
    if f.dose_changed_inputs:
        problems.append(
            f"The dose rests on values changed since it was calculated ({', '.join(f.dose_changed_inputs)}): "
            "recalculate and verify again"
        )
    if not f.container_selected:
        problems.append("Lot/container not selected")
    problems.extend(f.start_problems)
    if f.started_at is None:
        problems.append("Start time not recorded")
    return problems


def _gate_paused(f: TransitionFacts) -> list[str]:
    return [] if f.reason.strip() else ["Reason for the pause required"]


def _gate_resume(f: TransitionFacts) -> list[str]:
    return [] if f.started_at is not None else ["Resume time not recorded"]


def _gate_completed(f: TransitionFacts) -> list[str]:
    problems = [] if f.planned_dose_delivered else ["Planned dose not delivered"]
    if f.bag_delivery_known and (f.bag_minutes_left is None or f.bag_minutes_left >= 1):
        left = "the pump is not running" if f.bag_minutes_left is None else f"about {int(f.bag_minutes_left)} min left"
        problems.append(f"The recorded delivery has not run the planned dose ({left}): stop early instead")
    return problems + ([] if f.ended_at is not None else ["End time not recorded"])


def _gate_cleared_deferred(f: TransitionFacts) -> list[str]:
    problems = _gate_deferred(f)
    return problems + ([] if f.reason.strip() else ["Say why a cleared patient is not treated today"])


def _gate_stopped(f: TransitionFacts) -> list[str]:
    problems = [] if f.stop_reason_code in STOP_REASON_CODES else ["Coded stop reason required"]
    problems += [] if f.reason.strip() else ["Stop reason details required"]
    return problems + ([] if f.ended_at is not None else ["End time not recorded"])


def _gate_recovering(f: TransitionFacts) -> list[str]:
    return [] if f.ended_at is not None else ["Infusion end time not recorded"]


def _gate_discharge_ready(f: TransitionFacts) -> list[str]:
    if f.readiness is None:
        return ["Discharge readiness not computed"]
    return list(f.readiness.reasons_not_ready) if not f.readiness.ready else []


def _gate_back_to_recovering(f: TransitionFacts) -> list[str]:
    return [] if f.reason.strip() else ["Reason required (e.g. a new out-of-range reading)"]


def _gate_discharged(f: TransitionFacts) -> list[str]:
    problems = [] if f.instructions_given else ["Discharge instructions not given"]
    if f.readiness is None or not f.readiness.ready:
        problems.append("Not discharge-ready")
    return problems


def _gate_signed(f: TransitionFacts) -> list[str]:
    problems = [] if f.signer_present else ["Signer required"]
    problems += [] if f.waste_recorded else ["Waste entry not posted (record 0 mg if none)"]
    if f.rems_required and not f.rems_form_queued:
        problems.append("REMS monitoring form not queued")
    return problems


Gate = Callable[[TransitionFacts], list[str]]
GATES: Final[Mapping[tuple[SessionStatus, SessionStatus], Gate]] = {
    (_S.SCHEDULED, _S.PRE_CHECK): _gate_pre_check,
    (_S.PRE_CHECK, _S.CLEARED): _gate_cleared,
    (_S.PRE_CHECK, _S.DEFERRED): _gate_deferred,
    (_S.CLEARED, _S.INFUSING): _gate_infusing,
    (_S.CLEARED, _S.DEFERRED): _gate_cleared_deferred,
    (_S.INFUSING, _S.PAUSED): _gate_paused,
    (_S.PAUSED, _S.INFUSING): _gate_resume,
    (_S.INFUSING, _S.COMPLETED): _gate_completed,
    (_S.PAUSED, _S.COMPLETED): _gate_completed,
    (_S.INFUSING, _S.STOPPED_EARLY): _gate_stopped,
    (_S.PAUSED, _S.STOPPED_EARLY): _gate_stopped,
    (_S.COMPLETED, _S.RECOVERING): _gate_recovering,
    (_S.STOPPED_EARLY, _S.RECOVERING): _gate_recovering,
    (_S.RECOVERING, _S.DISCHARGE_READY): _gate_discharge_ready,
    (_S.DISCHARGE_READY, _S.RECOVERING): _gate_back_to_recovering,
    (_S.DISCHARGE_READY, _S.DISCHARGED): _gate_discharged,
    (_S.DISCHARGED, _S.SIGNED): _gate_signed,
}


def can_transition(from_status: str, to_status: str) -> bool:
    """Whether the move is in the table at all (gates aside)."""
    try:
        return SessionStatus(to_status) in TRANSITIONS[SessionStatus(from_status)]
    except ValueError:
        return False


def gate_problems(from_status: str, to_status: str, facts: TransitionFacts) -> list[str]:
    """What still stands in the way of the move; [] means it may happen. Raises
    TransitionError for a move that is not in TRANSITIONS."""
    if not can_transition(from_status, to_status):
        raise TransitionError(f"cannot move an infusion session from {from_status!r} to {to_status!r}")
    return GATES[(SessionStatus(from_status), SessionStatus(to_status))](facts)
