"""Pure follow-up rules: booster suggestion, safety triggers, link validity, due dates.

No ORM, no request, no clock: callers pass ``now``/``today`` in. Every default number
either cites clinical-reference.md or is labelled "clinic policy" (administrators change
it in ``FollowUpPolicy``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from assessments import instruments

# --- Booster suggestion -----------------------------------------------------------------

# Clinic policy (no sourced relapse number in clinical-reference): suggest a booster once
# the PHQ-9 is back above 50 % of the baseline, i.e. the patient no longer meets the ≥50 %
# reduction that defines response (clinical-reference §3, PHQ-9 row [S37]).
BOOSTER_FRACTION_PERCENT_DEFAULT: Final = 50
# The NQF measures only count patients whose PHQ-9 baseline is >9 [S37]: below that there
# is no "response" to lose, so no suggestion.
BOOSTER_MIN_BASELINE_DEFAULT: Final = instruments.PHQ9_MEASURE_MIN_BASELINE


@dataclass(frozen=True, slots=True)
class BoosterAdvice:
    suggest: bool
    reason: str
    threshold: Decimal | None = None


def booster_advice(
    *,
    baseline_total: int | None,
    current_total: int | None,
    fraction_percent: int = BOOSTER_FRACTION_PERCENT_DEFAULT,
    min_baseline: int = BOOSTER_MIN_BASELINE_DEFAULT,
    had_response: bool = True,
) -> BoosterAdvice:
    """Whether a PHQ-9 total has risen back above ``fraction_percent`` % of the baseline.

    Why: maintenance ketamine is given when symptoms return (clinical-reference §5.2 plan
    lifecycle, active → maintenance (boosters)); "return" here is the clinic's configured
    fraction of baseline (clinic policy, default 50 % = loss of the [S37] response).
    ``had_response`` is False when the patient never responded: a rise is then not a
    relapse and the rule stays quiet (the worklist shows non-response separately).
    Strictly above: a current total exactly at the threshold does not suggest.
    """
    if not 1 <= fraction_percent <= 100:
        raise ValueError("fraction_percent must be 1–100")
    if baseline_total is None or current_total is None:
        return BoosterAdvice(False, "No baseline or no current PHQ-9.")
    if baseline_total < min_baseline:
        return BoosterAdvice(False, f"Baseline PHQ-9 {baseline_total} is below {min_baseline}: rule not applicable.")
    if not had_response:
        return BoosterAdvice(False, "The patient has not yet responded to the course.")
    threshold = Decimal(baseline_total) * fraction_percent / 100
    if Decimal(current_total) > threshold:
        return BoosterAdvice(
            True,
            f"PHQ-9 {current_total} is above {fraction_percent}% of baseline {baseline_total} "
            f"(threshold {threshold.normalize()}).",
            threshold,
        )
    return BoosterAdvice(False, f"PHQ-9 {current_total} is at or below {threshold.normalize()}.", threshold)


# --- Safety ------------------------------------------------------------------------------

ALERT_PHQ9_ITEM9: Final = "phq9_item9"
ALERT_CSSRS_MODERATE: Final = "cssrs_moderate"
ALERT_CSSRS_HIGH: Final = "cssrs_high"
ALERT_MADRS_ITEM10: Final = "madrs_item10"
ALERT_QIDS_ITEM12: Final = "qids_item12"

# The suicide item of each scale that has one (1-based, as printed on the form).
MADRS_SUICIDE_ITEM: Final = 10  # "Suicidal thoughts", 0–6 [S89]
QIDS_SUICIDE_ITEM: Final = 12  # "Thoughts of death or suicide", 0–3 [S91]
# Clinic policy: clinical-reference.md gives no alert cut-off for either item, so the
# defaults follow the PHQ-9 item-9 rule [S36] (any answer above the lowest) and a clinic
# may raise them within the item's range.
MADRS_ITEM10_ALERT_MIN_DEFAULT: Final = 1
QIDS_ITEM12_ALERT_MIN_DEFAULT: Final = 1
MADRS_ITEM10_ALERT_RANGE: Final = (1, instruments.INSTRUMENTS["madrs"].item_max)
QIDS_ITEM12_ALERT_RANGE: Final = (1, instruments.INSTRUMENTS["qids_sr16"].item_max)

# Clinic policy: an alert nobody has acknowledged after this long goes to the other
# clinicians, and after twice this long to the administrators as well.
ESCALATE_AFTER_MINUTES_DEFAULT: Final = 30
ESCALATE_AFTER_MINUTES_RANGE: Final = (5, 24 * 60)


@dataclass(frozen=True, slots=True)
class SafetyThresholds:
    """The clinic's cut-offs for the scales whose suicide item has no sourced threshold."""

    madrs_item10_min: int = MADRS_ITEM10_ALERT_MIN_DEFAULT
    qids_item12_min: int = QIDS_ITEM12_ALERT_MIN_DEFAULT


def _item(answers: object, number: int) -> int | None:
    if isinstance(answers, Sequence) and not isinstance(answers, str) and len(answers) >= number:
        value = answers[number - 1]
        return value if isinstance(value, int) else None
    return None


