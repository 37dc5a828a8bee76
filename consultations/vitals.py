"""Plausible ranges for typed vital signs at intake. Pure.

These are data-entry limits, not clinical thresholds: they exist to refuse typing
errors (issue 4's examples: BP 400/20, SpO2 140 %, weight 3 kg) and are deliberately
wide so that any real adult reading passes. No screening rule reads them; the clinical
limits are the cited, administrator-editable ``ScreeningThresholds``. They are not from
clinical-reference.md because no source sets a "plausible" range.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
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
