"""Errors and the rounding every infusion rule shares."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Final


class RuleInputError(ValueError):
    """Refused input. ``field`` names the offending input (or derived value) so a form can
    show ``message`` at that field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DoseError(RuleInputError):
    """A dose calculation the rules refuse to produce."""


class ReadingError(RuleInputError):
    """An impossible vitals reading or reading time."""


class CheckInputError(RuleInputError):
    """Pre-check input that cannot be evaluated (naive or future datetime, wrong type)."""


class TransitionError(ValueError):
    """A session status move that is not in TRANSITIONS."""


ROUNDING: Final = ROUND_HALF_UP
WEIGHT_QUANTUM_KG: Final = Decimal("0.1")
DOSE_QUANTUM_MG: Final = Decimal("0.1")
VOLUME_QUANTUM_ML: Final = Decimal("0.01")  # finest graduation worth recording for a draw
CONCENTRATION_QUANTUM_MG_PER_ML: Final = Decimal("0.001")
RATE_QUANTUM_ML_PER_H: Final = Decimal("0.1")  # pumps are programmed in 0.1 mL/h
MG_PER_KG_QUANTUM: Final = Decimal("0.0001")
_CONTEXT: Final = Context(prec=28, rounding=ROUNDING)
_MIN_PER_H: Final = Decimal(60)


def _q(value: Decimal, quantum: Decimal, rounding: str = ROUNDING) -> Decimal:
    return value.quantize(quantum, rounding=rounding)


def _f(value: Decimal) -> str:
    return format(value, "f")


def _require_decimal(error: type[RuleInputError], field: str, value: object, unit: str) -> Decimal:
    """Why strict: a float carries binary rounding error into a dose, and an int hides
    whether the caller thought in the same unit; Decimal from a DecimalField is explicit."""
    if isinstance(value, bool) or not isinstance(value, Decimal):
        raise error(
            field,
            f"must be a Decimal in {unit}, got {type(value).__name__} {value!r} "
            "(floats and other types are refused so units and precision are explicit)",
        )
    if not value.is_finite():
        raise error(field, f"{value} is not a finite number of {unit}")
    return value


def _require_positive(error: type[RuleInputError], field: str, value: object, unit: str) -> Decimal:
    number = _require_decimal(error, field, value, unit)
    if number <= 0:
        raise error(field, f"must be greater than 0 {unit}, got {_f(number)}")
    return number


def _require_minutes(error: type[RuleInputError], field: str, value: object) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise error(field, f"must be whole minutes (int) or a Decimal, got {type(value).__name__} {value!r}")
    return _require_positive(error, field, value, "min")
