"""What every follow-up service shares: permissions, the policy, hashing."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from accounts.models import User
from core.audit import Category
from followups.models import FollowUpPolicy
from followups.rules import VISIT_TYPE_CODES  # noqa: F401 - the services' shared names

AUDIT_CATEGORY = Category.CLINICAL
NOTE_FIELDS = ("current_symptoms", "side_effects", "medication_changes")


def _require(user: User | None, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied


def policy_current() -> FollowUpPolicy:
    policy, _ = FollowUpPolicy.objects.get_or_create(pk=1)
    return policy
