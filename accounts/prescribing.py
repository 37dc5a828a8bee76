"""The prescriber's decisions: one check that every service making one calls.

A view hides the button from a nurse, but the service is the gate: a command, an admin
action or a forged POST reaches the same refusal, with a sentence that says who may act.

Holding the permission is not enough: a later app registers a credential check
(``register_credential_check(fn)``, ``fn(user, *, location) -> list[str]``, e.g. "your
licence expired on …"), so that an expired licence or DEA registration blocks the
decision too, without accounts importing that app (the shape of ``infusions.signing``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied

CredentialCheck = Callable[..., list[str]]
_CHECKS: list[CredentialCheck] = []


class PrescriberRequired(PermissionDenied):
    """A prescriber-only action attempted by someone else, or by a prescriber whose
    credentials are not current. Its message is meant for the person at the screen
    (views show it at the form rather than as a bare 403)."""


def register_credential_check(fn: CredentialCheck) -> CredentialCheck:
    if fn not in _CHECKS:
        _CHECKS.append(fn)
    return fn


def credential_problems(user, *, location=None) -> list[str]:
    """What keeps ``user`` from acting as a prescriber today (at ``location``, when the
    decision has a place), from every registered check."""
    return [problem for check in list(_CHECKS) for problem in check(user, location=location)]


def require_prescriber(user, perm: str, *, action: str, location=None) -> None:
    """Refuse unless ``user`` holds the prescriber-only permission ``perm`` and their
    credentials are current (for ``location``'s DEA registration when given).

    ``action`` names the decision in words ("Clearing a pre-check that needs review"), so the
    refusal reads: "… needs a prescriber (physician, NP or PA)", or "… is blocked: your
    licence … expired on …".
    """
    if user is None or not user.is_active or not user.has_perm(perm):
        raise PrescriberRequired(f"{action} needs a prescriber (physician, NP or PA).")
    problems = credential_problems(user, location=location)
    if problems:
        raise PrescriberRequired(f"{action} is blocked: " + " ".join(problems))
