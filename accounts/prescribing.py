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
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from accounts.models import User

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


def credential_problems(user: User | None, *, location=None) -> list[str]:
    """What keeps ``user`` from acting as a prescriber today (at ``location``, when the
    decision has a place), from every registered check."""
    return [problem for check in list(_CHECKS) for problem in check(user, location=location)]


def prescriber_refusal(user: User | None, perm: str, *, action: str, location=None) -> str:
    """Why ``user`` may not make the prescriber-only decision ``perm`` now ("" when they may).

    The one answer to "can this person act as a prescriber here": the services refuse with it
    (``require_prescriber``) and the pages ask it before offering a decision form, so a user in
    the prescriber role whose profile is missing or whose licence or DEA registration is not
    current sees the nurse's "Needs a prescriber" path with this reason instead of a form that
    would refuse.

    ``action`` names the decision in words ("Clearing a pre-check that needs review"), so the
    refusal reads: "… needs a prescriber (physician, NP or PA)", or "… is blocked: your
    licence … expired on …".
    """
    if user is None or not user.is_active or not user.has_perm(perm):
        return f"{action} needs a prescriber (physician, NP or PA)."
    problems = credential_problems(user, location=location)
    if problems:
        return f"{action} is blocked: " + " ".join(problems)
    return ""


def can_act_as_prescriber(user: User | None, perm: str, *, location=None) -> bool:
    """Whether ``user`` may make the prescriber-only decision ``perm`` now (at ``location``)."""
    return not prescriber_refusal(user, perm, action="This decision", location=location)


@dataclass(frozen=True)
class Standing:
    """What a page needs to choose between a decision form and "Needs a prescriber"."""

    can_act: bool
    # Why a user in the prescriber role cannot act now ("" when they can, or when they are
    # not a prescriber at all: a nurse sees the page's usual words, not one about credentials).
    blocked: str

    def __bool__(self) -> bool:
        return self.can_act


def prescriber_standing(user: User | None, perm: str, *, action: str, location=None) -> Standing:
    refusal = prescriber_refusal(user, perm, action=action, location=location)
    holds_role = user is not None and user.is_active and user.has_perm(perm)
    return Standing(can_act=not refusal, blocked=refusal if holds_role else "")


def require_prescriber(user: User | None, perm: str, *, action: str, location=None) -> None:
    """Refuse unless ``user`` holds the prescriber-only permission ``perm`` and their
    credentials are current (for ``location``'s DEA registration when given); the refusal is
    ``prescriber_refusal``'s sentence."""
    refusal = prescriber_refusal(user, perm, action=action, location=location)
    if refusal:
        raise PrescriberRequired(refusal)
