"""A course over months, pure: the course rules at booking and check-in, cumulative exposure,
the surveillance prompts for frequent or high-dose use, the maintenance gate and the titration
ladder. Values in, values out: no ORM, no clock (``at``/``today`` are passed in).

Every number is an administrator setting in ``SETTINGS`` (default, bounds, source). The
clinical reference gives no number for any of them, so each default is *clinic policy*; the
reason to watch is sourced: LFTs at baseline and after infusions for frequent high-dose use
(ASRA [S11]), cystitis and urinary symptoms (Spravato warnings [S23], CI-16), vigilance for
diversion (ASA [S34]) and no serial infusions in active substance use disorder ([S11], CI-12).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from infusions.rules.thresholds import CLINIC_POLICY, Setting

COURSE = "Course rules (checked at booking and at check-in)"
SURVEILLANCE = "Surveillance for frequent or high-dose use"
MAINTENANCE = "Maintenance boosters"

SETTINGS: Final[tuple[Setting, ...]] = (
    Setting(
        "min_interval_hours",
        "Minimum time between two infusions",
        20,
        12,
        336,
        "h",
        COURSE,
        CLINIC_POLICY,
        "At most one infusion a day (the CRPS regimen is daily [S11]); a standing order's own longer minimum wins.",
    ),
    Setting(
        "urinary_screen_from_infusion",
        "Urinary-symptom screen at each pre-check from infusion number",
        7,
        1,
        60,
        "",
        SURVEILLANCE,
        CLINIC_POLICY,
        "Why: cystitis and urinary symptoms (Spravato warnings [S23], CI-16); the default is after a six-infusion "
        "induction [S6].",
    ),
    Setting(
        "frequent_infusions_90d",
        "Frequent use: infusions in 90 days at or above",
        12,
        2,
        90,
        "",
        SURVEILLANCE,
        CLINIC_POLICY,
        "Crossing it asks for baseline, then follow-up, liver function tests (ASRA: LFTs for frequent high-dose "
        "use [S11]).",
    ),
    Setting(
        "high_dose_mg_90d",
        "High-dose use: mg delivered in 90 days at or above",
        1000,
        50,
        20000,
        "mg",
        SURVEILLANCE,
        CLINIC_POLICY,
        "Crossing it asks for liver function tests (ASRA [S11]).",
    ),
    Setting(
        "lft_follow_up_days",
        "Follow-up LFTs every",
        90,
        14,
        365,
        "days",
        SURVEILLANCE,
        CLINIC_POLICY,
        "While the patient stays at or above a threshold ([S11]: baseline and post-infusion LFTs).",
    ),
    Setting(
        "report_infusions_365d",
        "Exposure report: infusions in 365 days at or above",
        24,
        2,
        365,
        "",
        SURVEILLANCE,
        CLINIC_POLICY,
        "Patients over either report threshold, or a frequent or high-dose one, are listed.",
    ),
    Setting(
        "report_lifetime_mg",
        "Exposure report: lifetime mg at or above",
        5000,
        100,
        200000,
        "mg",
        SURVEILLANCE,
        CLINIC_POLICY,
        "",
    ),
    Setting(
        "maintenance_gap_days",
        "Re-screen and re-consent before a booster this long after the last infusion",
        180,
        30,
        730,
        "days",
        MAINTENANCE,
        CLINIC_POLICY,
        "Contraindications are re-run on updated facts (clinical-reference 5.3) with misuse and diversion "
        "questions (ASA: vigilance for diversion [S34]; CI-12 [S11]).",
    ),
)
SETTINGS_BY_NAME: Final[Mapping[str, Setting]] = {s.name: s for s in SETTINGS}


def _default(name: str) -> int:
    return int(SETTINGS_BY_NAME[name].default)


@dataclass(frozen=True)
class Thresholds:
    """The settings as the rules read them (defaults: ``SETTINGS``)."""

    min_interval_hours: int = _default("min_interval_hours")
    urinary_screen_from_infusion: int = _default("urinary_screen_from_infusion")
    frequent_infusions_90d: int = _default("frequent_infusions_90d")
    high_dose_mg_90d: int = _default("high_dose_mg_90d")
    lft_follow_up_days: int = _default("lft_follow_up_days")
    report_infusions_365d: int = _default("report_infusions_365d")
    report_lifetime_mg: int = _default("report_lifetime_mg")
    maintenance_gap_days: int = _default("maintenance_gap_days")


DEFAULT_THRESHOLDS: Final = Thresholds()
INFUSION_TYPE_CODES: Final = ("infusion", "booster")


# --- Course rules --------------------------------------------------------------------


def _when(at: datetime, zone) -> str:
    local = at.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a} {local.day} {local:%b} at {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def min_interval(*, policy_hours: int, order_hours: int | None) -> tuple[int, str]:
    """The minimum hours between infusions and whose it is: the clinic's, or the standing
    order's when the prescriber asked for longer."""
    if order_hours and order_hours > policy_hours:
        return order_hours, "the standing order"
    return policy_hours, "clinic policy"


