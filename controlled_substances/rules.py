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

# A new inventory at least every two years after the previous one [S116][S117] (21 CFR 1304.11(c)).
BIENNIAL_YEARS: Final = 2
# Clinic policy (the reference gives no number): how long before a biennial inventory or a
# registration's expiry the administrator's home starts reminding.
REMIND_DAYS_BEFORE: Final = 60

# Form 106 is filed electronically within 45 days of discovery (rule effective
# 24 Jul 2023) [S119][S120].
FORM_106_DAYS: Final = 45


class Kind(StrEnum):
    RECEIPT = "receipt"
    ADMINISTRATION = "administration"
    WASTE = "waste"
    DESTRUCTION = "destruction"
    TRANSFER = "transfer"
    TRANSFER_IN = "transfer_in"
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
    Kind.TRANSFER_IN: 1,
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


# --- The draw against the verified dose (clinic policy, bounded) -------------------------
# A draw may differ from the verified dose by the larger of one syringe graduation
# (ML_QUANTUM: nothing finer can be drawn or read) and this percentage of the dose. The
# percentage is clinic policy (the reference gives no number); an administrator may set it
# within the hard bounds below, never wider: past 5 % the draw is another dose, not a
# reading error of the same one (clinic policy bound).
DRAW_TOLERANCE_PERCENT_DEFAULT: Final = Decimal("2")
DRAW_TOLERANCE_PERCENT_BOUNDS: Final = (Decimal("0"), Decimal("5"))


def draw_tolerance_mg(*, dose_mg: Decimal, mg_per_ml: Decimal, percent: Decimal) -> Decimal:
    """How far a draw's mg may be from the verified dose: max(0.01 mL × concentration,
    ``percent`` % of the dose), to 0.01 mg. Why: the syringe cannot be read finer than one
    graduation, and the clinic's percentage (bounded) covers reading it at the dose."""
    low, high = DRAW_TOLERANCE_PERCENT_BOUNDS
    if not low <= percent <= high:
        raise QuantityError(f"The draw tolerance must be {low}–{high} %, not {percent} %.")
    by_resolution = ML_QUANTUM * mg_per_ml
    by_percent = dose_mg * percent / Decimal(100)
    return max(by_resolution, by_percent).quantize(MG_QUANTUM, rounding=ROUNDING)


def draw_problems(
    *,
    volume: Decimal,
    container_mg_per_ml: Decimal,
    dose_mg: Decimal,
    dose_mg_per_ml: Decimal,
    percent: Decimal,
) -> dict[str, str]:
    """Why a draw does not match the verified dose, by form field ({} when it matches):
    the container must hold the calculation's concentration, and volume × concentration
    must be within :func:`draw_tolerance_mg` of the verified mg."""
    if container_mg_per_ml != dose_mg_per_ml:
        return {
            "container": f"This vial is {container_mg_per_ml.normalize():f} mg/mL; the verified calculation is "
            f"for {dose_mg_per_ml.normalize():f} mg/mL. Draw from a {dose_mg_per_ml.normalize():f} mg/mL vial."
        }
    drawn_mg = mg_for_ml(volume, container_mg_per_ml)
    tolerance = draw_tolerance_mg(dose_mg=dose_mg, mg_per_ml=container_mg_per_ml, percent=percent)
    if abs(drawn_mg - dose_mg) > tolerance:
        return {
            "volume_ml": f"{volume} mL is {drawn_mg.normalize():f} mg; the verified dose is "
            f"{dose_mg.normalize():f} mg = {ml_for_mg(dose_mg, container_mg_per_ml)} mL "
            f"(allowed difference {tolerance.normalize():f} mg)."
        }
    return {}


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


def biennial_inventory_due(*, last_inventory_on: date | None, first_activity_on: date | None) -> date | None:
    """When a registration's next inventory is due. The initial inventory is taken on the first
    day of activity (zero counts allowed); then a new one at least every two years after the
    previous one [S116][S117][S118]. A previous inventory on 29 February falls due on 28
    February (earlier, never later). None: no activity and no inventory yet."""
    if last_inventory_on is None:
        return first_activity_on
    try:
        return last_inventory_on.replace(year=last_inventory_on.year + BIENNIAL_YEARS)
    except ValueError:
        return last_inventory_on.replace(year=last_inventory_on.year + BIENNIAL_YEARS, day=28)


def registration_reminders(
    *,
    dea_number: str,
    expires_on: date | None,
    inventory_due_on: date | None,
    inventory_taken: bool,
    today: date,
) -> list[str]:
    """What the administrator must do soon for one registration: an inventory due within
    ``REMIND_DAYS_BEFORE`` days (clinic policy) or overdue, a registration about to expire or
    expired, or missing details. Empty when nothing is near."""
    soon = today + timedelta(days=REMIND_DAYS_BEFORE)
    out = []
    if not dea_number or expires_on is None:
        out.append("enter the DEA registration number and its expiry")
    elif expires_on < today:
        out.append(f"the DEA registration expired on {expires_on:%Y-%m-%d}")
    elif expires_on <= soon:
        out.append(f"the DEA registration expires on {expires_on:%Y-%m-%d}: renew it")
    if inventory_due_on is not None and inventory_due_on <= soon:
        what = "biennial inventory" if inventory_taken else "initial inventory"
        when = "was due" if inventory_due_on < today else "is due"
        out.append(f"the {what} {when} on {inventory_due_on:%Y-%m-%d}")
    return out


