"""Where a page's time goes: in-process, against the benchmark database `make bench` seeded.

For each page of bench/pages.py named with ``--only`` (the baseline and the bare view always come
too), the Django test client requests it ``--requests`` times after a few warm-up requests and
splits each request's time into what PostgreSQL took (every statement timed through
``connection.execute_wrapper``, round trip included), template rendering (Django's
``Template.render``, timed by a wrapper) and the rest of the Python; then a cProfile of the same
requests names the project's own functions that took the most. It prints a Markdown table for
bench/results.md and leaves the database as it found it (but for the audit events the pages write).

    .venv/bin/python bench/profile_pages.py --only home-frontdesk --only patient-chart
    DATABASE_URL=postgres://…/postgres .venv/bin/python bench/profile_pages.py --only followups-worklist

This is a profile, not a timing: it runs without gunicorn, HTTP or other requests in between, so
its milliseconds are lower than the page timings'; what it gives is each page's proportions.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import run  # noqa: E402 - after the path is set, when run as a script

# The project's own code, as cProfile names its files (the apps, not the virtualenv's packages).
PROJECT = str(BASE_DIR) + os.sep
SKIP = ("site-packages", f"{os.sep}bench{os.sep}", "middleware.py", f"accounts{os.sep}audit.py:")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Where each page's time goes, in-process.")
    parser.add_argument("--only", action="append", default=[], help="pages to profile (as bench/run.py --only)")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page (default 60)")
    parser.add_argument("--top", type=int, default=4, help="project functions named per page (default 4)")
    parser.add_argument("--database", default=run.BENCH_DB, help="benchmark database (default grace_bench)")
    args = parser.parse_args(argv)
    if not args.only:
        parser.error("name the pages with --only (a full profile of every page takes long)")
    return args


class Clock:
    """Seconds spent in SQL and in template rendering during the current request."""

    def __init__(self):
        self.sql = 0.0
        self.statements = 0
        self.templates = 0.0
        self._depth = 0

    def reset(self) -> None:
        self.sql, self.statements, self.templates = 0.0, 0, 0.0

    def execute(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sql += time.perf_counter() - started
            self.statements += 1

    @contextmanager
    def timing_templates(self):
        from django.template.base import Template

        original = Template.render
        clock = self

        def render(template, context):
            clock._depth += 1
            started = time.perf_counter()
            try:
                return original(template, context)
            finally:
                clock._depth -= 1
                if clock._depth == 0:  # an included template is part of its parent's time
                    clock.templates += time.perf_counter() - started

        Template.render = render
        try:
            yield
        finally:
            Template.render = original


def _top_functions(profile: cProfile.Profile, count: int, requests: int) -> str:
    """The project's functions with the most cumulative time, outermost views left out."""
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    found = []
    for (filename, line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        where = f"{filename}:{line}"
        if not filename.startswith(PROJECT) or any(skip in where for skip in SKIP):
            continue
        found.append((cumulative, f"{Path(filename).relative_to(BASE_DIR)}:{name}"))
    found.sort(reverse=True)
    return "; ".join(f"`{name}` {seconds / requests * 1000:.1f}" for seconds, name in found[1 : count + 1])


def profile(page, client, clock: Clock, args) -> dict:
    from django.db import connection

    for _ in range(5):
        client.get(page.path)
    walls, cpus, sqls, templates, statements = [], [], [], [], []
    with connection.execute_wrapper(clock.execute), clock.timing_templates():
        for _ in range(args.requests):
            clock.reset()
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(page.path)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            sqls.append(clock.sql)
            templates.append(clock.templates)
            statements.append(clock.statements)
            if response.status_code != 200:
                raise run.BenchError(f"{page.name} answered {response.status_code}")
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(20):
            client.get(page.path)
        profiler.disable()
    median = statistics.median
    return {
        "name": page.name,
        "wall": median(walls) * 1000,
        "sql": median(sqls) * 1000,
        "statements": max(statements),
        "templates": median(templates) * 1000,
        # The Python outside templates: what is left of the request once SQL and rendering are out.
        "python": max(0.0, (median(walls) - median(sqls) - median(templates)) * 1000),
        "top": _top_functions(profiler, args.top, 20),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    run.BENCH_DB = args.database
    server = run.locate_server()
    os.environ.update(run.bench_environment(server, allowed_hosts=run.LOOPBACK))
    import django

    django.setup()
    logging.disable(logging.CRITICAL)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.pages import PAGES

    pages, skipped = run.select_pages(PAGES, args.only, None)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=run.PERSONAS)}
    clients: dict = {}
    clock = Clock()
    rows = []
    for page in pages:
        if page.persona not in clients:
            client = Client(raise_request_exception=False, HTTP_HOST=run.LOOPBACK, HTTP_X_FORWARDED_PROTO="https")
            if page.persona:
                client.force_login(users[page.persona], backend="accounts.throttle.ThrottledModelBackend")
            clients[page.persona] = client
        rows.append(profile(page, clients[page.persona], clock, args))
        run.say(f"{page.name}: {rows[-1]['wall']:.1f} ms")
    print()
    print("| page | in-process ms | SQL ms (statements) | templates ms | other Python ms | most time (ms a request) |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row['name']} | {row['wall']:.1f} | {row['sql']:.1f} ({row['statements']}) | {row['templates']:.1f} "
            f"| {row['python']:.1f} | {row['top']} |"
        )
    for name, why in skipped:
        print(f"- skipped {name}: {why}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except run.BenchError as error:
        run.say(f"error: {error}")
        sys.exit(1)