def interval_refusal(*, start: datetime, others: Iterable[datetime], min_hours: int, whose: str, zone) -> str | None:
    """Why an infusion at ``start`` is too close to another of the patient's (booked, under way
    or given), naming the nearest; None when every other is at least ``min_hours`` away."""
    gap = timedelta(hours=min_hours)
    close = [other for other in others if abs(other - start) < gap]
    if not close:
        return None
    nearest = min(close, key=lambda other: abs(other - start))
    side = "after" if nearest <= start else "before"
    return (
        f"Too close to this patient's infusion on {_when(nearest, zone)} ({side} it): infusions are at least "
        f"{min_hours} hours apart ({whose})."
    )


def count_refusal(*, planned: int, given: int, booked: int, order_number: int) -> str | None:
    """Why one more infusion goes beyond the plan's standing order, or None."""
    if given + booked < planned:
        return None
    return (
        f"The course is fully booked: the standing order (version {order_number}) plans {planned} infusions, "
        f"{given} given and {booked} booked. Another needs a new order from the prescriber."
    )


def check_in_count_refusal(*, planned: int, given: int, order_number: int) -> str | None:
    if given < planned:
        return None
    return (
        f"The standing order (version {order_number}) plans {planned} infusions and {given} have been given: "
        "the prescriber signs a new order before another."
    )


