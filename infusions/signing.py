"""Checks other apps add to starting and to signing a session.

``register_sign_check(fn)`` with ``fn(session) -> list[str]``: each returned string is a
problem that blocks signing (e.g. the controlled-substance ledger's "unaccounted drug",
registered from its AppConfig.ready). ``register_start_check(fn)`` likewise blocks the
move from cleared to infusing (e.g. the ledger's "the drawn amount does not match the
verified dose"). The services refuse with those messages. ``register_sign_refusal`` hooks
run after a refused signature; ``register_open_draws`` tells the chair board which sessions
hold drug not yet closed out. Registering the same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for types only: the models and the ledger import this registry
    from accounts.models import User
    from infusions.models import InfusionSession

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


# Called after signing was refused (outside the refused transaction, so what they record
# stands): e.g. the ledger sends a close-out discrepancy to its discrepancy list.
SignRefusal = Callable[["InfusionSession", "User"], object]  # (session, signer); what it returns is not used
_REFUSAL_HOOKS: list[SignRefusal] = []


def register_sign_refusal(fn: SignRefusal) -> SignRefusal:
    if fn not in _REFUSAL_HOOKS:
        _REFUSAL_HOOKS.append(fn)
    return fn


def sign_refused(session: InfusionSession, by: User) -> None:
    for hook in list(_REFUSAL_HOOKS):
        hook(session, by)


# Which chairs of a location hold drug drawn for a session booked between two times and not
# yet closed out (the chair board's "open draw" badge): fn(location_id, start, end) -> set of
# chair (resource) ids. None registered: none are open.
OpenDraws = Callable[[int, datetime, datetime], set[int]]
_OPEN_DRAWS: list[OpenDraws] = []


def register_open_draws(fn: OpenDraws) -> OpenDraws:
    if fn not in _OPEN_DRAWS:
        _OPEN_DRAWS.append(fn)
    return fn


def open_draw_chairs(location_id: int, start: datetime, end: datetime) -> set[int]:
    found: set[int] = set()
    for fn in list(_OPEN_DRAWS):
        found |= fn(location_id, start, end)
    return found


# Called once a signature has committed (e.g. the care team drafts the progress letters of a
# course milestone). A hook's failure is its own to log: the session stays signed.
Signed = Callable[["InfusionSession", "User"], object]  # (session, signer); what it returns is not used
_SIGNED_HOOKS: list[Signed] = []


def register_signed(fn: Signed) -> Signed:
    if fn not in _SIGNED_HOOKS:
        _SIGNED_HOOKS.append(fn)
    return fn


def session_signed(session: InfusionSession, by: User) -> None:
    for hook in list(_SIGNED_HOOKS):
        hook(session, by)
