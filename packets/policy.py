"""The clinic's policy for packet links, from the settings (the README's configuration table):
clinic policy, not clinical numbers."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from packets import rules


@dataclass(frozen=True)
class LinkPolicy:
    expiry_days: int
    dob_max_failures: int
    rate_limit_per_window: int


def link_policy() -> LinkPolicy:
    return LinkPolicy(
        expiry_days=getattr(settings, "PACKET_LINK_EXPIRY_DAYS", rules.LINK_EXPIRY_DAYS_DEFAULT),
        dob_max_failures=getattr(settings, "PACKET_DOB_MAX_FAILURES", rules.DOB_MAX_FAILURES_DEFAULT),
        rate_limit_per_window=getattr(settings, "PACKET_RATE_LIMIT_PER_WINDOW", rules.RATE_LIMIT_PER_WINDOW_DEFAULT),
    )
