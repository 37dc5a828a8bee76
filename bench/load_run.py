"""`make bench`'s load part: a clinic day's mixed traffic through gunicorn, at 10, 25 and 50 users.

    .venv/bin/python bench/load_run.py [--users 10,25,50] [--seconds 40] [--workers 2] [--database grace_bench]

It needs the benchmark database seeded by bench/run.py (`make bench` runs that first). Steps: start
gunicorn (production-like settings, as bench/run.py) on 127.0.0.1; sign the demo front desk,
clinician and administrator in; pick patients, surnames, locations and sessions from the data set;
then, for each user count, run locust headless (bench/load.py) for a bounded time while sampling
the gunicorn workers' RSS; append a dated section to bench/results.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import run  # noqa: E402 - after the path is set, when run as a script

RESULTS = run.BENCH_DIR / "results.md"
SECTION = "## Load: a clinic day's mixed traffic"
GOAL_RPS, GOAL_P95_MS, GOAL_USERS = 120.0, 150.0, 50


def say(message: str) -> None:
    print(f"[bench load] {message}", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Load the app with a clinic day's mixed traffic (locust).")
    parser.add_argument("--users", default="10,25,50", help="user counts, one locust run each (default 10,25,50)")
    parser.add_argument("--seconds", type=int, default=40, help="measured seconds per user count (default 40)")
    parser.add_argument("--ramp", type=int, default=5, help="seconds to start the users, not measured (default 5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--wait", default="0.5,1.5", help="think time between a user's pages, s (default 0.5,1.5)")
    parser.add_argument("--database", default=run.BENCH_DB, help="benchmark database (as bench/run.py)")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/results.md as it is")
    # The smoke test's route: a database it made itself (never dropped nor seeded here), not grace_bench.
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not run.BENCH_DB_NAME.fullmatch(args.database):
        parser.error("--database must be grace_bench or grace_bench_<suffix> (lower-case letters, digits, _)")
    args.user_counts = [int(n) for n in args.users.split(",") if n.strip()]
    return args


def build_context(cookies: dict) -> dict:
    """What the simulated users request: drawn from the benchmark data set with the ORM."""
    from django.db.models import Count

    from infusions.models import InfusionSession
    from patients.models import Patient
    from scheduling.models import Location

    patients = list(Patient.objects.order_by("?").values_list("pk", flat=True)[:300])
    surnames = list(
        Patient.objects.values("legal_last_name")
        .annotate(n=Count("pk"))
        .order_by("-n", "legal_last_name")
        .values_list("legal_last_name", flat=True)[:60]
    )
    locations = list(Location.objects.order_by("pk").values_list("pk", flat=True))
    if not patients or not locations:
        raise run.BenchError("the benchmark database has no patients or locations; run bench/run.py first")
    board = run_board_path()
    sessions = [
        f"/infusions/sessions/{pk}/"
        for pk in InfusionSession.objects.filter(started_at__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)[:30]
    ]
    from django.utils import timezone

    today = timezone.localdate()
    year = {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat(), "period": "month"}
    reports = [
        f"/reports/{slug}/"
        for slug in ("appointments", "attendance", "utilisation", "conversion", "reminders", "compliance")
    ] + ["/reports/appointments/?" + urlencode(year)]
    return {
        "cookies": cookies,
        "patients": patients,
        "surnames": surnames,
        "locations": locations,
        "board": board,
        "sessions": sessions or [board],
        "reports": reports,
    }


def run_board_path() -> str:
    from bench.pages import infusion_chair_board

    return infusion_chair_board(None)


class RssSampler(threading.Thread):
    """The gunicorn workers' resident memory, sampled every second: the largest seen per worker."""

    def __init__(self, master_pid: int):
        super().__init__(daemon=True)
        self.master_pid = master_pid
        self.peak: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        master = psutil.Process(self.master_pid)
        while not self.stopped.wait(1.0):
            with contextlib.suppress(psutil.Error):
                for worker in master.children():
                    with contextlib.suppress(psutil.Error):
                        rss = worker.memory_info().rss
                        self.peak[worker.pid] = max(self.peak.get(worker.pid, 0), rss)

    def stop(self) -> dict[int, int]:
        self.stopped.set()
        self.join(timeout=5)
        return self.peak


def run_locust(port: int, users: int, args, context_path: Path) -> dict:
    """One locust run at ``users`` users: its final figures (bench/load.py writes them at exit)."""
    out = run.LOG_DIR / f"load-{users}.json"
    out.unlink(missing_ok=True)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(run.BENCH_DIR / "load.py"),
        "--headless",
        "--host",
        f"http://{run.LOOPBACK}:{port}",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1.0, users / max(1, args.ramp))),
        "--run-time",
        f"{args.seconds + args.ramp}s",
        "--reset-stats",  # the ramp is not measured
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = dict(os.environ, GRACE_LOAD_CONTEXT=str(context_path), GRACE_LOAD_WAIT=args.wait, GRACE_LOAD_OUT=str(out))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with (run.LOG_DIR / f"load-{users}.log").open("w") as log:
        process = subprocess.run(  # noqa: S603 - our own interpreter and locustfile
            argv,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=args.seconds + args.ramp + 120,
            check=False,
        )
    # locust exits 1 when any request failed; the failures are in the figures.
    if process.returncode not in (0, 1) or not out.exists():
        raise run.BenchError(f"locust exited {process.returncode}; see var/bench/load-{users}.log")
    return json.loads(out.read_text())


