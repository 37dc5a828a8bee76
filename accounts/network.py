"""The client's address, the one way every part of the app reads it (audit rows, django-axes,
every rate limit).

Behind ``TRUSTED_PROXY_COUNT`` proxies that each append the address they received from to
``X-Forwarded-For``, the client is the entry that many places from the right: entries further
left were written by the client itself and prove nothing. With no trusted proxy (the default)
the header is ignored, since anyone can send it.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The address of whoever sent ``request``, as far as the trusted proxies vouch for it."""
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        # Fewer hops than proxies configured: the request did not come through all of them.
        return remote
    return _valid(forwarded[-proxies]) or remote
