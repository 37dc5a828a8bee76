"""The public form's rate limits: per client address and per contact detail, counted by
``core.ratelimit`` (a database counter every web process shares). Counted before the form is
evaluated, so a submission that fails still counts.

Keys are keyed hashes (``rules.address_key`` / ``rules.contact_keys``), folded so one person's
spellings of an e-mail address count as one."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from core import ratelimit
from inquiries import rules


def address_over_limit(address: str | None, *, now: datetime) -> bool:
    """Count a form post from ``address``; whether it is past the per-address limit."""
    key = rules.address_key(address=address or "unknown", secret=settings.SECRET_KEY)
    window = timedelta(minutes=settings.INQUIRY_ADDRESS_WINDOW_MINUTES)
    return ratelimit.hit(f"inquiry-{key}", limit=settings.INQUIRY_POSTS_PER_ADDRESS, window=window, now=now)


def contact_over_limit(*, phone: str, email: str, now: datetime) -> bool:
    """Count an accepted inquiry for each contact detail; whether any is past its limit."""
    keys = rules.contact_keys(phone=phone, email=email, secret=settings.SECRET_KEY)
    window = timedelta(hours=settings.INQUIRY_CONTACT_WINDOW_HOURS)
    counts = [ratelimit.count(f"inquiry-{key}", window=window, now=now) for key in keys]
    return any(n > settings.INQUIRY_PER_CONTACT for n in counts)
