"""Fixed-window request counters for the public pages.

``over_limit(key, limit=..., window_seconds=...)`` counts in the cache (shared by every web process
when the cache is shared, e.g. Redis through CACHE_URL).

``window_hit(model, key=..., limit=..., window_minutes=..., now=...)`` counts in the database, so
every web process shares it whatever the cache: ``model`` is any model with ``key`` (64 characters:
the key is stored as its SHA-256), ``window_start`` and ``count`` and a unique constraint on
(key, window_start); each app keeps its own table, so core owns no model. One upsert a request.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Model


def over_limit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one request for ``key`` in the current window; True once the count passes ``limit``."""
    window = int(time.time()) // window_seconds
    bucket = f"rate:{key}:{window}"
    cache.add(bucket, 0, window_seconds)
    try:
        count = cache.incr(bucket)
    except ValueError:  # evicted between add and incr
        cache.set(bucket, 1, window_seconds)
        count = 1
    return count > limit


def window_hit(model: type[Model], *, key: str, limit: int, window_minutes: int, now: datetime) -> bool:
    """Count one request for ``key`` in the current window of ``model``'s table; True once over ``limit``."""
    window = now.replace(minute=now.minute - now.minute % window_minutes, second=0, microsecond=0)
    hashed = hashlib.sha256(key.encode()).hexdigest()
    rows = model._default_manager.filter(key=hashed, window_start=window)
    if not rows.update(count=F("count") + 1):
        try:
            with transaction.atomic():
                model._default_manager.create(key=hashed, window_start=window, count=1)
        except IntegrityError:
            rows.update(count=F("count") + 1)
    count = rows.values_list("count", flat=True).first()
    return (count or 0) > limit
