"""The prescriber's decisions: one check that every service making one calls.

A view hides the button from a nurse, but the service is the gate: a command, an admin
action or a forged POST reaches the same refusal, with a sentence that says who may act.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied


class PrescriberRequired(PermissionDenied):
    """A prescriber-only action attempted by someone else. Its message is meant for the
    person at the screen (views show it at the form rather than as a bare 403)."""


def require_prescriber(user, perm: str, *, action: str) -> None:
    """Refuse unless ``user`` holds the prescriber-only permission ``perm``.

    ``action`` names the decision in words ("Clearing a pre-check that needs review"), so the
    refusal reads: "… needs a prescriber (physician, NP or PA)".
    """
    if user is None or not user.is_active or not user.has_perm(perm):
        raise PrescriberRequired(f"{action} needs a prescriber (physician, NP or PA).")
