"""A fixed-window request counter in the cache (shared by every web process when the cache is
shared, e.g. Redis through CACHE_URL): the public link pages count requests per client address."""

from __future__ import annotations

import time

from django.core.cache import cache


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
