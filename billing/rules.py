"""Billing rules: values in, values out (no ORM, no request, no clock).

Infusion time to CPT units. The source is coding guidance, not the clinical reference (which has no
billing section): the AMA's CPT guidelines for "Hydration, Therapeutic, Prophylactic, Diagnostic
Injections and Infusions" (codes 96360–96379) and CMS, Medicare Claims Processing Manual
(Pub. 100-04), chapter 12, section 30.5 (drug administration services), which restates them:

- 96365 (IV infusion, initial, up to 1 hour) is reported for an infusion of more than 15 minutes;
  an infusion of 15 minutes or less is reported as an IV push (96374).
- 96366 (each additional hour) is reported for an additional interval of more than 30 minutes beyond
  the first hour and each further hour: 61–90 minutes bill 96365 only; 91 minutes bill 96365 + one
  96366; 151 minutes bill 96365 + two.

The minutes are the time the infusion actually ran, from its documented start to its documented stop
less the time it was held (paused, or run at 0 mL/h): the same guidance times the infusion, not the
visit or the time in the chair.

Both thresholds (15 and 30 minutes) are the coding rule's numbers as we read them, and are kept on the
location's billing settings so that an administrator (or the clinic's biller) can set them as their
payer contracts read; they are clinic-configurable, not clinical numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models.enums import TextChoices

# CPT/HCPCS codes the rules name (the prices and the codes billed are in the location's fee schedule).
IV_INFUSION_FIRST_HOUR = "96365"
IV_INFUSION_ADDITIONAL_HOUR = "96366"
IV_PUSH = "96374"

# Defaults of the location's billing settings (see the module docstring for their source).
PUSH_MAX_MINUTES = 15
ADDITIONAL_HOUR_OVER_MINUTES = 30


@dataclass(frozen=True)
class InfusionUnits:
    push: int  # 96374
    first_hour: int  # 96365
    additional_hours: int  # 96366


def infusion_units(
    minutes: int,
    *,
    push_max_minutes: int = PUSH_MAX_MINUTES,
    additional_over_minutes: int = ADDITIONAL_HOUR_OVER_MINUTES,
) -> InfusionUnits:
    """The units an infusion of ``minutes`` (the time it ran, see ``infused_minutes``) bills: a push at or under
    ``push_max_minutes``, else the first hour plus one additional hour for each hour past the first
    and one more when the rest is over ``additional_over_minutes``."""
    if minutes <= 0:
        return InfusionUnits(push=0, first_hour=0, additional_hours=0)
    if minutes <= push_max_minutes:
        return InfusionUnits(push=1, first_hour=0, additional_hours=0)
    beyond = max(minutes - 60, 0)
    whole, rest = divmod(beyond, 60)
    return InfusionUnits(push=0, first_hour=1, additional_hours=whole + (1 if rest > additional_over_minutes else 0))


def infused_minutes(
    started: datetime | None,
    ended: datetime | None,
    held: Iterable[tuple[datetime, datetime | None]] = (),
) -> int:
    """Whole minutes the infusion ran: from the recorded start to the recorded stop less the
    stretches it was held (paused, or charted at 0 mL/h). CPT counts the time actually infused,
    so a paused infusion bills the time it ran, not the time in the chair. A hold still open at
    the stop (``None``) runs to the stop; holds that overlap are counted once. 0 when the start
    or the stop is missing."""
    if started is None or ended is None or ended <= started:
        return 0
    clipped = sorted((max(start, started), min(end if end is not None else ended, ended)) for start, end in held)
    paused = timedelta(0)
    covered_to = started
    for start, end in clipped:
        start = max(start, covered_to)
        if end > start:
            paused += end - start
            covered_to = end
    return int((ended - started - paused).total_seconds() // 60)


# The longest range one superbill covers (a year of visits, leap day included): an insurer's claim
# window, and a PDF the worker renders in one go.
SUPERBILL_MAX_DAYS = 366


def superbill_range_refusal(*, date_from: date, date_to: date, today: date) -> dict[str, str]:
    """Why a superbill cannot cover ``date_from``..``date_to`` (field -> message; empty when it can)."""
    if date_to < date_from:
        return {"date_to": "The end comes before the start."}
    if date_from > today:
        return {"date_from": "The range starts in the future: there is nothing to bill yet."}
    if (date_to - date_from).days + 1 > SUPERBILL_MAX_DAYS:
        return {"date_to": f"A superbill covers at most {SUPERBILL_MAX_DAYS} days: split the range."}
    return {}


def is_late_cancellation(*, start: datetime, cancelled_at: datetime, window_hours: int) -> bool:
    """Cancelled less than ``window_hours`` before the start (clinic policy, per location)."""
    return window_hours > 0 and start - cancelled_at < timedelta(hours=window_hours)


class AgeingBand(TextChoices):
    CURRENT = "0-30", "0–30 days"
    DAYS_31_60 = "31-60", "31–60 days"
    DAYS_61_90 = "61-90", "61–90 days"
    OVER_90 = "90+", "Over 90 days"


def ageing_band(*, issued: date, today: date) -> AgeingBand:
    days = (today - issued).days
    if days <= 30:
        return AgeingBand.CURRENT
    if days <= 60:
        return AgeingBand.DAYS_31_60
    if days <= 90:
        return AgeingBand.DAYS_61_90
    return AgeingBand.OVER_90


def allocation_refusal(*, amount: Decimal, unallocated: Decimal, outstanding: Decimal) -> str:
    """Why ``amount`` cannot be put against an invoice ("" when it can)."""
    if amount <= 0:
        return "Enter an amount greater than zero."
    if amount > outstanding:
        return f"The invoice has only {outstanding:,.2f} outstanding."
    if amount > unallocated:
        return f"The payment has only {unallocated:,.2f} left to allocate."
    return ""


def looks_like_card_number(text: str) -> bool:
    """A run of 13–19 digits (spaces and dashes ignored): a card number, which is never stored."""
    digits = "".join(ch for ch in text if ch not in " -")
    return digits.isdigit() and 13 <= len(digits) <= 19
