"""`make bench`: time key pages through the real WSGI stack on a large seeded data set.

    .venv/bin/python bench/run.py [--patients 20000] [--requests 200] [--only NAME] [--reseed]

Steps: find the PostgreSQL server the app uses and make a separate ``grace_bench`` database on it;
migrate and (when it does not already hold the asked-for data set) seed it; collect static files;
count each page's queries in-process with Django's test client; start gunicorn (2 sync workers) on
127.0.0.1; sign the demo accounts in over HTTP; time the pages from bench/pages.py round-robin; stop
gunicorn; write bench/results.md and bench/results.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import hashlib
import http.client
import http.cookies
import ipaddress
import json
import logging
import os
import platform
import queue
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "bench"
LOG_DIR = BASE_DIR / "var" / "bench"
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

BENCH_DB = "grace_bench"  # the only database this script ever creates or drops (--database grace_bench_<x>)
BENCH_DB_NAME = re.compile(r"grace_bench(_[a-z0-9_]{1,40})?")
LOOPBACK = "127.0.0.1"  # the only address this script ever sends HTTP to
SEED = 2026
DEMO_PASSWORD = "grace-demo"  # noqa: S105 - the documented demo password (CONVENTIONS.md)
PERSONAS = ("frontdesk", "clinician", "admin")
DEFAULT_GOAL_RATIO = 3.0

REQUEST_TIMEOUT = 30  # seconds, per HTTP request
SERVER_START_TIMEOUT = 90
MIGRATE_TIMEOUT = 15 * 60
COLLECTSTATIC_TIMEOUT = 10 * 60
HEARTBEAT_EVERY = 15


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


class BenchError(Exception):
    """A setup step failed; the message says what to do."""


# --- The database server ---------------------------------------------------------------------


@dataclass
class DbServer:
    connect_kwargs: dict  # psycopg.connect() keywords, without dbname
    bench_url: str  # DATABASE_URL for the benchmark database
    description: str  # for the report: never a machine path


def locate_server() -> DbServer:
    """The server the app uses: DATABASE_URL's, or the embedded one (started when needed)."""
    url = os.environ.get("DATABASE_URL", "")
    if url:
        import environ

        config = environ.Env.db_url_config(url)
        if config.get("ENGINE") != "django.db.backends.postgresql":
            raise BenchError("DATABASE_URL must be a postgres:// URL.")
        options = dict(config.get("OPTIONS") or {})
        host = config.get("HOST") or options.pop("host", "")
        port = config.get("PORT") or options.pop("port", "")
        _refuse_remote(host)
        parts = urlsplit(url)
        bench_url = urlunsplit((parts.scheme, parts.netloc, "/" + BENCH_DB, parts.query, ""))
        where = "Unix socket" if not host or str(host).startswith("/") else f"{host}:{port or 5432}"
        kwargs = {"host": host or None, "port": port or None, "user": config.get("USER") or None}
        if config.get("PASSWORD"):
            kwargs["password"] = config["PASSWORD"]
        return DbServer({**options, **kwargs}, bench_url, f"the DATABASE_URL server ({where})")

    from grace_mindcare.embedded_db import database_settings

    settings = database_settings(BASE_DIR)
    host, port, user = settings["HOST"], str(settings.get("PORT") or ""), settings["USER"]
    query = {"host": host} | ({"port": port} if port and port != "5432" else {})
    bench_url = f"postgres://{user}@/{BENCH_DB}?{urlencode(query)}"
    return DbServer({"host": host, "port": port or None, "user": user}, bench_url, "embedded (Unix socket)")


def _refuse_remote(host: str) -> None:
    # The bench drops and recreates a database: only ever on this machine.
    if not host or str(host).startswith("/") or host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise BenchError(f"DATABASE_URL points at {host!r}; the benchmark only uses a server on this machine.")


def _maintenance_connection(server: DbServer):
    import psycopg

    last_error = None
    for dbname in ("postgres", "template1"):
        try:
            return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=10, **server.connect_kwargs)
        except psycopg.OperationalError as exc:
            last_error = exc
    raise BenchError(f"cannot reach the PostgreSQL server: {last_error}")


