"""`make bench`'s export part: each heavy export through gunicorn started as in production, and the
web workers' memory after it.

    .venv/bin/python bench/export_rss.py [--database grace_bench] [--workers 3] [--no-results]

It needs the data set bench/run.py seeded (the audit trail included). gunicorn starts with the
README's production options (sync workers, ``--timeout 60 --max-requests 500
--max-requests-jitter 50``) and the bench's production-like settings, on 127.0.0.1; the
administrator signs in and asks for each export in turn (the ledger's PDFs and CSVs, a report's CSV
over a year, the audit trail's CSV). After each answer every web worker's RSS is read (psutil):
the goal is at most 150 MiB for every worker after every export. A long export answers with its
status page (the documents worker writes it); the broker is in memory here, so this script then
plays the documents worker itself, in its own process, and times each background export to its
end (with that process's RSS, the figure CELERY_WORKER_MAX_MEMORY_PER_CHILD bounds). The section is
written to bench/results.md (before the load section when there is one). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import run  # noqa: E402 - after the path is set, when run as a script

RESULTS = run.BENCH_DIR / "results.md"
SECTION = "## Heavy exports and the web workers' memory"
LOAD_SECTION = "## Load: a clinic day's mixed traffic"
GOAL_RSS_MIB = 150.0
# The README's production command (web), bound to loopback.
PRODUCTION_OPTIONS = ["--timeout=60", "--max-requests=500", "--max-requests-jitter=50", "--worker-class=sync"]


def say(message: str) -> None:
    print(f"[bench exports] {message}", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Each heavy export through gunicorn, and the web workers' RSS.")
    parser.add_argument("--database", default=run.BENCH_DB, help="benchmark database (as bench/run.py)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (default 3, as the README)")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/results.md as it is")
    parser.add_argument(
        "--play-max-rows",
        type=int,
        default=200_000,
        help="play the worker only for background exports of at most this many rows (default 200000; "
        "the whole audit trail's CSV takes minutes); 0: all",
    )
    args = parser.parse_args(argv)
    if not run.BENCH_DB_NAME.fullmatch(args.database):
        parser.error("--database must be grace_bench or grace_bench_<suffix> (lower-case letters, digits, _)")
    return args


def exports(today) -> list[tuple[str, str]]:
    """(what, path) of every heavy export, each as the administrator asks for it."""

    def since(days: int) -> dict:
        return {"start": (today - timedelta(days=days)).isoformat(), "end": today.isoformat()}

    dispensing = "/controlled-substances/reports/dispensing/"
    year = {**since(364), "period": "month"}
    return [
        ("ledger: dispensing log PDF, 30 days", f"{dispensing}?format=pdf"),
        ("ledger: dispensing log PDF, a year", f"{dispensing}?{urlencode({**since(365), 'format': 'pdf'})}"),
        ("ledger: dispensing log CSV, three years", f"{dispensing}?{urlencode({**since(3 * 365), 'format': 'csv'})}"),
        (
            "ledger: waste log CSV, three years",
            f"/controlled-substances/reports/waste/?{urlencode({**since(3 * 365), 'format': 'csv'})}",
        ),
        ("ledger: balances CSV", "/controlled-substances/reports/balances/?format=csv"),
        ("report: appointments CSV, a year by month", f"/reports/appointments/?{urlencode({**year, 'format': 'csv'})}"),
        (
            "report: attendance CSV, a year",
            f"/reports/attendance/?{urlencode({**since(364), 'format': 'csv', 'table': 'attendance-type'})}",
        ),
        ("audit trail CSV, last 30 days", f"/accounts/audit/?date_from={since(30)['start']}&format=csv"),
        ("audit trail CSV, all of it", "/accounts/audit/?sort=-at&format=csv"),
    ]


def start_gunicorn(env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    run.LOG_DIR.mkdir(parents=True, exist_ok=True)
    port = run.free_port()
    log = (run.LOG_DIR / "gunicorn-exports.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and WSGI module
        [
            sys.executable,
            "-m",
            "gunicorn",
            "grace_mindcare.wsgi",
            f"--bind={run.LOOPBACK}:{port}",
            f"--workers={workers}",
            *PRODUCTION_OPTIONS,
            "--graceful-timeout=10",
            "--no-control-socket",
            "--log-level=warning",
            "--error-logfile=-",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + run.SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise run.BenchError("gunicorn exited while starting; see var/bench/gunicorn-exports.log")
        with contextlib.suppress(OSError):
            if run.http_request(port, "GET", "/accounts/login/", timeout=5).status == 200:
                return process, port
        time.sleep(0.3)
    run._kill_group(process)
    raise run.BenchError("gunicorn did not answer in time; see var/bench/gunicorn-exports.log")


def workers_rss_mib(master_pid: int) -> dict[int, float]:
    import psutil

    rss: dict[int, float] = {}
    with contextlib.suppress(psutil.Error):
        for worker in psutil.Process(master_pid).children():
            with contextlib.suppress(psutil.Error):
                rss[worker.pid] = worker.memory_info().rss / 2**20
    return rss


def self_rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def answer_of(response) -> tuple[str, int | None]:
    """How the request answered: the file inline, or a status page (and the document's id)."""
    location = response.headers.get("Location", "")
    found = re.search(r"/documents/(\d+)/status/", location)
    if response.status == 302 and found:
        return "background (status page)", int(found.group(1))
    if response.status == 200:
        kind = response.headers.get("Content-Type", "").split(";")[0]
        return f"inline {kind}, {len(response.body) / 1024:,.0f} KiB", None
    return f"HTTP {response.status} {location}".strip(), None


def play_worker(document_id: int) -> dict:
    """Write or render one background export here (as the documents worker would), timed."""
    from documents import services
    from documents.models import Document, DocumentKind

    kind = Document.objects.filter(pk=document_id).values_list("kind", flat=True).first()
    started = time.perf_counter()
    if kind == DocumentKind.DATA_EXPORT:
        document = services.data_export_run(document_id=document_id)
    else:
        document = services.document_render(document_id=document_id)
    return {
        "seconds": time.perf_counter() - started,
        "rows": document.rows_total if document.rows_total is not None else (document.snapshot or {}).get("rows"),
        "size_kib": (document.size_bytes or 0) / 1024,
        "rss_mib": self_rss_mib(),
    }


def _playable(document_id: int, max_rows: int) -> bool:
    """Whether to write this export here: a data export reading more than ``max_rows`` is left."""
    if not max_rows:
        return True
    from documents import registry
    from documents.models import Document, DocumentKind

    document = Document.objects.get(pk=document_id)
    if document.kind != DocumentKind.DATA_EXPORT:
        return True
    entry = registry.export(document.snapshot.get("export"))
    return entry is not None and entry.count(document.snapshot.get("params") or {}, max_rows) <= max_rows


def render(rows: list[dict], params: dict) -> str:
    lines = [
        f"{SECTION} ({params['date']} UTC)",
        "",
        f"Command: `{params['command']}`. gunicorn as the README's production command ({params['workers']} sync "
        "workers, `--timeout 60 --max-requests 500 --max-requests-jitter 50`), production-like settings",
        f"(bench/run.py), loopback; {params['patients']:,} patients, {params['audit']:,} audit events. The web",
        "workers' RSS (psutil) is read after each answer; a background export is then written by this script",
        "playing the documents worker (its process's RSS is what `CELERY_WORKER_MAX_MEMORY_PER_CHILD` bounds;",
        f"exports reading more than {params['play_max']:,} rows are not played, `–`).",
        f"Load average (1 min): {params['load']}.",
        "",
        "| export | answer | request ms | web workers' RSS after, MiB | worker: s | worker: rows | worker RSS MiB |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for row in rows:
        rss = ", ".join(f"{value:.0f}" for value in sorted(row["rss"].values(), reverse=True))
        worker = row.get("worker") or {}
        seconds = f"{worker['seconds']:,.1f}" if worker else "–"
        written = f"{worker['rows']:,}" if worker.get("rows") is not None else "–"
        worker_rss = f"{worker['rss_mib']:.0f}" if worker else "–"
        lines.append(
            f"| {row['what']} | {row['answer']} | {row['ms']:,.0f} | {rss} | {seconds} | {written} | {worker_rss} |"
        )
    peak = max((max(row["rss"].values(), default=0) for row in rows), default=0)
    lines += [
        "",
        f"Goal: every web worker ≤ {GOAL_RSS_MIB:.0f} MiB after any export "
        f"{'✅' if peak <= GOAL_RSS_MIB else '❌'} (largest seen {peak:.0f} MiB).",
    ]
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    """Put the section in results.md: replacing the previous one, before the load section if any."""
    run.put_section(RESULTS, SECTION, section, before=LOAD_SECTION)


def main(argv=None) -> int:
    args = parse_args(argv)
    run.BENCH_DB = args.database
    signal.signal(signal.SIGTERM, run._interrupted)
    server = run.locate_server()
    if not run._has_patients(server):
        raise run.BenchError(f"{args.database} holds no data set; run bench/run.py (make bench) first")
    env = run.bench_environment(server, allowed_hosts=run.LOOPBACK)
    if not (BASE_DIR / "var" / "staticfiles" / "staticfiles.json").exists():
        run.run_command("collectstatic", run.manage("collectstatic", "--no-input", "--verbosity=0"), env, 600)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from accounts.models import AuditEvent
    from patients.models import Patient

    patients, audit = Patient.objects.count(), AuditEvent.objects.count()
    connection.close()
    load_before = os.getloadavg()[0]
    process, port = start_gunicorn(env, args.workers)
    rows: list[dict] = []
    try:
        say(f"gunicorn ({args.workers} sync workers, production options) on http://{run.LOOPBACK}:{port}")
        cookies = run.sign_in(port, "admin")
        say(f"web workers after sign-in: {workers_rss_mib(process.pid)} MiB")
        for what, path in exports(timezone.localdate()):
            started = time.perf_counter()
            response = run.http_request(port, "GET", path, cookies=cookies, timeout=120)
            elapsed = (time.perf_counter() - started) * 1000
            answer, document_id = answer_of(response)
            time.sleep(0.5)  # the worker is back in its accept loop
            rows.append(
                {"what": what, "answer": answer, "ms": elapsed, "rss": workers_rss_mib(process.pid), "doc": document_id}
            )
            say(f"{what}: {answer} in {elapsed:,.0f} ms; web workers {rows[-1]['rss']} MiB")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            run._kill_group(process)
    for row in rows:
        if row["doc"] is not None and _playable(row["doc"], args.play_max_rows):
            row["worker"] = play_worker(row["doc"])
            say(f"worker: {row['what']} in {row['worker']['seconds']:.1f} s, RSS {row['worker']['rss_mib']:.0f} MiB")
    connection.close()
    params = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "command": "bench/export_rss.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "workers": args.workers,
        "patients": patients,
        "audit": audit,
        "play_max": args.play_max_rows,
        "load": f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
    }
    section = render(rows, params)
    print()
    print(section)
    if not args.no_results:
        write_results(section)
    return 0 if all(max(row["rss"].values(), default=0) <= GOAL_RSS_MIB for row in rows) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except run.BenchError as error:
        say(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
