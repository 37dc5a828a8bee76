"""Asking for a password-reset e-mail (ASVS 6.4; security-reference A4).

The request only counts and queues: looking the address up, making the token and sending happen
in a Celery task, so the answer takes as long for an address with an account as for one without
and says the same. Requests are rate-limited per address asked about (clinic policy, so a
colleague's inbox cannot be flooded: over the limit nothing more is sent, and the answer still
says nothing) and per client address (over the limit the form says so)."""

from __future__ import annotations

import hashlib

from django.conf import settings

from accounts import throttle
from accounts.tasks import send_password_reset


class TooManyResetRequests(Exception):
    pass


def _over(key: str, limit: int) -> bool:
    return throttle.count(key, window_seconds=settings.PASSWORD_RESET_WINDOW_MINUTES * 60) > limit


def password_reset_request(*, email: str, client: str | None, domain: str, use_https: bool) -> None:
    """Queue the reset e-mail for ``email`` (sent only if an active account has it).

    Raises :class:`TooManyResetRequests` when ``client`` asked too often."""
    if _over(f"password-reset-client:{client or ''}", settings.PASSWORD_RESET_LIMIT_PER_CLIENT):
        raise TooManyResetRequests
    hashed = hashlib.sha256(email.strip().lower().encode()).hexdigest()  # no address in cache keys
    if _over(f"password-reset-address:{hashed}", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS):
        return
    send_password_reset.delay(email=email, domain=domain, use_https=use_https)  # sent when the request commits
