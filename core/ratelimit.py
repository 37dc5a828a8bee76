"""The one rate limit of the public pages (patient links, the inquiry form): a counter per key
in the database table ``RequestCount``, so every web process in every configuration shares it.
The cache would not do: the zero-setup default cache (``locmemcache://``) is each process's own
memory, so a cache counter would let each gunicorn worker take the full limit (django-ratelimit
counts in the cache too, hence no package). The password throttle (``accounts.throttle``) stays in
the cache on purpose: its count must survive the rollback of the transaction that checked it.

``hit(key, limit=..., window=...)`` counts one request for ``key`` and says whether the key is
past ``limit`` in its window; ``count`` returns the number. A window opens at a key's first
request and lasts ``window``. Each count is one statement, an upsert that opens a new window when
the old one has ended or adds one, and returns the count; PostgreSQL takes the row lock for the
ON CONFLICT update, so two processes counting the same key at once each see a different number.
Callers count before they evaluate the request and outside any transaction (the views run in
autocommit), so a request that fails still counts.

Keys name what is counted (``"packet:<client address>"``); the table holds only a keyed hash of
each (HMAC-SHA256 with the secret key), never an address or a contact detail.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from core.models import RequestCount

# The table of ``RequestCount`` (its db_table, checked by a test), written out so the SQL is one
# constant string.
TABLE = "core_requestcount"
_UPSERT = """
INSERT INTO core_requestcount (key, window_ends, count) VALUES (%(key)s, %(ends)s, 1)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN core_requestcount.window_ends <= %(now)s THEN 1 ELSE core_requestcount.count + 1 END,
    window_ends = CASE WHEN core_requestcount.window_ends <= %(now)s
                       THEN %(ends)s ELSE core_requestcount.window_ends END
RETURNING count
"""
# Counters whose window has ended are dead weight: cleared whenever a window opens.
_PRUNE = "DELETE FROM core_requestcount WHERE window_ends <= %s"


def stored_key(key: str) -> str:
    """What the table holds for ``key``: a keyed hash, so a counter names no address or contact."""
    return hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()


def count(key: str, *, window: timedelta, now: datetime | None = None) -> int:
    """Count one request for ``key`` and return the requests in its current window."""
    now = now or timezone.now()
    with connections[router.db_for_write(RequestCount)].cursor() as cursor:
        cursor.execute(_UPSERT, {"key": stored_key(key), "now": now, "ends": now + window})
        (value,) = cursor.fetchone()
        if value == 1:
            cursor.execute(_PRUNE, [now])
    return value


def hit(key: str, *, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Count one request for ``key``; True once its window holds more than ``limit``."""
    return count(key, window=window, now=now) > limit
