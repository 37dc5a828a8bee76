"""Checks a later app adds to writing a plan and signing a standing order.

``register_order_check(fn)`` with ``fn(*, dose, dose_unit, infusion_minutes,
max_rate_mg_per_kg_per_h) -> dict[str, str]``: each entry is a problem by form field (the
infusion app's ceilings: the clinic's maximum mg/kg/h rate and its shortest and longest
infusion, from its settings), so the plan and the order are held to the same ceilings as
the dose calculation and the flowsheet without this app importing that one (the shape of
``infusions.signing``). Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

OrderCheck = Callable[..., dict[str, str]]
_CHECKS: list[OrderCheck] = []


def register_order_check(fn: OrderCheck) -> OrderCheck:
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    return fn


def order_problems(
    *, dose: Decimal, dose_unit: str, infusion_minutes: int, max_rate_mg_per_kg_per_h: Decimal | None = None
) -> dict[str, str]:
    """Every registered check's problems, by field (the first message per field wins)."""
    problems: dict[str, str] = {}
    for check in list(_CHECKS):
        found = check(
            dose=dose,
            dose_unit=dose_unit,
            infusion_minutes=infusion_minutes,
            max_rate_mg_per_kg_per_h=max_rate_mg_per_kg_per_h,
        )
        for field, message in found.items():
            problems.setdefault(field, message)
    return problems
