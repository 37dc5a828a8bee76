"""Pure rules of the care team: whether a sharing authorisation holds on a day, which course
milestone a signed session reaches, and what a letter may show under an authorisation's scope.

No ORM and no clock: callers pass ``today``. The milestones are clinic policy (the clinical
reference gives no schedule for reporting to other clinicians); an administrator sets them in
the care-team policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

# Clinic policy: draft a progress letter when the induction series is complete, then after every
# N boosters (0: never after the induction). Bounded so a typo cannot draft a letter per session.
LETTER_EVERY_BOOSTERS_DEFAULT: Final = 3
LETTER_EVERY_BOOSTERS_MAX: Final = 24

# Clinic policy: how long an adjunct (integration or psychotherapy) visit lasts by default.
ADJUNCT_MINUTES_DEFAULT: Final = 50


class AuthorisationState(StrEnum):
    ACTIVE = "active"
    NOT_YET = "not_yet"
    EXPIRED = "expired"
    REVOKED = "revoked"


STATE_LABELS: Final = {
    AuthorisationState.ACTIVE: "In force",
    AuthorisationState.NOT_YET: "Not yet in force",
    AuthorisationState.EXPIRED: "Expired",
    AuthorisationState.REVOKED: "Revoked",
}


def authorisation_state(*, signed_on: date, expires_on: date | None, revoked: bool, today: date) -> str:
    """Where a patient's authorisation to share stands on ``today`` (the expiry day is included)."""
    if revoked:
        return AuthorisationState.REVOKED
    if today < signed_on:
        return AuthorisationState.NOT_YET
    if expires_on is not None and today > expires_on:
        return AuthorisationState.EXPIRED
    return AuthorisationState.ACTIVE


def refusal(state: str) -> str:
    """Why no letter may be drafted, signed or released under an authorisation in ``state`` ("" when it may)."""
    refusals: dict[str, str] = {
        AuthorisationState.ACTIVE: "",
        AuthorisationState.NOT_YET: "The patient's authorisation to share is not yet in force.",
        AuthorisationState.EXPIRED: "The patient's authorisation to share with this clinician has expired.",
        AuthorisationState.REVOKED: "The patient revoked the authorisation to share with this clinician.",
    }
    return refusals.get(state, "The patient has not authorised sharing with this clinician.")


class Milestone(StrEnum):
    INDUCTION = "induction"
    BOOSTERS = "boosters"
    REQUESTED = "requested"


MILESTONE_LABELS: Final = {
    Milestone.INDUCTION: "End of the induction series",
    Milestone.BOOSTERS: "Booster milestone",
    Milestone.REQUESTED: "Requested by the clinician",
}


@dataclass(frozen=True, slots=True)
class Reached:
    milestone: str
    sessions: int


def milestone_reached(*, completed: int, planned: int, at_induction_end: bool, every_boosters: int) -> Reached | None:
    """The milestone a course reaches when its ``completed``-th session is signed, or None.

    The induction series ends with its ``planned``-th session; after it every ``every_boosters``-th
    booster is a milestone (0: none). Both are clinic policy.
    """
    if completed <= 0 or planned <= 0:
        return None
    if completed == planned:
        return Reached(Milestone.INDUCTION, completed) if at_induction_end else None
    boosters = completed - planned
    if boosters > 0 and every_boosters > 0 and boosters % every_boosters == 0:
        return Reached(Milestone.BOOSTERS, completed)
    return None


class Scope(StrEnum):
    PROGRESS = "progress"
    ATTENDANCE = "attendance"


def shows_clinical_detail(scope: str) -> bool:
    """Doses, questionnaire scores and adverse events go only under the full progress scope."""
    return scope == Scope.PROGRESS
