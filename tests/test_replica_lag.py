"""The replica's lag as the reports measure it (``core.replica.LAG_SQL``), on a real streaming standby.

A private primary and a standby streaming from it (the PITR drill's clusters: PostgreSQL's own
programs, a temporary folder, loopback ports): an idle standby that has replayed all it received
is 0 behind however old its last transaction (for the app's unprivileged role too, which may not
read the WAL receiver's status); one whose replay is held back while the primary writes is as far
behind as its last replayed transaction; one whose primary is gone is no longer taken as caught up.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from core.replica import LAG_SQL
from scripts.pitr_drill import Drill, find_bindir, free_port

pytestmark = pytest.mark.integration


def _lag(port: int, user: str) -> float:
    with psycopg.connect(host="127.0.0.1", port=port, user=user, dbname="postgres", autocommit=True) as conn:
        row = conn.execute(LAG_SQL).fetchone()
    assert row is not None
    return float(row[0])


@pytest.fixture
def clusters():
    d = Drill(find_bindir(None), Path(tempfile.mkdtemp(prefix="grace-lag-")))
    d.own(d.folder)
    primary, standby = d.folder / "primary", d.folder / "standby"
    ports = free_port(), free_port()
    try:
        d.pg("initdb", "-D", str(primary), "-U", "postgres", "-A", "trust", "--no-sync")
        d.settings(primary, ports[0], [])
        d.start(primary, ports[0])
        with d.connect(ports[0], "postgres") as conn:
            conn.execute("CREATE ROLE app LOGIN")  # no pg_read_all_stats: the receiver's status is hidden
            conn.execute("CREATE TABLE visits (n int)")
        d.pg("pg_basebackup", "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres", "-D", str(standby), "-R")
        d.settings(standby, ports[1], [])
        d.start(standby, ports[1])
        yield d, primary, ports
    finally:
        for data in list(d.running):
            d.stop(data)
        shutil.rmtree(d.folder, ignore_errors=True)


def _wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_the_lag_is_zero_when_caught_up_and_grows_when_replay_or_the_stream_stops(clusters):
    d, primary, (primary_port, standby_port) = clusters
    _wait_for(lambda: _lag(standby_port, "postgres") == 0)
    time.sleep(1.5)  # idle: the last replayed transaction ages, the standby is still caught up
    assert _lag(standby_port, "postgres") == 0
    assert _lag(standby_port, "app") == 0
    assert _lag(primary_port, "app") == 0  # a server not in recovery is the data itself

    with (
        d.connect(primary_port, "postgres") as writer,
        d.connect(standby_port, "postgres") as standby,
    ):
        writer.execute("INSERT INTO visits VALUES (1)")
        _wait_for(lambda: standby.execute("SELECT count(*) FROM visits").fetchone() == (1,))  # replayed
        standby.execute("SELECT pg_wal_replay_pause()")
        time.sleep(1.5)
        writer.execute("INSERT INTO visits VALUES (2)")  # received, not replayed
        _wait_for(lambda: _lag(standby_port, "app") >= 1.5)
        standby.execute("SELECT pg_wal_replay_resume()")
        _wait_for(lambda: _lag(standby_port, "app") == 0)

    d.stop(primary)  # the stream is cut: what was received proves nothing any more
    _wait_for(lambda: _lag(standby_port, "app") > 0)
