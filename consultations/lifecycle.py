"""Treatment plan lifecycle (clinical-reference 5.2): the transition table. Pure."""

from __future__ import annotations

from typing import Final

from consultations.choices import PlanStatus as S

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