def demo_fingerprint(patients: int) -> dict:
    """What the data set depends on: its size and seed, and the demo seeders' source code."""
    digest = hashlib.sha256()
    for source in sorted((BASE_DIR / "demo").rglob("*.py")):
        if "tests" not in source.relative_to(BASE_DIR).parts:
            digest.update(source.relative_to(BASE_DIR).as_posix().encode())
            digest.update(source.read_bytes())
    return {"patients": patients, "seed": SEED, "demo_source": digest.hexdigest()[:16]}


def migration_hashes() -> dict[str, str]:
    """Each project migration file's content hash, to notice a migration rewritten after it was applied."""
    return {
        path.relative_to(BASE_DIR).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(BASE_DIR.glob("*/migrations/0*.py"))
    }


def prepare_database(server: DbServer, args) -> dict:
    """Create grace_bench if missing; drop it first when asked or when it holds another data set.

    The fingerprint stored on the database says what was seeded (size, seed, demo source) and which
    migration files were applied; a data set that differs, or whose applied migrations were rewritten
    since (common while a feature is in progress), is rebuilt unless --reuse.
    Returns {"stored": fingerprint or None, "wanted": fingerprint asked for, "server_version": str}.
    """
    from psycopg import sql

    wanted = demo_fingerprint(args.patients)
    with _maintenance_connection(server) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [BENCH_DB]
        ).fetchone()
        exists = row is not None
        stored = _parse_comment(row[0]) if row else None
        reason = ""
        if exists and args.reseed:
            reason = "--reseed"
        elif exists and not args.reuse and stored is None and _has_patients(server):
            reason = "it holds data of unknown origin"
        elif exists and not args.reuse and stored is not None:
            changed = [key for key in wanted if stored.get(key) != wanted[key]]
            current = migration_hashes()
            rewritten = [path for path, digest in stored.get("migrations", {}).items() if current.get(path) != digest]
            if changed:
                reason = "the data set changed (" + ", ".join(f"{k}: {stored.get(k)} -> {wanted[k]}" for k in changed)
                reason += ")"
            elif rewritten:
                reason = "migrations changed after they were applied: " + ", ".join(rewritten)
        if reason:
            say(f"dropping database {BENCH_DB}: {reason}")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(BENCH_DB)))
            exists, stored = False, None
        if not exists:
            say(f"creating database {BENCH_DB} on {server.description}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
        version = conn.execute("SHOW server_version").fetchone()[0]
    return {"stored": stored, "wanted": wanted, "server_version": version}


def _parse_comment(text: str | None) -> dict | None:
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _has_patients(server: DbServer) -> bool:
    import psycopg

    with psycopg.connect(dbname=BENCH_DB, connect_timeout=10, **server.connect_kwargs) as conn:
        if conn.execute("SELECT to_regclass('patients_patient')").fetchone()[0] is None:
            return False
        return conn.execute("SELECT EXISTS (SELECT 1 FROM patients_patient)").fetchone()[0]


def refresh_statistics(server: DbServer, *, vacuum: bool) -> float:
    """Give the planner the statistics a running clinic's database has.

    Autovacuum analyses a table only after enough of it changed and when a worker gets round to it; on
    a freshly seeded or appended data set the planner may still believe a table is empty and choose
    nested loops over thousands of rows (the reminders report took 424 ms before an ANALYZE, 40 ms
    after). Timing that would measure autovacuum's timing, not the pages. After seeding or appending,
    VACUUM as well, so index-only scans see an all-visible table as they would in production.
    """
    started = time.monotonic()
    import psycopg

    with psycopg.connect(dbname=BENCH_DB, autocommit=True, connect_timeout=10, **server.connect_kwargs) as conn:
        conn.execute("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
    return time.monotonic() - started


def store_fingerprint(server: DbServer, fingerprint: dict) -> None:
    from psycopg import sql

    with _maintenance_connection(server) as conn:
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(BENCH_DB), sql.Literal(json.dumps(fingerprint, sort_keys=True))
            )
        )


# --- Child processes -----------------------------------------------------------------------------


