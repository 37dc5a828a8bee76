"""The public form's rate limits: per client address and per contact detail, shared by every web
process because the counters are rows of one table (``SubmissionCount``), not a process's memory.

Each count is one statement: an upsert that starts a new window when the old one has passed, or
adds one, and returns the count, so two processes counting the same key at once each see a
different number (PostgreSQL takes the row lock for the ON CONFLICT update). Counted in autocommit
before the form is evaluated, so a submission that fails or rolls back still counts.

Keys are keyed hashes (``rules.address_key`` / ``rules.contact_keys``): the table never holds an
address, a phone number or an e-mail address.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from inquiries import rules

# The table of ``SubmissionCount`` (its db_table, checked by a test), written out so the SQL is
# one constant string.
TABLE = "inquiries_submissioncount"
_UPSERT = """
INSERT INTO inquiries_submissioncount (key, window_start, count) VALUES (%(key)s, %(now)s, 1)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN inquiries_submissioncount.window_start <= %(expired)s
                 THEN 1 ELSE inquiries_submissioncount.count + 1 END,
    window_start = CASE WHEN inquiries_submissioncount.window_start <= %(expired)s
                        THEN %(now)s ELSE inquiries_submissioncount.window_start END
RETURNING count
"""
# Counters older than the longest window are dead weight: cleared when a new window opens.
_PRUNE = "DELETE FROM inquiries_submissioncount WHERE window_start < %s"


def count(key: str, *, window: timedelta, now: datetime) -> int:
    """Count one event for ``key`` and return the events in its current window."""
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, {"key": key, "now": now, "expired": now - window})
        (value,) = cursor.fetchone()
        if value == 1:
            cursor.execute(_PRUNE, [now - _longest_window()])
    return value


def _longest_window() -> timedelta:
    return max(_address_window(), _contact_window())


def _address_window() -> timedelta:
    return timedelta(minutes=settings.INQUIRY_ADDRESS_WINDOW_MINUTES)


def _contact_window() -> timedelta:
    return timedelta(hours=settings.INQUIRY_CONTACT_WINDOW_HOURS)


def address_over_limit(address: str | None, *, now: datetime) -> bool:
    """Count a form post from ``address``; whether it is past the per-address limit."""
    key = rules.address_key(address=address or "unknown", secret=settings.SECRET_KEY)
    return count(key, window=_address_window(), now=now) > settings.INQUIRY_POSTS_PER_ADDRESS


def contact_over_limit(*, phone: str, email: str, now: datetime) -> bool:
    """Count an accepted inquiry for each contact detail; whether any is past its limit."""
    keys = rules.contact_keys(phone=phone, email=email, secret=settings.SECRET_KEY)
    counts = [count(key, window=_contact_window(), now=now) for key in keys]
    return any(n > settings.INQUIRY_PER_CONTACT for n in counts)
