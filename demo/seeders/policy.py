"""A clinical policy change awaiting the medical director (the demo's prescriber "clinician"):
the administrator proposed shorter questionnaire links, so the sign-off page has something to
decide. The number is the clinic's own choice within the field's bounds (clinic policy)."""

from __future__ import annotations

from demo.context import SeedContext
from followups.models import FollowUpPolicy
from prescribers.models import PolicyChange
from prescribers.policy import policy_change_propose

PROPOSED_LINK_EXPIRY_HOURS = 48


def seed(ctx: SeedContext) -> None:
    admin = ctx.staff.get("admin")
    if admin is None or PolicyChange.objects.exists():
        return
    policy, _ = FollowUpPolicy.objects.get_or_create(pk=1)
    if policy.link_expiry_hours == PROPOSED_LINK_EXPIRY_HOURS:
        return
    if policy_change_propose(policy=policy, by=admin, after={"link_expiry_hours": PROPOSED_LINK_EXPIRY_HOURS}):
        ctx.counts["policy changes awaiting sign-off"] = 1
