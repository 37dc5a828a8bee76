"""Checks other apps add to signing a session.

``register_sign_check(fn)`` with ``fn(session) -> list[str]``: each returned string is a
problem that blocks signing (e.g. the controlled-substance ledger's "unaccounted drug",
registered from its AppConfig.ready). ``infusions.services.session_sign`` refuses with
those messages. Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable

SignCheck = Callable[[object], list[str]]
_CHECKS: list[SignCheck] = []


def register_sign_check(fn: SignCheck) -> SignCheck:
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    return fn


def unregister_sign_check(fn: SignCheck) -> None:
    if fn in _CHECKS:
        _CHECKS.remove(fn)


def sign_problems(session) -> list[str]:
    problems: list[str] = []
    for check in list(_CHECKS):
        problems.extend(check(session))
    return problems