def is_significant(discrepancy_mg: Decimal, threshold_mg: Decimal) -> bool:
    """A shortfall at or above the clinic's threshold (clinic policy; the DEA sets no
    number: "minor discrepancies are noted in records, not reported; a recurring pattern
    counts as significant" [S119]). Surpluses are never a loss."""
    return discrepancy_mg < 0 and -discrepancy_mg >= threshold_mg


# What a reversal may undo, per kind of entry. A reversal appends the mirror image and leaves
# the original readable (struck through); it always needs a second person. These kinds are
# never reversed, and each says how a mistake in one is corrected instead:
NOT_REVERSIBLE: Final[dict[Kind, str]] = {
    # The invoice is the receipt record [S109]; the quantity on it does not change.
    Kind.RECEIPT: "A receipt matches its invoice and is not reversed; correct the balance with an adjustment.",
    # A count records what was physically seen at that moment.
    Kind.COUNT: "A count records what was seen and is not reversed; explain its discrepancy instead.",
    # Undoing an undo would hide the history it corrects.
    Kind.REVERSAL: "A reversal is not reversed; record the movement afresh.",
    # Form 41 is filed with the DEA and signed by two witnesses [S121][S122]: the ledger may not
    # disagree with it.
    Kind.DESTRUCTION: "A destruction is on a DEA Form 41 signed by two witnesses and is not reversed; "
    "if the form was wrong, amend it with the DEA and record an adjustment naming it.",
    # The DEA notice clock started at discovery [S119][S120]; drug found later is a new fact.
    Kind.LOSS_THEFT: "A theft or loss report is not reversed; "
    "if drug is found, record an adjustment naming the report.",
    # The drug went with the vial and its invoice; its return is a receipt or a transfer back.
    Kind.TRANSFER: "A transfer is not reversed; transfer the drug back, or receive it again.",
    Kind.TRANSFER_IN: "A transfer is not reversed; transfer the drug back.",
}


def reversal_refusal(
    *,
    kind: Kind,
    moved_balance: bool,
    standing_wastes: int,
    session_signed: bool,
    resolves_count: bool,
) -> str | None:
    """Why an entry may not be reversed, or None when it may (with a second person).

    Why per kind: see ``NOT_REVERSIBLE``. Among the rest: waste taken from a vial
    (``moved_balance``) was seen going into the waste container by its witness, so it never
    comes back into stock; the waste of a draw's unused part may be reversed, which reopens
    the draw until a new witnessed waste closes it (the correcting entry). A draw still closed
    by a standing waste is reversed only after that waste. Entries of a signed session are
    part of a signed clinical record, which is immutable. An adjustment that resolved a count
    discrepancy is part of that count's explanation, which is fixed once given."""
    if kind in NOT_REVERSIBLE:
        return NOT_REVERSIBLE[kind]
    if session_signed:
        return "This entry belongs to a signed infusion session; signed records are not changed."
    if kind == Kind.WASTE and moved_balance:
        return (
            "Witnessed waste from a vial does not come back into stock; "
            "if the volume was recorded wrong, record an adjustment."
        )
    if kind == Kind.ADMINISTRATION and standing_wastes:
        return "Reverse the waste that closes this draw first."
    if kind == Kind.ADJUSTMENT and resolves_count:
        return "This adjustment resolved a count discrepancy; record another adjustment instead."
    return None


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


# --- Close-out: every milligram drawn is delivered, wasted or reported lost --------------


def closeout_tolerance_mg(
    *, drawn_mg: Decimal, mg_per_ml: Decimal, percent: Decimal, dose_mg: Decimal | None = None
) -> Decimal:
    """How far delivered + wasted may be from the drawn mg: the draw's own tolerance (one
    syringe graduation at the vial's concentration, or the clinic's percentage of the drawn
    mg or of the verified dose, whichever is larger; clinic policy, bounded), since the draw
    may already differ from the verified dose, on which the bag's delivery is computed, by
    that much."""
    basis = max(drawn_mg, dose_mg or Decimal(0))
    return draw_tolerance_mg(dose_mg=basis, mg_per_ml=mg_per_ml, percent=percent)


def closeout_difference(*, drawn_mg: Decimal, delivered_mg: Decimal, wasted_mg: Decimal, lost_mg: Decimal) -> Decimal:
    """Drawn − (delivered + wasted + reported lost): > 0 is drug not accounted for, < 0 is
    more accounted for than was drawn."""
    return drawn_mg - (delivered_mg + wasted_mg + lost_mg)


def closeout_problem(
    *, drawn_mg: Decimal, delivered_mg: Decimal, wasted_mg: Decimal, lost_mg: Decimal, tolerance_mg: Decimal
) -> str | None:
    """Why a closed draw does not account for every milligram (None when drawn = delivered +
    wasted (+ reported lost) within ``tolerance_mg``), naming the numbers."""
    difference = closeout_difference(drawn_mg=drawn_mg, delivered_mg=delivered_mg, wasted_mg=wasted_mg, lost_mg=lost_mg)
    if abs(difference) <= tolerance_mg:
        return None
    lost = f" + reported lost {lost_mg} mg" if lost_mg else ""
    what = "not accounted for" if difference > 0 else "more than was drawn"
    return (
        f"Drawn {drawn_mg} mg ≠ delivered {delivered_mg} mg + wasted {wasted_mg} mg{lost} "
        f"({abs(difference)} mg {what}; allowed difference {tolerance_mg} mg): correct the waste "
        "(what is left in the syringe or the bag), or explain the discrepancy on the ledger's discrepancy list"
    )
