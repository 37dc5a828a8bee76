"""The address links in messages point at, said in one place."""

from __future__ import annotations

from django.conf import settings


def site_url() -> str:
    """The public address (SITE_URL, e.g. https://clinic.example) or, while it is unset, the
    development server's (DEV_SITE_URL, on the port `make run` serves), without a trailing slash:
    a message the worker sends must name the address people open, not the worker's own."""
    return (settings.SITE_URL or settings.DEV_SITE_URL).rstrip("/")
