"""The public pages' one rate limit (core.ratelimit): a database counter, so every web process and
every database connection counts in one place whatever the cache; its windows; its keys."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core import ratelimit
from core.models import RequestCount

WINDOW = timedelta(minutes=10)


@pytest.mark.django_db
def test_past_the_limit_until_the_window_ends_then_a_new_window_opens():
    now = timezone.now()
    assert [ratelimit.hit("t:1", limit=3, window=WINDOW, now=now) for _ in range(5)] == [False] * 3 + [True] * 2
    assert ratelimit.hit("t:1", limit=3, window=WINDOW, now=now + WINDOW - timedelta(seconds=1))
    assert not ratelimit.hit("t:1", limit=3, window=WINDOW, now=now + WINDOW)
    assert ratelimit.count("t:1", window=WINDOW, now=now + WINDOW) == 2


@pytest.mark.django_db
def test_each_key_counts_alone_and_ended_windows_are_cleared():
    now = timezone.now()
    ratelimit.count("t:a", window=WINDOW, now=now)
    ratelimit.count("t:a", window=WINDOW, now=now)
    assert ratelimit.count("t:b", window=WINDOW, now=now) == 1
    ratelimit.count("t:c", window=WINDOW, now=now + WINDOW)  # opens a window: the ended ones go
    assert RequestCount.objects.count() == 1


@pytest.mark.django_db
def test_the_table_holds_a_keyed_hash_never_the_address():
    ratelimit.count("packet:203.0.113.9", window=WINDOW)
    (key,) = RequestCount.objects.values_list("key", flat=True)
    assert "203.0.113" not in key
    assert key == ratelimit.stored_key("packet:203.0.113.9")
    assert RequestCount._meta.db_table == ratelimit.TABLE


@pytest.mark.django_db(transaction=True)
def test_concurrent_connections_share_one_count():
    """Each thread has its own database connection, as each web process does: twelve requests
    sent at once over four connections, exactly the limit passes."""

    def one(_) -> bool:
        try:
            return ratelimit.hit("t:shared", limit=6, window=WINDOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        over = list(pool.map(one, range(12)))
    assert sorted(over) == [False] * 6 + [True] * 6
