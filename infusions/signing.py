"""Checks other apps add to starting and to signing a session.

``register_sign_check(fn)`` with ``fn(session) -> list[str]``: each returned string is a
problem that blocks signing (e.g. the controlled-substance ledger's "unaccounted drug",
registered from its AppConfig.ready). ``register_start_check(fn)`` likewise blocks the
move from cleared to infusing (e.g. the ledger's "the drawn amount does not match the
verified dose"). The services refuse with those messages. Registering the same function
twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable

SignCheck = Callable[[object], list[str]]
_CHECKS: list[SignCheck] = []
_START_CHECKS: list[SignCheck] = []


def register_sign_check(fn: SignCheck) -> SignCheck:
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    return fn


def unregister_sign_check(fn: SignCheck) -> None:
    if fn in _CHECKS:
        _CHECKS.remove(fn)


def register_start_check(fn: SignCheck) -> SignCheck:
    if fn not in _START_CHECKS:
        _START_CHECKS.append(fn)
    return fn


def _problems(checks: list[SignCheck], session) -> list[str]:
    problems: list[str] = []
    for check in list(checks):
        problems.extend(check(session))
    return problems


def sign_problems(session) -> list[str]:
    return _problems(_CHECKS, session)


def start_problems(session) -> list[str]:
    return _problems(_START_CHECKS, session)
