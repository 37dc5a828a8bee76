"""Plausible ranges for typed vital signs at intake. Pure.

These are data-entry limits, not clinical thresholds: they exist to refuse typing
errors (BP 400/20, SpO2 140 %, weight 3 kg) and are deliberately
wide so that any real adult reading passes. No screening rule reads them; the clinical
limits are the cited, administrator-editable ``ScreeningThresholds``. They are not from
clinical-reference.md because no source sets a "plausible" range.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final


@dataclass(frozen=True)
class Range:
    low: Decimal | int
    high: Decimal | int
    unit: str

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | Decimal) and self.low <= value <= self.high

    @property
    def text(self) -> str:
        return f"{self.low}–{self.high} {self.unit}".strip()


PLAUSIBLE: Final[dict[str, Range]] = {
    "bp_systolic_mmhg": Range(50, 300, "mmHg"),
    "bp_diastolic_mmhg": Range(25, 200, "mmHg"),
    "heart_rate_bpm": Range(20, 250, "/min"),
    "spo2_percent": Range(50, 100, "%"),
    "weight_kg": Range(Decimal("25"), Decimal("350"), "kg"),
    "height_cm": Range(Decimal("100"), Decimal("250"), "cm"),
}
PLAUSIBLE["bp_remeasure_systolic_mmhg"] = PLAUSIBLE["bp_systolic_mmhg"]
PLAUSIBLE["bp_remeasure_diastolic_mmhg"] = PLAUSIBLE["bp_diastolic_mmhg"]


def implausible(name: str, value: int | Decimal | None) -> str | None:
    """The message for a value outside its plausible range, or None when it is fine or blank."""
    if value is None:
        return None
    allowed = PLAUSIBLE[name]
    if value in allowed:
        return None
    return f"{value} {allowed.unit} is not a plausible reading: enter a value between {allowed.text}."


def bp_pair_problem(systolic: int | None, diastolic: int | None) -> str | None:
    """A reading is a pair: both or neither, and systolic above diastolic."""
    if (systolic is None) != (diastolic is None):
        return "Enter both systolic and diastolic, or neither."
    if systolic is not None and diastolic is not None and systolic <= diastolic:
        return f"Systolic ({systolic}) must be higher than diastolic ({diastolic}): check the reading."
    return None


# --- Weight units -------------------------------------------------------------------------
# Weight is stored in kg. A pound is exactly 0.45359237 kg (the international avoirdupois
# pound, US National Bureau of Standards 1959); a unit selector on the form converts, so a
# weight read off a scale in pounds is never typed as kilograms (176 lb is 79.8 kg, not 176).
KG_PER_LB: Final = Decimal("0.45359237")
WEIGHT_UNITS: Final = (("kg", "kg"), ("lb", "lb"))
_TENTH: Final = Decimal("0.1")


def kg_from_lb(lb: Decimal) -> Decimal:
    """Pounds to kilograms, to 0.1 kg (half up), the precision weights are stored in."""
    return (lb * KG_PER_LB).quantize(_TENTH, rounding=ROUND_HALF_UP)


def lb_from_kg(kg: Decimal) -> Decimal:
    """Kilograms to pounds, to 0.1 lb (half up), shown beside a weight in kg."""
    return (kg / KG_PER_LB).quantize(_TENTH, rounding=ROUND_HALF_UP)


def weight_in_kg(value: Decimal | None, unit: str) -> Decimal | None:
    """A typed weight in ``unit`` ("kg" or "lb"), as kg."""
    if value is None or unit != "lb":
        return value
    return kg_from_lb(value)