def summarise(figures: dict, users: int, rss: dict[int, int], seconds: float) -> dict:
    pages = sorted(figures["pages"], key=lambda entry: -entry["requests"])
    return {
        "users": users,
        "seconds": seconds,
        "total": figures["total"],
        "pages": pages,
        "rss_mib": sorted((value / 2**20 for value in rss.values()), reverse=True),
    }


def _f(value, digits=0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def render(levels: list[dict], params: dict) -> str:
    lines = [
        f"{SECTION} ({params['date']} UTC)",
        "",
        f"Command: `{params['command']}`. {params['workers']} gunicorn sync workers on {params['cores']} cores,",
        "with locust (the load generator) on the same cores; loopback; production-like settings (bench/run.py).",
        f"Data set: {params['patients']:,} patients. Think time between a user's pages: {params['wait']} s;",
        f"{params['seconds']} s measured per level after a {params['ramp']} s ramp. Users: front desk 4 :",
        "clinician 5 : administrator 1 (bench/load.py); every page is followed by the htmx panels it loads.",
        f"Load average: {params['load']}.",
        "",
        "| users | req/s | p50 ms | p95 ms | p99 ms | requests | failures | worker RSS MiB (peak) |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for level in levels:
        t = level["total"] or {}
        rss = ", ".join(f"{value:.0f}" for value in level["rss_mib"]) or "–"
        lines.append(
            f"| {level['users']} | {_f(t.get('rps'), 1)} | {_f(t.get('p50'))} | {_f(t.get('p95'))} | "
            f"{_f(t.get('p99'))} | {t.get('requests', 0):,} | {t.get('failures', 0)} | {rss} |"
        )
    top = next((level for level in levels if level["users"] == GOAL_USERS), levels[-1] if levels else None)
    if top and top["total"]:
        rps, p95 = top["total"]["rps"] or 0, top["total"]["p95"] or 0
        lines += [
            "",
            f"Goal at {GOAL_USERS} users: ≥ {GOAL_RPS:.0f} req/s {'✅' if rps >= GOAL_RPS else '❌'} "
            f"({rps:.1f}), p95 ≤ {GOAL_P95_MS:.0f} ms {'✅' if p95 <= GOAL_P95_MS else '❌'} ({p95:.0f} ms).",
        ]
    for level in levels:
        lines += [
            "",
            f"Per page at {level['users']} users:",
            "",
            "| page | requests | req/s | p50 ms | p95 ms | p99 ms | failures |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for page in level["pages"]:
            lines.append(
                f"| {page['name']} | {page['requests']:,} | {_f(page['rps'], 1)} | {_f(page['p50'])} | "
                f"{_f(page['p95'])} | {_f(page['p99'])} | {page['failures']} |"
            )
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    """Replace the previous load section of results.md in place, or append it; the sections
    around it (the page table, the cluster's figures, the notes) stay."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    previous = re.compile(rf"{re.escape(SECTION)}.*?(?=\n## |\Z)", re.S)
    if previous.search(text):
        text = previous.sub(lambda _match: section.rstrip("\n") + "\n", text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + section
    RESULTS.write_text(text)


def main(argv=None) -> int:
    args = parse_args(argv)
    run.BENCH_DB = args.database
    signal.signal(signal.SIGTERM, run._interrupted)
    if args.database_url:
        server = run.DbServer({}, args.database_url, "given")
    else:
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

    from patients.models import Patient

    patients = Patient.objects.count()
    connection.close()
    gunicorn = run.Gunicorn(env, workers=args.workers)
    levels: list[dict] = []
    loads: list[str] = []
    try:
        gunicorn.start()
        cookies = {persona: run.sign_in(gunicorn.port, persona) for persona in run.PERSONAS}
        context = build_context(cookies)
        connection.close()
        context_path = run.LOG_DIR / "load-context.json"
        context_path.write_text(json.dumps(context))
        for users in args.user_counts:
            say(f"{users} users: {args.ramp} s ramp + {args.seconds} s measured")
            before = os.getloadavg()[0]
            sampler = RssSampler(gunicorn.process.pid)
            sampler.start()
            figures = run_locust(gunicorn.port, users, args, context_path)
            level = summarise(figures, users, sampler.stop(), args.seconds)
            loads.append(f"{users} users {before:.2f}→{os.getloadavg()[0]:.2f}")
            levels.append(level)
            t = level["total"] or {}
            say(
                f"{users} users: {_f(t.get('rps'), 1)} req/s, p50 {_f(t.get('p50'))} ms, p95 {_f(t.get('p95'))} ms, "
                f"p99 {_f(t.get('p99'))} ms, {t.get('failures', 0)} failures of {t.get('requests', 0)}"
            )
    finally:
        gunicorn.stop()
    params = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "command": "bench/load_run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "workers": args.workers,
        "cores": os.cpu_count(),
        "patients": patients,
        "wait": args.wait.replace(",", "–"),
        "seconds": args.seconds,
        "ramp": args.ramp,
        "load": "; ".join(loads) + " (1-minute averages before → after each level)",
    }
    section = render(levels, params)
    print()
    print(section)
    if not args.no_results:
        write_results(section)
    failures = sum((level["total"] or {}).get("failures", 0) for level in levels)
    if failures:
        say(f"{failures} requests failed (see var/bench/load-<users>.log)")
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except run.BenchError as error:
        say(f"error: {error}")
        sys.exit(1)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
