"""Treatment plan lifecycle (clinical-reference 5.2): the transition table, and the checks
of its standing order. Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Final

from consultations.choices import DoseUnit
from consultations.choices import PlanStatus as S
from consultations.order_checks import order_problems

if TYPE_CHECKING:
    from consultations.models import Protocol

PLAN_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    S.DRAFT: frozenset({S.ACTIVE, S.DISCONTINUED}),
    S.ACTIVE: frozenset({S.ON_HOLD, S.COMPLETED, S.DISCONTINUED}),
    S.ON_HOLD: frozenset({S.ACTIVE, S.MAINTENANCE, S.DISCONTINUED}),
    # Induction series done → boosters (maintenance), or nothing more.
    S.COMPLETED: frozenset({S.MAINTENANCE, S.DISCONTINUED}),
    S.MAINTENANCE: frozenset({S.ON_HOLD, S.COMPLETED, S.DISCONTINUED}),
    S.DISCONTINUED: frozenset(),
}

# Moves that must say why (the reference: "any → discontinued (reason)").
REASON_REQUIRED: Final = frozenset({S.ON_HOLD, S.DISCONTINUED})

ACTION_LABELS: Final = {
    S.ACTIVE: "Activate",
    S.ON_HOLD: "Put on hold",
    S.COMPLETED: "Mark induction completed",
    S.MAINTENANCE: "Start maintenance",
    S.DISCONTINUED: "Discontinue",
}


def plan_transition_problem(*, current: str, target: str, reason: str) -> str | None:
    """Why ``current → target`` is refused, or None."""
    if target not in PLAN_TRANSITIONS.get(current, frozenset()):
        return f"A plan that is {S(current).label.lower()} cannot be moved to {S(target).label.lower()}."
    if target in REASON_REQUIRED and not reason.strip():
        return "Give a reason."
    return None


def next_statuses(current: str) -> list[tuple[str, str]]:
    """(status, button label) for the moves allowed from ``current``, in table order."""
    return [(s.value, ACTION_LABELS[s]) for s in S if s in PLAN_TRANSITIONS.get(current, frozenset())]


def ordered_rate_mg_per_kg_per_h(*, dose: Decimal, dose_unit: str, infusion_minutes: int) -> Decimal:
    """The rate the order itself implies: a rate order is its own rate; an mg/kg dose over
    ``infusion_minutes`` runs at dose x 60 / minutes. The first version's rate ceiling, so a
    faster rate than ordered always needs a prescriber's new order."""
    if dose_unit == "mg_per_kg_per_h":
        return dose
    return (dose * 60 / Decimal(infusion_minutes)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# What a standing order holds beyond its plan and signature (the dose unit follows the protocol).
ORDER_FIELDS: Final = (
    "dose",
    "infusion_minutes",
    "weight_basis",
    "max_dose_mg",
    "max_rate_mg_per_kg_per_h",
    "sessions_planned",
    "min_interval_hours",
    "prn_rescue_medications",
    "dose_override_reason",
)


def first_order_content(plan: Any) -> dict[str, Any]:
    """Version 1 of a plan's standing order: the plan as drafted, its rate ceiling the rate
    the dose implies, no minimum interval, no PRN rescue medications."""
    return {
        "dose": plan.dose,
        "infusion_minutes": plan.infusion_minutes,
        "weight_basis": plan.weight_basis,
        "max_dose_mg": plan.max_dose_mg,
        "max_rate_mg_per_kg_per_h": ordered_rate_mg_per_kg_per_h(
            dose=plan.dose, dose_unit=plan.dose_unit, infusion_minutes=plan.infusion_minutes
        ),
        "sessions_planned": plan.sessions_planned,
        "min_interval_hours": None,
        "prn_rescue_medications": "",
        "dose_override_reason": getattr(plan, "dose_override_reason", ""),
    }


def _n(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def dose_range_problems(
    *, dose: Decimal, dose_min: Decimal, dose_max: Decimal, unit: str, override_reason: str
) -> dict[str, str]:
    """The protocol's usual range: the one rule for writing a plan, signing an order and
    calculating the dose (by field, ``{}`` when the dose may stand).

    Below the range is refused. Above it, a prescriber may order the dose with a documented
    reason (``override_reason``), recorded with their credential on the signed order; the
    clinic's ceilings (rate, duration, volume) still hold whatever the reason. A reason with a
    dose inside the range is refused too, so an override never sits on an ordinary order.
    """
    usual = f"{_n(dose_min)}–{_n(dose_max)} {unit}" if dose_min != dose_max else f"{_n(dose_max)} {unit}"
    if dose < dose_min:
        return {"dose": f"{_n(dose)} {unit} is below the protocol's usual range ({usual})."}
    if dose > dose_max and not override_reason.strip():
        return {
            "dose": f"{_n(dose)} {unit} is above the protocol's usual range ({usual}): a prescriber may order it "
            "with a documented reason for the override."
        }
    if dose <= dose_max and override_reason.strip():
        return {"dose_override_reason": f"{_n(dose)} {unit} is within the usual range ({usual}): no override needed."}
    return {}


def order_change_problems(*, current: dict[str, Any], proposed: dict[str, Any], reason: str) -> dict[str, str]:
    """Why a new version of a standing order may not be signed, by field (``{}`` when it may):
    a change says why and changes something."""
    problems = {}
    if not reason.strip():
        problems["reason"] = "Say why the order changes (it is kept with the new version)."
    if proposed == current:
        problems["__all__"] = "Nothing changed: the current order stays in force."
    return problems


def start_order_problems(
    *,
    order_number: int | None,
    dose_order_number: int | None,
    sessions_started: int,
    sessions_planned: int | None,
    hours_since_last_start: Decimal | None,
    min_interval_hours: int | None,
) -> list[str]:
    """What keeps a nurse from starting an infusion under the plan's standing order.

    ``order_number`` is the current signed version (None: none signed); ``dose_order_number``
    the version the verified dose was calculated on; ``sessions_started`` the plan's sessions
    already started before this one; ``hours_since_last_start`` since the last of them.
    """
    if order_number is None:
        return ["No signed standing order: a prescriber signs the plan's order before the first infusion."]
    problems = []
    if dose_order_number != order_number:
        problems.append(
            f"The dose was calculated on order v{dose_order_number or '?'}, but v{order_number} is now in force: "
            "recalculate the dose and have it verified."
        )
    if sessions_planned is not None and sessions_started >= sessions_planned:
        problems.append(f"The order allows {sessions_planned} sessions and {sessions_started} have been given.")
    if min_interval_hours and hours_since_last_start is not None and hours_since_last_start < min_interval_hours:
        problems.append(
            f"The order asks for at least {min_interval_hours} h between sessions; the last started "
            f"{hours_since_last_start.quantize(Decimal('0.1'))} h ago."
        )
    return problems


def dose_problems(
    *,
    protocol: Protocol,
    dose,
    infusion_minutes: int,
    override_reason: str = "",
    max_rate_mg_per_kg_per_h=None,
) -> dict[str, str]:
    """Why a plan's or an order's dose may not be written, by field: the protocol's usual range
    (above it only with a prescriber's reason) and the clinic's ceilings on rate and duration."""
    problems = dose_range_problems(
        dose=dose,
        dose_min=protocol.dose_min,
        dose_max=protocol.dose_max,
        unit=DoseUnit(protocol.dose_unit).label.split(" ")[0],
        override_reason=override_reason,
    )
    ceilings = order_problems(
        dose=dose,
        dose_unit=protocol.dose_unit,
        infusion_minutes=infusion_minutes,
        max_rate_mg_per_kg_per_h=max_rate_mg_per_kg_per_h,
    )
    for field, message in ceilings.items():
        problems[field] = f"{problems[field]} {message}" if field in problems else message
    return problems
