"""Audited chart reads per second with 1, 4 and 16 concurrent writers, each at its own site.

Every audited read is one append to the audit trail (``accounts.audit.record_read``, one statement
in autocommit, as a chart view writes it). Each writer is a thread with its own database connection,
bound to its own site the way a request is (the site chosen on the calendar). With one chain-wide
chain every writer waits for the previous writer's commit on the one head row; with a chain per site
the writers of different sites never meet.

    DATABASE_URL=postgres://.../grace_mine .venv/bin/python bench/audit_writers.py --seconds 10

Run it against a database of your own (it appends rows to that trail, which stays verifiable);
it prints the cores and the load average next to the figures, since the machine sets the ceiling.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grace_mindcare.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from accounts import audit, context  # noqa: E402
from accounts.models import User  # noqa: E402
from core.audit import Category  # noqa: E402


def _context(site: int) -> context.RequestContext:
    # A main without per-site chains has no location in the context: every writer joins the one chain.
    fields = {f.name for f in dataclasses.fields(context.RequestContext)}
    extra = {"location_id": site} if "location_id" in fields else {}
    return context.RequestContext(request_id=f"bench-{site}", **extra)


def run(writers: int, seconds: float, actor: User) -> float:
    patient = SimpleNamespace(pk=1, mrn="BENCH-0001")
    counts = [0] * writers
    start = threading.Barrier(writers + 1)
    stop = threading.Event()

    def writer(n: int) -> None:
        token = context.bind(_context(n + 1))
        try:
            start.wait()
            while not stop.is_set():
                audit.record_read(
                    actor=actor, action="bench.chart.viewed", target=actor, patient=patient, category=Category.CLINICAL
                )
                counts[n] += 1
        finally:
            context.reset(token)
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    args = parser.parse_args()
    actor, _ = User.objects.get_or_create(username="bench-audit-writer")
    print(f"cores: {os.cpu_count()}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for writers in args.writers:
        rate = run(writers, args.seconds, actor)
        print(f"{writers:>3} writers: {rate:8.0f} audited reads/s (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