# --- Cumulative exposure -------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """One infusion as given: when it started, the mg the pump delivered (a stopped-early
    session counts what it delivered) and the weight its dose was calculated on."""

    started_at: datetime
    delivered_mg: Decimal
    weight_kg: Decimal


@dataclass(frozen=True)
class Exposure:
    total_mg: Decimal
    total_mg_per_kg: Decimal
    infusions_30d: int
    infusions_90d: int
    infusions_365d: int
    infusions_lifetime: int
    mg_90d: Decimal
    mg_365d: Decimal
    last_given_at: datetime | None

    def over(self, t: Thresholds) -> list[str]:
        """Which clinic thresholds this exposure is at or above, in words."""
        found = []
        if self.infusions_90d >= t.frequent_infusions_90d:
            found.append(f"{self.infusions_90d} infusions in 90 days (frequent use: {t.frequent_infusions_90d})")
        if self.mg_90d >= t.high_dose_mg_90d:
            found.append(f"{_n(self.mg_90d)} mg in 90 days (high-dose use: {t.high_dose_mg_90d} mg)")
        if self.infusions_365d >= t.report_infusions_365d:
            found.append(f"{self.infusions_365d} infusions in 365 days (report: {t.report_infusions_365d})")
        if self.total_mg >= t.report_lifetime_mg:
            found.append(f"{_n(self.total_mg)} mg in all (report: {t.report_lifetime_mg} mg)")
        return found

    def frequent_or_high_dose(self, t: Thresholds) -> bool:
        return self.infusions_90d >= t.frequent_infusions_90d or self.mg_90d >= t.high_dose_mg_90d


def _n(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


TWO_PLACES: Final = Decimal("0.01")


def exposure(given: Sequence[Given], *, at: datetime) -> Exposure:
    """Sums over the infusions given (only those that delivered drug): total mg, total mg/kg
    (each infusion's mg over its own weight, summed, to 0.01) and the counts in the windows
    ending at ``at``. The database aggregate in ``selectors.exposure_of`` gives the same."""
    rows = [g for g in given if g.delivered_mg > 0]

    def within(days: int) -> list[Given]:
        return [g for g in rows if g.started_at > at - timedelta(days=days)]

    per_kg = sum((g.delivered_mg / g.weight_kg for g in rows if g.weight_kg), Decimal(0))
    return Exposure(
        total_mg=sum((g.delivered_mg for g in rows), Decimal(0)).quantize(TWO_PLACES),
        total_mg_per_kg=Decimal(per_kg).quantize(TWO_PLACES, rounding=ROUND_HALF_UP),
        infusions_30d=len(within(30)),
        infusions_90d=len(within(90)),
        infusions_365d=len(within(365)),
        infusions_lifetime=len(rows),
        mg_90d=sum((g.delivered_mg for g in within(90)), Decimal(0)).quantize(TWO_PLACES),
        mg_365d=sum((g.delivered_mg for g in within(365)), Decimal(0)).quantize(TWO_PLACES),
        last_given_at=max((g.started_at for g in rows), default=None),
    )


# --- Surveillance --------------------------------------------------------------------


def urinary_screen_due(*, infusion_number: int, t: Thresholds) -> bool:
    """The pre-check of infusion ``infusion_number`` (1 = the patient's first) asks the short
    urinary-symptom screen from the clinic's set number on ([S23], CI-16)."""
    return infusion_number >= t.urinary_screen_from_infusion


URINARY_QUESTIONS: Final = (
    ("frequency", "Passing urine more often than before, day or night"),
    ("urgency", "Sudden urgent need to pass urine, or leaking"),
    ("pain", "Pain or burning passing urine, or bladder pain"),
    ("blood", "Blood in the urine"),
)


def urinary_positive(answers: Mapping[str, bool]) -> bool:
    """Any yes is a finding for the prescriber ([S23]: ulcerative or interstitial cystitis)."""
    return any(answers.get(name) for name, _ in URINARY_QUESTIONS)


def lft_prompt(*, exposure: Exposure, last_lft_on: date | None, t: Thresholds, today: date) -> str | None:
    """Which liver function tests are due, in words, or None: a baseline once the patient is at
    or above a frequent or high-dose threshold with none on file, then a follow-up every
    ``lft_follow_up_days`` while they stay there (ASRA: baseline and post-infusion LFTs with
    frequent high-dose use [S11])."""
    if not exposure.frequent_or_high_dose(t):
        return None
    why = "; ".join(exposure.over(t)[:2])
    if last_lft_on is None:
        return f"Baseline liver function tests due: {why} [S11]."
    if (today - last_lft_on).days >= t.lft_follow_up_days:
        return (
            f"Follow-up liver function tests due: the last were on {last_lft_on:%m/%d/%Y}, more than "
            f"{t.lft_follow_up_days} days ago, and {why} [S11]."
        )
    return None


def lft_abnormal(*, alt: int, ast: int, alt_uln: int, ast_uln: int) -> list[str]:
    """Values above the laboratory's own upper limit of normal, in words (none: normal)."""
    found = []
    if alt > alt_uln:
        found.append(f"ALT {alt} U/L is above the upper limit of normal ({alt_uln} U/L)")
    if ast > ast_uln:
        found.append(f"AST {ast} U/L is above the upper limit of normal ({ast_uln} U/L)")
    return found


MISUSE_QUESTIONS: Final = (
    ("non_clinic_use", "Has used ketamine, esketamine or another dissociative not given by this clinic"),
    ("other_prescriber", "Receives ketamine or esketamine from another prescriber or clinic"),
    ("early_requests", "Has asked for boosters sooner or more often than planned"),
)


def misuse_concern(answers: Mapping[str, bool]) -> bool:
    """Any yes needs the prescriber's review before a booster (ASA [S34]; CI-12 [S11])."""
    return any(answers.get(name) for name, _ in MISUSE_QUESTIONS)


# --- Maintenance ---------------------------------------------------------------------


def after_gap(*, last_given_at: datetime | None, start: datetime, t: Thresholds) -> bool:
    """Whether an infusion at ``start`` is the first after the clinic's maintenance gap."""
    return last_given_at is not None and start - last_given_at >= timedelta(days=t.maintenance_gap_days)


def maintenance_refusals(*, rescreen: str, consent_current: bool, last_given_at: datetime, t: Thresholds) -> list[str]:
    """What the desk must have before booking a booster after the gap. ``rescreen`` is the
    state of the latest re-screen since the last infusion: "" (none), "cleared", "review"
    (waiting for the prescriber) or "ineligible"."""
    since = f"more than {t.maintenance_gap_days} days after the last infusion ({last_given_at:%m/%d/%Y})"
    found = []
    if rescreen == "":
        found.append(f"A booster {since} needs a re-screen first (clinic policy).")
    elif rescreen == "review":
        found.append("The maintenance re-screen is waiting for the prescriber's review.")
    elif rescreen == "ineligible":
        found.append("The maintenance re-screen found an absolute contraindication: no booster can be booked.")
    if not consent_current:
        found.append(f"A booster {since} needs the patient's renewed consent (clinic policy).")
    return found


def rescreen_state(*, outcome: str, misuse: bool) -> str:
    """A re-screen's state from the rules' outcome and the misuse answers: an absolute
    contraindication is "ineligible"; a finding or a yes to a misuse question waits for the
    prescriber ("review"); otherwise "cleared"."""
    if outcome == "ineligible":
        return "ineligible"
    if outcome == "needs_review" or misuse:
        return "review"
    return "cleared"


# --- Titration -----------------------------------------------------------------------


def ladder_step(*, ladder: Sequence[Decimal], current: Decimal, up: bool) -> Decimal | None:
    """The next rung of the protocol's ladder above (``up``) or below the current dose, or None
    at the top or bottom. A dose between rungs steps to the nearest rung in that direction."""
    rungs = sorted(set(ladder))
    if up:
        return next((rung for rung in rungs if rung > current), None)
    return next((rung for rung in reversed(rungs) if rung < current), None)
