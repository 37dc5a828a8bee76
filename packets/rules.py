"""The pre-visit packet's pure rules: its steps, the questionnaires a reason adds, when a link
can be opened, what the patient sees next. Values in, values out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

# The steps in the order the patient is offered them. "consent" is part of the packet only once
# a signing page is registered (packets.hooks); until then the consent is taken at the visit.
DETAILS, HISTORY, QUESTIONNAIRES, INSTRUCTIONS, CONSENT = (
    "details",
    "history",
    "questionnaires",
    "instructions",
    "consent",
)
STEPS: Final = (DETAILS, HISTORY, QUESTIONNAIRES, INSTRUCTIONS, CONSENT)
STEP_LABELS: Final = {
    DETAILS: "Your details and contacts",
    HISTORY: "Your health history and medicines",
    QUESTIONNAIRES: "How you have been feeling",
    INSTRUCTIONS: "Getting ready for treatment days",
    CONSENT: "Consent forms",
}

# Every packet asks the PHQ-9 and GAD-7 at baseline; the visit's reason adds the PCL-5 (PTSD) or
# the 0-10 pain rating (the two pain indications), the instruments the intake records for them.
BASE_INSTRUMENTS: Final = ("phq9", "gad7")
REASON_INSTRUMENTS: Final = {"ptsd": ("pcl5",), "fibromyalgia": ("nrs_pain",), "crps": ("nrs_pain",)}

# Clinic policy, each configurable in the settings (PACKET_LINK_EXPIRY_DAYS, PACKET_DOB_MAX_FAILURES,
# PACKET_RATE_LIMIT_PER_WINDOW): not clinical numbers.
LINK_EXPIRY_DAYS_DEFAULT: Final = 14
DOB_MAX_FAILURES_DEFAULT: Final = 5
RATE_LIMIT_PER_WINDOW_DEFAULT: Final = 20
RATE_LIMIT_WINDOW_MINUTES: Final = 10
# A scoped session lasts this long after the date-of-birth check (then open the link again).
SESSION_SECONDS: Final = 30 * 60
MAX_MEDICATIONS: Final = 20


def instruments_for(reason: str) -> list[str]:
    """The baseline questionnaires for a visit's reason, without repeats, in a stable order."""
    codes = [*BASE_INSTRUMENTS, *REASON_INSTRUMENTS.get(reason, ())]
    return list(dict.fromkeys(codes))


def link_problem(
    *,
    now: datetime,
    expires_at: datetime,
    completed_at: datetime | None,
    revoked_at: datetime | None,
    dob_failures: int,
    max_dob_failures: int,
) -> str:
    """Why a packet link can no longer be opened ("" when it can). The patient sees one message
    whatever the reason, so the page does not reveal which check failed."""
    if revoked_at is not None:
        return "revoked"
    if completed_at is not None:
        return "completed"
    if now >= expires_at:
        return "expired"
    if dob_failures >= max_dob_failures:
        return "locked"
    return ""


def steps_of(*, consent_online: bool) -> tuple[str, ...]:
    return STEPS if consent_online else tuple(s for s in STEPS if s != CONSENT)


def next_step(done: Iterable[str], steps: Sequence[str]) -> str | None:
    """The first step not done yet, or None when every step is."""
    finished = set(done)
    return next((s for s in steps if s not in finished), None)


def complete(done: Iterable[str], steps: Sequence[str]) -> bool:
    return next_step(done, steps) is None


def progress_text(done: Iterable[str], steps: Sequence[str]) -> str:
    """ "2 of 4 steps" for the front desk, who sees progress and never the answers."""
    finished = set(done) & set(steps)
    return f"{len(finished)} of {len(steps)} steps"


def _duration(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def preparation_instructions(*, clear_liquids_min: int, light_meal_min: int, fatty_meal_min: int) -> list[str]:
    """What the patient acknowledges, in plain words. The fasting intervals are the clinic's own
    (the infusion policy's NPO settings, ASA defaults [S30]); the escort and driving lines follow
    the labels: accompanied home by a responsible adult [S26], no driving until the next day [S16]."""
    return [
        f"Do not eat a light meal for {_duration(light_meal_min)} before your appointment, "
        f"or a fried or fatty meal or meat for {_duration(fatty_meal_min)} before it.",
        f"You may drink clear liquids (water, clear juice, black coffee or tea) until "
        f"{_duration(clear_liquids_min)} before your appointment.",
        "An adult you trust must come with you, take you home afterwards and be reachable by phone.",
        "Do not drive, ride a bike or operate machinery until the next day.",
    ]
