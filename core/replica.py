"""Reads that may go to a streaming read replica (the ``replica`` database alias), and where they went.

A router rather than ``.using("replica")`` on each query: a report reads models of a dozen apps
through shared selectors (operations, billing, compliance, …) that other pages also call, and
their related lookups and ``Subquery`` parts would each need the alias threaded through; one
missed call would silently read the primary, and the same selectors called from a chart page
must keep reading the primary. So the caller opens ``replica_reads()`` around the build, the
router sends every read inside it to the replica, and everything else (every write, whatever is
inside, and every read outside) stays on the primary.

The replica is used only while it answers and its lag is at most ``REPLICA_MAX_LAG_SECONDS``;
otherwise the reads go to the primary and the caller is told why, so a page can say so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
_CACHE_KEY = "replica:lag-seconds"
_UNREACHABLE = -1.0  # cached in place of a lag when the replica did not answer

_reads_from: ContextVar[str | None] = ContextVar("replica_reads_from", default=None)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """Where a page's reads went: the replica (``lag`` seconds behind) or the primary, and why."""

    replica_configured: bool
    from_replica: bool
    lag: float | None = None  # seconds; None when the replica did not answer or its lag is unknown
    unreachable: bool = False


def configured() -> bool:
    return REPLICA in connections.settings


# On a standby, the time since the last replayed transaction is its lag only while the primary
# writes: on an idle primary it keeps growing although nothing is missing. So a standby whose
# WAL receiver runs and has replayed everything it received is caught up (lag 0); otherwise the
# lag is the age of the last replayed transaction (NULL before the first: unknown). The receiver's
# status is hidden from a role without pg_read_all_stats (NULL, but its row is there); a receiver
# that is gone (the stream is cut) leaves no row, and then the received WAL proves nothing.
# A server that is not in recovery (the test mirror, a promoted replica) is the data itself.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
         AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming' OR status IS NULL) THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


def measure_lag() -> float | None:
    """The replica's lag in seconds (None: unknown); raises DatabaseError when it does not answer."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(LAG_SQL)
        (lag,) = cursor.fetchone()
    return None if lag is None else max(float(lag), 0.0)


def current_lag() -> tuple[float | None, bool]:
    """(lag, unreachable), measured at most once per ``REPLICA_LAG_CHECK_SECONDS`` (shared in the cache)."""
    cached = cache.get(_CACHE_KEY, default=False)
    if cached is False:
        try:
            cached = measure_lag()
        except DatabaseError:
            logger.warning("The read replica did not answer; reports read the primary.", exc_info=True)
            connections[REPLICA].close()  # the next check connects afresh
            cached = _UNREACHABLE
        cache.set(_CACHE_KEY, cached, settings.REPLICA_LAG_CHECK_SECONDS)
    if cached == _UNREACHABLE:
        return None, True
    return cached, False


def mark_unreachable() -> None:
    """A read on the replica failed: send the next pages to the primary until the next check."""
    connections[REPLICA].close()
    cache.set(_CACHE_KEY, _UNREACHABLE, settings.REPLICA_LAG_CHECK_SECONDS)


def choose() -> Source:
    if not configured():
        return Source(replica_configured=False, from_replica=False)
    lag, unreachable = current_lag()
    usable = not unreachable and lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
    return Source(replica_configured=True, from_replica=usable, lag=lag, unreachable=unreachable)


@contextmanager
def replica_reads(source: Source | None = None) -> Iterator[Source]:
    """Send the reads inside to the replica when it is usable; yield where they go."""
    source = choose() if source is None else source
    token = _reads_from.set(REPLICA if source.from_replica else None)
    try:
        yield source
    finally:
        _reads_from.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Inside ``replica_reads``, read the primary again (a retry after the replica failed)."""
    token = _reads_from.set(None)
    try:
        yield
    finally:
        _reads_from.reset(token)


class ReplicaRouter:
    """Reads go where ``replica_reads`` says (the primary by default); writes always go to the primary."""

    def db_for_read(self, model, **hints):
        return _reads_from.get()

    def db_for_write(self, model, **hints):
        # Explicit: Django would otherwise save an object to the database it was read from.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: a row read from the replica may point at one from the primary.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows the primary's WAL: it is never migrated itself.
        return False if db == REPLICA else None
