"""Database connections stay bounded: a burst of concurrent requests to the web server that `make run`
starts (the Procfile's `web` line, run as it is) never holds more PostgreSQL connections than the
server has threads, during the burst or after it.

The server runs in a subprocess on a free loopback port against the test database; the requests go
to 127.0.0.1 only and are bounded in number and time.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from tests.subprocess_env import database_env

ROOT = Path(__file__).resolve().parents[1]
WORKERS, THREADS = 2, 3
SERVER_APP = "grace-connection-test"
REQUESTS = 200
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_env(port: int) -> dict[str, str]:
    env = database_env(PORT=str(port), WEB_WORKERS=str(WORKERS), WEB_THREADS=str(THREADS), PGAPPNAME=SERVER_APP)
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env.pop("DATABASE_CONN_MAX_AGE", None)  # the defaults are what is tested
    return env


def _web_command() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return line.removeprefix("web:").strip()


def _own_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _server_connections(*, besides: list[int]) -> int:
    """The web server's connections to the test database (libpq names them by PGAPPNAME), not
    this test's own (``besides``) nor those of a worker another test is still shutting down."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
            " AND NOT (pid = ANY(%s))",
            [connection.settings_dict["NAME"], SERVER_APP, besides],
        )
        return cursor.fetchone()[0]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a loopback http URL
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:  # 503: the broker may be down here; the database answers
        return exc.code, json.loads(exc.read())


@pytest.fixture
def web_server():
    port = _free_port()
    server = subprocess.Popen(  # noqa: S602 - the Procfile's own line, as honcho runs it
        f"exec {_web_command()}",
        shell=True,
        cwd=ROOT,
        env=_server_env(port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, "the web server exited while starting"
            with contextlib.suppress(OSError):
                _get(url)
                break
            assert time.monotonic() < deadline, "the web server did not answer within 120 s"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_connection_count_200_concurrent_requests_leave_the_database_connections_bounded(web_server):
    bound = WORKERS * THREADS  # one kept connection per server thread at most
    mine = [_own_pid()]
    peak, done, watching = 0, threading.Event(), threading.Event()

    def watch():
        nonlocal peak
        from django.db import connections

        try:
            mine.append(_own_pid())
            watching.set()
            while not done.is_set():
                peak = max(peak, _server_connections(besides=mine))
                time.sleep(0.02)
        finally:
            connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    watching.wait(timeout=30)
    try:
        with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
            answers = list(pool.map(_get, [web_server] * REQUESTS, timeout=300))
    finally:
        done.set()
        watcher.join()
    assert len(answers) == REQUESTS
    assert all(body["checks"]["database"] for _, body in answers), {status for status, _ in answers}
    after = _server_connections(besides=mine)
    assert peak >= 1, "the watcher saw none of the server's connections (PGAPPNAME not applied?)"
    assert peak <= bound, f"{peak} connections during the burst for {bound} server threads"
    assert after <= bound, f"{after} connections left after the burst for {bound} server threads"