def safety_alert_reason(
    code: str,
    *,
    band: str,
    flags: Sequence[str],
    answers: object = (),
    thresholds: SafetyThresholds = SafetyThresholds(),  # noqa: B008 - frozen, so one shared default is safe
) -> str:
    """The urgent-alert reason a scored response raises, or "".

    PHQ-9 item 9 > 0 → further suicide assessment [S36]; C-SSRS screener moderate or high
    risk [S95][S97]; MADRS item 10 [S89] and QIDS-SR16 item 12 [S91] at or above the
    clinic's threshold (clinic policy). Low C-SSRS risk does not page the clinician (it is
    on the chart).
    """
    if code == "phq9" and instruments.FLAG_SUICIDAL_IDEATION in flags:
        return ALERT_PHQ9_ITEM9
    if code == "cssrs_screen" and band == "high":
        return ALERT_CSSRS_HIGH
    if code == "cssrs_screen" and band == "moderate":
        return ALERT_CSSRS_MODERATE
    if code == "madrs" and (_item(answers, MADRS_SUICIDE_ITEM) or 0) >= thresholds.madrs_item10_min:
        return ALERT_MADRS_ITEM10
    if code == "qids_sr16" and (_item(answers, QIDS_SUICIDE_ITEM) or 0) >= thresholds.qids_item12_min:
        return ALERT_QIDS_ITEM12
    return ""


@dataclass(frozen=True, slots=True)
class Escalation:
    level: int  # 0 none yet, 1 the other clinicians, 2 the administrators too
    due: bool


def escalation_due(
    *, created_at: datetime, now: datetime, level: int, after_minutes: int = ESCALATE_AFTER_MINUTES_DEFAULT
) -> Escalation:
    """The escalation level an unacknowledged alert should have reached by ``now``.

    Why: a clinician may be away from the home page; an alert about suicide risk must
    reach someone (clinic policy: the other clinicians after ``after_minutes``, the
    administrators after twice that). ``due`` is True when that level is above ``level``.
    """
    low, high = ESCALATE_AFTER_MINUTES_RANGE
    if not low <= after_minutes <= high:
        raise ValueError(f"after_minutes must be {low}–{high}")
    waited = (now - created_at).total_seconds() / 60
    reached = 2 if waited >= 2 * after_minutes else 1 if waited >= after_minutes else 0
    return Escalation(max(reached, level), reached > level)


# --- Questionnaire links -----------------------------------------------------------------

# Instruments a patient may fill in on their own (self-report, public-domain wording or our
# short wording of the screener). Clinician-rated scales are never sent.
SELF_REPORT_CODES: Final = ("phq9", "gad7", "pcl5", "nrs_pain", "cssrs_screen")

LINK_EXPIRY_HOURS_DEFAULT: Final = 72  # clinic policy
DOB_MAX_FAILURES_DEFAULT: Final = 5  # clinic policy: wrong dates of birth before the link locks
RATE_LIMIT_PER_WINDOW_DEFAULT: Final = 20  # clinic policy: token requests per client per window
RATE_LIMIT_WINDOW_MINUTES: Final = 10


def link_problem(
    *,
    now: datetime,
    expires_at: datetime,
    exchanged_at: datetime | None,
    revoked_at: datetime | None,
    dob_failures: int,
    max_dob_failures: int,
) -> str:
    """Why a link can no longer be opened ("" when it can). One message for every case
    the patient sees, so the page does not reveal which check failed."""
    if revoked_at is not None:
        return "revoked"
    if exchanged_at is not None:
        return "used"
    if now >= expires_at:
        return "expired"
    if dob_failures >= max_dob_failures:
        return "locked"
    return ""


def self_report_codes_valid(codes: Sequence[str]) -> bool:
    return bool(codes) and len(set(codes)) == len(codes) and all(c in SELF_REPORT_CODES for c in codes)


# --- Worklist ----------------------------------------------------------------------------


def follow_up_state(*, start: date, today: date, has_signed_note: bool) -> str:
    """ "done" once the note is signed; otherwise "due" on or before the day, "overdue" after it."""
    if has_signed_note:
        return "done"
    if start < today:
        return "overdue"
    if start == today:
        return "due"
    return "upcoming"


def worsened(*, previous_total: int | None, latest_total: int | None, min_rise: int) -> bool:
    """A rise of at least ``min_rise`` points between the two latest totals (clinic policy)."""
    if previous_total is None or latest_total is None:
        return False
    return latest_total - previous_total >= min_rise


# --- Signing the note ---------------------------------------------------------------------------


def sign_refusal(*, now: datetime, visit_start: datetime, visit_start_text: str) -> str | None:
    """Why the note of a visit cannot be signed now, or None.

    A follow-up note records a visit that took place: signed before its appointment starts it would
    attest to an assessment nobody has made yet, and a signed note cannot be changed afterwards (only
    amended). So it is refused until the appointment's start (``visit_start_text`` is that start as the
    clinic reads it)."""
    if now < visit_start:
        return f"This visit starts {visit_start_text}: its note can be signed once the visit has started."
    return None


# The appointment types whose visit is written as a follow-up note.
VISIT_TYPE_CODES = ("follow_up", "booster")
