"""What a later app says about moving a treatment plan.

``register_completion_check(fn)`` with ``fn(plan) -> list[str]``: the problems standing in the way
of marking the plan's induction completed (the infusion app: no infusion of the plan has been
given), so the plan page offers "Mark induction completed" only when it is possible and the
service refuses it otherwise, without this app importing that one (the shape of
``infusions.signing``). Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CompletionCheck = Callable[[Any], list[str]]
_CHECKS: list[CompletionCheck] = []


def register_completion_check(fn: CompletionCheck) -> CompletionCheck:
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    return fn


def completion_problems(plan: Any) -> list[str]:
    return [problem for check in list(_CHECKS) for problem in check(plan)]