def bench_environment(server: DbServer, *, allowed_hosts: str) -> dict:
    """The production-like settings every bench process runs with (settings.py reads these)."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=_SECRET_KEY,
        DJANGO_ALLOWED_HOSTS=allowed_hosts,
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_URL=server.bench_url,
        OTP_REQUIRED="0",  # the bench accounts sign in with a password only
        # Tasks published by pages stay in this process instead of reaching a `make run` worker.
        CELERY_BROKER_URL="memory://",
        PYTHONUNBUFFERED="1",
    )
    return env


_SECRET_KEY = secrets.token_urlsafe(50)


def run_command(label: str, argv: list[str], env: dict, timeout: float, *, echo: bool = True) -> float:
    """Run a child to completion, streaming its output with a heartbeat; kill it at the deadline."""
    say(f"{label}…")
    started = time.monotonic()
    process = subprocess.Popen(
        argv,
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True)
    reader.start()
    tail: list[str] = []
    last_output = started
    try:
        while process.poll() is None or reader.is_alive() or not lines.empty():
            try:
                line = lines.get(timeout=1).rstrip()
            except queue.Empty:
                line = None
            now = time.monotonic()
            if line is not None:
                tail = (tail + [line])[-30:]
                if echo:
                    print(f"    {line}", flush=True)
                    last_output = now
            if now - last_output >= HEARTBEAT_EVERY:
                say(f"  {label}: still running, {now - started:.0f} s")
                last_output = now
            if now - started > timeout:
                raise BenchError(f"{label} took longer than {timeout:.0f} s; stopped")
    finally:
        if process.poll() is None:
            _kill_group(process)
    elapsed = time.monotonic() - started
    if process.returncode != 0:
        shown = "see its output above" if echo else "last lines:\n    " + "\n    ".join(tail)
        raise BenchError(f"{label} failed (exit {process.returncode}); {shown}")
    say(f"{label}: done in {elapsed:.1f} s")
    return elapsed


def _kill_group(process: subprocess.Popen) -> None:
    # The child leads its own session, so its group holds only it and its own children.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def manage(*arguments: str) -> list[str]:
    return [sys.executable, str(BASE_DIR / "manage.py"), *arguments]


# --- gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving grace_mindcare.wsgi on 127.0.0.1 with 2 sync workers; stop() always."""

    def __init__(self, env: dict, workers: int = 2):
        self.env, self.workers = env, workers
        self.port = 0
        self.process: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / "gunicorn.log"

    def start(self) -> None:
        for _attempt in range(3):
            self.port = free_port()
            log = self.log_path.open("w")
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "grace_mindcare.wsgi:application",
                    f"--bind={LOOPBACK}:{self.port}",
                    f"--workers={self.workers}",
                    "--worker-class=sync",
                    "--timeout=60",
                    "--graceful-timeout=10",
                    "--no-control-socket",
                    "--log-level=warning",
                    "--error-logfile=-",
                ],
                cwd=BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            if self._wait_ready():
                say(f"gunicorn ({self.workers} sync workers) on http://{LOOPBACK}:{self.port}")
                return
            if self.process.poll() is None:
                raise BenchError(f"gunicorn did not answer within {SERVER_START_TIMEOUT} s\n{self.log_tail()}")
            say("gunicorn exited while starting (port taken?); retrying on another port")
        raise BenchError(f"gunicorn would not start:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_request(self.port, "GET", "/accounts/login/", timeout=5).status == 200:
                    return True
            time.sleep(0.3)
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            _kill_group(self.process)
        say("gunicorn stopped")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


# --- HTTP over loopback ---------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def http_request(
    port: int, method: str, path: str, *, cookies=None, body: bytes | None = None, headers=None, timeout=None
) -> Response:
    """One request on a fresh connection (gunicorn's sync workers close after each response).

    Every request says it came through a TLS proxy (X-Forwarded-Proto: https, which the settings
    trust through SECURE_PROXY_SSL_HEADER), so the stack runs its production path: secure request,
    HSTS, Secure `__Host-` cookies. The Cookie header is written by hand, so Secure cookies are
    sent back over this plain-HTTP loopback connection.
    """
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout or REQUEST_TIMEOUT)
    try:
        sent = {"Host": f"{LOOPBACK}:{port}", "User-Agent": "grace-bench", "X-Forwarded-Proto": "https"}
        if cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        sent.update(headers or {})
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def remember_cookies(jar: dict, response: Response) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        parsed = http.cookies.SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            if morsel["max-age"] == "0" or not morsel.value:
                jar.pop(name, None)
            else:
                jar[name] = morsel.value


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def sign_in(port: int, username: str) -> dict:
    """GET the sign-in page, POST the form with its CSRF token; return the session's cookies."""
    jar: dict = {}
    page = http_request(port, "GET", "/accounts/login/")
    remember_cookies(jar, page)
    token = CSRF_FIELD.search(page.body)
    if page.status != 200 or not token:
        raise BenchError(f"sign-in page answered {page.status} without a CSRF token")
    origin = f"https://{LOOPBACK}:{port}"
    form = urlencode({"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token.group(1)})
    answer = http_request(
        port,
        "POST",
        "/accounts/login/",
        cookies=jar,
        body=form.encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": f"{origin}/accounts/login/",
        },
    )
    remember_cookies(jar, answer)
    if answer.status != 302:
        raise BenchError(
            f"signing in as {username} answered {answer.status} instead of a redirect; is the demo "
            "account there? (run with --reseed to rebuild the data set)"
        )
    home = http_request(port, "GET", "/", cookies=jar)
    remember_cookies(jar, home)
    if home.status != 200:
        where = home.headers.get("Location", "")
        raise BenchError(f"{username} signed in but / answered {home.status} {where}")
    return jar


# --- Pages ------------------------------------------------------------------------------------------


@dataclass
class PageRun:
    name: str
    persona: str | None
    path: str
    baseline: bool
    goal_ratio: float | None
    goal_ms: float | None
    note: str = ""
    samples: list[float] = field(default_factory=list)  # seconds
    statuses: dict[int, int] = field(default_factory=dict)
    queries: int | None = None
    query_status: int | None = None

    def record(self, status: int, seconds: float | None = None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if seconds is not None:
            self.samples.append(seconds)


def select_pages(table: list[dict], only: list[str], ctx) -> tuple[list[PageRun], list[tuple[str, str]]]:
    from bench.pages import SkipPage

    names = [row["name"] for row in table]
    if len(set(names)) != len(names):
        raise BenchError("bench/pages.py: page names must be unique")
    baselines = [row for row in table if row.get("baseline")]
    if len(baselines) != 1:
        raise BenchError("bench/pages.py: exactly one page must have baseline=True")
    patterns = [p.strip() for chunk in only for p in chunk.split(",") if p.strip()]
    chosen, skipped = [], []
    for row in table:
        wanted = (
            not patterns
            or row.get("baseline")
            or row["name"] == "bare-view"
            or any(_matches(row["name"], p) for p in patterns)
        )
        if not wanted:
            continue
        unknown = set(row) - {"name", "persona", "path", "baseline", "goal_ratio", "goal_ms", "note"}
        if unknown or row.get("persona") not in (None, *PERSONAS):
            raise BenchError(f"bench/pages.py: bad row {row['name']!r} (keys {sorted(unknown)}, persona)")
        try:
            path = row["path"](ctx) if callable(row["path"]) else row["path"]
        except SkipPage as why:
            skipped.append((row["name"], str(why)))
            continue
        chosen.append(
            PageRun(
                name=row["name"],
                persona=row.get("persona"),
                path=path,
                baseline=bool(row.get("baseline")),
                goal_ratio=None if row.get("baseline") else row.get("goal_ratio", DEFAULT_GOAL_RATIO),
                goal_ms=row.get("goal_ms"),
                note=row.get("note", ""),
            )
        )
    from bench.extras import EXTRAS

    extra_names = [getattr(extra, "__name__", "extra") for extra in EXTRAS]
    if patterns and len(chosen) + len(skipped) == 1 and not any(_extra_wanted(n, only) for n in extra_names):
        raise BenchError(f"--only {', '.join(patterns)} matches no page; names: {', '.join(names)}")
    return chosen, skipped


def _matches(name: str, pattern: str) -> bool:
    if any(ch in pattern for ch in "*?["):
        return fnmatch.fnmatch(name, pattern)
    return pattern.lower() in name.lower()


def _extra_wanted(name: str, only: list[str]) -> bool:
    """Extras run in a full run; with --only, those whose function name matches a pattern (- and _ alike)."""
    patterns = [p.strip().replace("-", "_") for chunk in only for p in chunk.split(",") if p.strip()]
    return not patterns or any(_matches(name, p) for p in patterns)


def count_queries(pages: list[PageRun]) -> None:
    """Each page's query count, in-process with the test client against grace_bench (2nd request)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = {u.username: u for u in get_user_model().objects.filter(username__in=PERSONAS)}
    clients: dict = {}
    for page in pages:
        if page.persona not in clients:
            client = Client(raise_request_exception=False, HTTP_HOST=LOOPBACK, HTTP_X_FORWARDED_PROTO="https")
            if page.persona:
                if page.persona not in users:
                    raise BenchError(f"no {page.persona!r} account in {BENCH_DB}; run with --reseed")
                client.force_login(users[page.persona], backend="accounts.throttle.ThrottledModelBackend")
            clients[page.persona] = client
        client = clients[page.persona]
        client.get(page.path)  # the first request fills per-process caches (content types, ...)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(page.path)
        page.queries, page.query_status = len(captured.captured_queries), response.status_code
        say(f"  {page.name}: {page.queries} queries (HTTP {response.status_code})")
    connection.close()


def time_pages(port: int, pages: list[PageRun], sessions: dict, *, warmup: int, requests: int) -> None:
    """Warm-up rounds, then timed rounds; each round requests every page once, starting one further on."""
    total_rounds = warmup + requests
    for round_number in range(total_rounds):
        timed = round_number >= warmup
        shift = round_number % len(pages)
        for page in pages[shift:] + pages[:shift]:
            cookies = sessions.get(page.persona)
            started = time.perf_counter()
            response = http_request(port, "GET", page.path, cookies=cookies)
            elapsed = time.perf_counter() - started
            if cookies is not None:
                remember_cookies(cookies, response)
            page.record(response.status, elapsed if timed else None)
        if timed and (round_number - warmup + 1) % max(1, requests // 10) == 0:
            say(f"  timed round {round_number - warmup + 1}/{requests}")
        elif round_number + 1 == warmup:
            say(f"  {warmup} warm-up rounds done")


# --- Results ----------------------------------------------------------------------------------------


def summarise(pages: list[PageRun]) -> list[dict]:
    baseline = next(page for page in pages if page.baseline)
    base_median = _ms(statistics.median(baseline.samples)) if baseline.samples else None
    base_p95 = _ms(p95(baseline.samples)) if baseline.samples else None
    rows = []
    for page in pages:
        median = _ms(statistics.median(page.samples)) if page.samples else None
        tail = _ms(p95(page.samples)) if page.samples else None
        ratio = median / base_median if median is not None and base_median else None
        ratio_p95 = tail / base_p95 if tail is not None and base_p95 else None
        goal_ok = None
        if page.goal_ratio is not None and ratio is not None:
            goal_ok = ratio <= page.goal_ratio or (page.goal_ms is not None and median <= page.goal_ms)
        rows.append(
            {
                "name": page.name,
                "persona": page.persona or "anonymous",
                "path": page.path,
                "baseline": page.baseline,
                "median_ms": median,
                "p95_ms": tail,
                "ratio_median": ratio,
                "ratio_p95": ratio_p95,
                "queries": page.queries,
                "goal_ratio": page.goal_ratio,
                "goal_ms": page.goal_ms,
                "goal_ok": goal_ok,
                "statuses": {str(k): v for k, v in sorted(page.statuses.items())},
                "query_status": page.query_status,
                "samples": len(page.samples),
                "note": page.note,
            }
        )
    return rows


def p95(samples: list[float]) -> float:
    """95th percentile, linear interpolation between closest ranks (statistics 'inclusive')."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[94]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


BASELINE_OVER_FLOOR = 2.0


def put_section(path: Path, title: str, section: str, *, before: str) -> None:
    """Put ``section`` (it starts with ``title``) in a results file: the previous one taken out, the
    new one placed before the section headed ``before`` when there is one, else at the end; every
    other section stays as it is."""
    text = path.read_text() if path.exists() else ""
    text = re.sub(rf"{re.escape(title)}.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip("\n") + "\n"
    if before in text:
        head, tail = text.split(before, 1)
        text = head.rstrip("\n") + "\n\n" + section + "\n" + before + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def render_markdown(rows: list[dict], params: dict, skipped, extras: list[dict]) -> str:
    def num(value, digits=1, suffix=""):
        return "–" if value is None else f"{value:.{digits}f}{suffix}"

    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/run.py`) on {params['date']}. Pages are timed through gunicorn "
        f"({params['workers']} sync workers) over HTTP on 127.0.0.1, round-robin, after {params['warmup']} "
        "warm-up rounds. Ratios are to the baseline page in the same run; the goal is the page's median "
        "within the ratio shown (see bench/README.md). Queries: one warm request in-process.",
        "",
        "| page | persona | path | median ms | p95 ms | × baseline median | × baseline p95 | queries | goal |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row["baseline"]:
            goal = "baseline"
        elif row["goal_ratio"] is None:
            goal = "–"
        else:
            goal = f"≤ {row['goal_ratio']:g}×" + (f" or < {row['goal_ms']:g} ms" if row["goal_ms"] else "")
            goal += {True: " ✅", False: " ❌ over", None: ""}[row["goal_ok"]]
        bad = [f"HTTP {code}×{n}" for code, n in row["statuses"].items() if code != "200"]
        if row["query_status"] not in (None, 200):
            bad.append(f"in-process HTTP {row['query_status']}")
        if bad:
            goal = "**FAILED: " + ", ".join(bad) + "**"
        path = row["path"].replace("|", "\\|")
        lines.append(
            f"| {row['name']} | {row['persona']} | `{path}` | {num(row['median_ms'])} | {num(row['p95_ms'])} | "
            f"{num(row['ratio_median'], 2, '×')} | {num(row['ratio_p95'], 2, '×')} | {num(row['queries'], 0)} | "
            f"{goal} |"
        )
    notes = [f"- {row['name']}: {row['note']}" for row in rows if row["note"]]
    floor = next((row for row in rows if row["name"] == "bare-view" and row["ratio_median"]), None)
    if floor is not None:
        # What a signed-in page's layout costs over the bare stack: the baseline's goal is within 2x.
        over = 1 / floor["ratio_median"]
        mark = "✅" if over <= BASELINE_OVER_FLOOR else "❌"
        notes.append(f"- baseline ÷ bare view (medians): {over:.2f}× (goal ≤ {BASELINE_OVER_FLOOR:g}×) {mark}")
    notes += [f"- skipped {name}: {why}" for name, why in skipped]
    if notes:
        lines += ["", *notes]
    if extras:
        lines += [
            "",
            "## Other benchmarks",
            "",
            "| what | value | reference | goal |",
            "|---|---:|---:|---|",
        ]
        for extra in extras:
            unit = extra.get("unit", "")
            reference = extra.get("reference")
            goal = extra.get("goal", "–") + {True: " ✅", False: " ❌", None: ""}[extra.get("ok")]
            lines.append(
                f"| {extra['name']} | {num(extra.get('value'), 2)} {unit} | "
                f"{'–' if reference is None else f'{reference:.2f} {unit}'} | {goal} |"
            )
    lines += ["", "## Run", ""]
    lines += [f"- {label}: {params[key]}" for key, label in PARAM_LABELS if params.get(key) not in (None, "")]
    return "\n".join(lines) + "\n"


PARAM_LABELS = [
    ("date", "date (UTC)"),
    ("patients", "patients in the data set"),
    ("audit_rows", "audit events in the trail"),
    ("data_set", "data set"),
    ("requests", "timed requests per page"),
    ("warmup", "warm-up requests per page"),
    ("only", "pages selected with --only"),
    ("cores", "machine cores"),
    ("cpu", "CPU"),
    ("load", "load average (1 min)"),
    ("python", "Python"),
    ("django", "Django"),
    ("postgresql", "PostgreSQL"),
    ("database", "database server"),
    ("gunicorn", "gunicorn"),
    ("duration", "run time"),
]


def machine_cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# --- Main --------------------------------------------------------------------------------------------


def _interrupted(signum, frame):
    raise KeyboardInterrupt


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Time key pages through gunicorn on the benchmark data set.")
    parser.add_argument("--patients", type=int, default=20_000, help="size of the data set (default 20000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up requests per page (default 20)")
    parser.add_argument(
        "--only", action="append", default=[], help="time only pages matching NAME (substring or glob; repeatable)"
    )
    parser.add_argument("--reseed", action="store_true", help="drop and rebuild the benchmark database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use whatever data grace_bench holds, even if it was seeded with another size or older demo code",
    )
    parser.add_argument("--seed-timeout", type=int, default=3600, help="seconds allowed for seeding (default 3600)")
    parser.add_argument("--strict", action="store_true", help="also exit non-zero when a page misses its goal")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument(
        "--reminders",
        type=int,
        default=10_000,
        help="due reminders (and no-op tasks) in the reminder-dispatch extra (default 10000)",
    )
    parser.add_argument(
        "--audit-rows",
        type=int,
        default=None,
        help="audit events the trail holds, appended and chained when fewer (default 1,000,000 for the "
        "20,000-patient set, 50 per patient for a smaller one)",
    )
    parser.add_argument(
        "--database",
        default=BENCH_DB,
        help="benchmark database name: grace_bench (default) or grace_bench_<suffix>, e.g. one per engineer "
        "on a shared server so runs do not reseed each other's data set",
    )
    args = parser.parse_args(argv)
    if not BENCH_DB_NAME.fullmatch(args.database):
        parser.error("--database must be grace_bench or grace_bench_<lowercase letters, digits, _>")
    if args.audit_rows is None:
        args.audit_rows = 1_000_000 if args.patients >= 20_000 else args.patients * 50
    if args.requests < 1 or args.warmup < 0 or not 0 <= args.patients <= 100_000:
        parser.error("--requests must be ≥ 1, --warmup ≥ 0, --patients 0..100000")
    return args


def main(argv=None) -> int:
    global BENCH_DB
    args = parse_args(argv)
    BENCH_DB = args.database
    run_started = time.monotonic()
    # A SIGTERM (e.g. from a CI time limit) unwinds like Ctrl-C, so gunicorn is always stopped.
    signal.signal(signal.SIGTERM, _interrupted)

    broker_url = os.environ.get("CELERY_BROKER_URL", "")  # before the bench settings replace it
    server = locate_server()
    say(f"PostgreSQL: {server.description}; benchmark database {BENCH_DB}")
    db = prepare_database(server, args)
    env = bench_environment(server, allowed_hosts=LOOPBACK)
    run_command("migrate", manage("migrate", "--no-input"), env, MIGRATE_TIMEOUT)

    stored = db["stored"]
    if stored is None and not _has_patients(server):
        say(f"seeding {args.patients} patients (seed {SEED}); the first 20,000-patient run takes a while")
        argv_seed = ["seed_demo", f"--patients={args.patients}", f"--seed={SEED}", "--allow-demo-accounts"]
        seconds = run_command("seed_demo", manage(*argv_seed), env, args.seed_timeout)
        stored = {**db["wanted"], "seeded_at": datetime.now(UTC).isoformat(timespec="seconds"), "seed_s": seconds}
        data_set = f"seeded in this run in {seconds:.0f} s"
    elif stored is None:
        data_set = "reused (--reuse; origin unknown)"
    else:
        data_set = f"reused, seeded {stored.get('seeded_at', '?')} in {stored.get('seed_s', 0):.0f} s"
        if stored.get("patients") != args.patients:
            data_set += f" (--reuse: holds {stored.get('patients')} patients, not {args.patients})"
    say(f"data set: {data_set}")
    if stored is not None:
        store_fingerprint(server, {**stored, "migrations": migration_hashes()})

    run_command("collectstatic", manage("collectstatic", "--no-input", "--verbosity=0"), env, COLLECTSTATIC_TIMEOUT)

    # In-process Django against grace_bench: builds page paths and counts queries.
    os.environ.update(env)
    import django

    django.setup()
    logging.getLogger("axes").setLevel(logging.WARNING)  # force_login's sign-in notices
    from django.db import connection

    from bench.audit_history import ensure_audit_history
    from bench.extras import EXTRAS
    from bench.pages import PAGES, SkipPage
    from patients.models import Patient

    history = ensure_audit_history(args.audit_rows, say)
    connection.close()
    if history["appended"]:
        data_set += f"; {history['appended']:,} audit events appended in this run in {history['seconds']:.0f} s"
    changed = stored is not db["stored"] or bool(history["appended"])
    seconds = refresh_statistics(server, vacuum=changed)
    say(f"{'vacuumed and analysed' if changed else 'analysed'} {BENCH_DB} in {seconds:.0f} s")
    ctx = SimpleNamespace(args=args, broker_url=broker_url, env=dict(env))
    pages, skipped = select_pages(PAGES, args.only, ctx)
    for name, why in skipped:
        say(f"skipping {name}: {why}")
    patients_now = Patient.objects.count()
    connection.close()
    say("counting queries in-process")
    count_queries(pages)

    gunicorn = Gunicorn(bench_environment(server, allowed_hosts=LOOPBACK), workers=args.workers)
    try:
        gunicorn.start()
        sessions = {None: None}
        for persona in sorted({page.persona for page in pages if page.persona}):
            sessions[persona] = sign_in(gunicorn.port, persona)
            say(f"signed in as {persona}")
        say(f"timing {len(pages)} pages: {args.warmup} warm-up + {args.requests} timed requests each")
        load_before = os.getloadavg()[0]
        time_pages(gunicorn.port, pages, sessions, warmup=args.warmup, requests=args.requests)
        load_after = os.getloadavg()[0]
    finally:
        gunicorn.stop()

    extras: list[dict] = []
    failed_extras: list[str] = []
    for extra in EXTRAS:
        name = getattr(extra, "__name__", "extra")
        if not _extra_wanted(name, args.only):
            continue
        try:
            extras.extend(extra(ctx))
        except SkipPage as why:
            skipped.append((name, str(why)))
        except Exception as error:  # noqa: BLE001 - one broken extra must not lose the pages' timings
            skipped.append((name, f"FAILED: {type(error).__name__}: {error}"))
            failed_extras.append(name)

    import gunicorn as gunicorn_package

    rows = summarise(pages)
    params = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "patients": patients_now,
        "audit_rows": f"{history['audit_rows']:,}",
        "data_set": data_set,
        "requests": args.requests,
        "warmup": args.warmup,
        "workers": args.workers,
        "only": ", ".join(args.only),
        "cores": os.cpu_count(),
        "cpu": machine_cpu(),
        "load": f"{load_before:.2f} before timing, {load_after:.2f} after (the bench itself adds about 1-2)",
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgresql": db["server_version"],
        "database": server.description,
        "gunicorn": f"{gunicorn_package.__version__}, {args.workers} sync workers",
        "duration": f"{time.monotonic() - run_started:.0f} s",
    }
    markdown = render_markdown(rows, params, skipped, extras)
    if args.only:
        say("--only run: bench/results.md (the full table) left as it was; see bench/results.json")
    else:
        (BENCH_DIR / "results.md").write_text(markdown)
    (BENCH_DIR / "results.json").write_text(
        json.dumps({"params": params, "pages": rows, "skipped": skipped, "extras": extras}, indent=2) + "\n"
    )
    print()
    print(markdown)

    failed = [row["name"] for row in rows if set(row["statuses"]) != {"200"} or row["query_status"] != 200]
    failed += failed_extras
    if failed:
        say(f"FAILED: {', '.join(failed)} (a page answered other than 200 or an extra raised; see var/bench/)")
        return 1
    missed = [row["name"] for row in rows if row["goal_ok"] is False]
    if missed:
        say(f"over goal: {', '.join(missed)}")
        if args.strict:
            return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        say(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
