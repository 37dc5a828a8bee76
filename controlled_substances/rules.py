"""Pure rules for the controlled-substance ledger: units, rounding, deadlines, significance.

No ORM, no clock: callers pass values and dates in. Sources are clinical-reference.md
section 4 (DEA Schedule III recordkeeping); numbers the reference does not give are
labelled "clinic policy" and are administrator-configurable (ControlledSubstancePolicy).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

ROUNDING: Final = ROUND_HALF_UP
# 0.01 mL is the finest syringe graduation worth recording (same quantum as infusions.rules).
ML_QUANTUM: Final = Decimal("0.01")
MG_QUANTUM: Final = Decimal("0.01")

# Clinic policy (the reference gives no number): failed witness password re-entries
# allowed per witness account inside the window before confirmations are refused.
WITNESS_MAX_FAILURES: Final = 5
WITNESS_WINDOW: Final = timedelta(minutes=15)

# Form 106 is filed electronically within 45 days of discovery (rule effective
# 24 Jul 2023) [S119][S120].
FORM_106_DAYS: Final = 45


class Kind(StrEnum):
    RECEIPT = "receipt"
    ADMINISTRATION = "administration"
    WASTE = "waste"
    DESTRUCTION = "destruction"
    TRANSFER = "transfer"
    LOSS_THEFT = "loss_theft"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    REVERSAL = "reversal"


# Which way each kind moves the container balance: +1 in, -1 out, 0 none; None = either
# (an adjustment or a reversal carries its own sign).
DIRECTION: Final[dict[Kind, int | None]] = {
    Kind.RECEIPT: 1,
    Kind.ADMINISTRATION: -1,
    Kind.WASTE: -1,  # 0 when it wastes the unused part of an earlier draw (already out of the vial)
    Kind.DESTRUCTION: -1,
    Kind.TRANSFER: -1,
    Kind.LOSS_THEFT: -1,
    Kind.ADJUSTMENT: None,
    Kind.COUNT: 0,
    Kind.REVERSAL: None,
}


class QuantityError(ValueError):
    """A quantity that cannot be recorded (negative, not a number, too fine)."""


def volume_ml(value: object, *, allow_zero: bool = False) -> Decimal:
    """A volume in mL, rounded half-up to 0.01 mL. Refuses negatives (and zero unless allowed)."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise QuantityError(f"{value!r} is not a volume in mL") from exc
    if not amount.is_finite():
        raise QuantityError(f"{value!r} is not a volume in mL")
    amount = amount.quantize(ML_QUANTUM, rounding=ROUNDING)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise QuantityError(
            "The volume must be more than 0 mL." if not allow_zero else "The volume cannot be negative."
        )
    return amount


def mg_for_ml(volume: Decimal, mg_per_ml: Decimal) -> Decimal:
    """Milligrams in ``volume`` mL at ``mg_per_ml``, half-up to 0.01 mg (sign kept)."""
    return (volume * mg_per_ml).quantize(MG_QUANTUM, rounding=ROUNDING)


def ml_for_mg(dose_mg: Decimal, mg_per_ml: Decimal) -> Decimal:
    """The volume that holds ``dose_mg``, half-up to 0.01 mL (what a nurse draws)."""
    if mg_per_ml <= 0:
        raise QuantityError("Concentration must be positive.")
    return (dose_mg / mg_per_ml).quantize(ML_QUANTUM, rounding=ROUNDING)


def signed_delta(kind: Kind, quantity: Decimal, *, of_draw: bool = False) -> Decimal:
    """The balance change for a kind with a fixed direction (adjustments/reversals pass their own)."""
    direction = DIRECTION[kind]
    if direction is None:
        raise ValueError(f"{kind} carries its own sign")
    if kind == Kind.WASTE and of_draw:
        return Decimal("0.00")
    return quantity * direction


def next_business_day(day: date) -> date:
    """The written notice of theft or significant loss is due to the DEA Field Division
    within one business day of discovery [S119]. Weekends are skipped; public holidays
    are not modelled (notify sooner, not later)."""
    due = day + timedelta(days=1)
    while due.weekday() >= 5:
        due += timedelta(days=1)
    return due


def form_106_due(discovered_on: date) -> date:
    """DEA Form 106 is due electronically within 45 days of discovery [S120]."""
    return discovered_on + timedelta(days=FORM_106_DAYS)


def is_significant(discrepancy_mg: Decimal, threshold_mg: Decimal) -> bool:
    """A shortfall at or above the clinic's threshold (clinic policy; the DEA sets no
    number: "minor discrepancies are noted in records, not reported; a recurring pattern
    counts as significant" [S119]). Surpluses are never a loss."""
    return discrepancy_mg < 0 and -discrepancy_mg >= threshold_mg


def unaccounted_problems(draws: list[tuple[Decimal, bool]]) -> list[str]:
    """Sign-check messages for a session's draws: ``(drawn_mg, closed)`` where closed means a
    waste entry (0 mL if nothing was left) has been posted for that draw."""
    problems = []
    if not draws:
        problems.append("No ketamine draw is recorded in the controlled-substance ledger for this session")
    open_mg = sum((mg for mg, closed in draws if not closed), Decimal("0"))
    if open_mg > 0:
        problems.append(
            f"{open_mg.normalize():f} mg drawn for this session is not accounted for "
            "(record the waste, 0 mL if none was left)"
        )
    return problems
