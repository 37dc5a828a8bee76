"""FHIR bulk ``$export`` of the whole bench set, and the whole record of the patient with the longest
history, each built here as the export worker builds it, timed, with this process's memory.

    .venv/bin/python bench/fhir_export.py [--database grace_bench] [--types Patient,Observation] [--no-bulk]

It needs a data set bench/run.py seeded (or ``seed_demo`` in a ``grace_bench_<suffix>`` database).
The bulk export is a system-level ``$export`` asked by the demo administrator; the script prints, per
resource type, the resources written and the file's size, then the total time, the resources a
second, and the process's resident memory before and at its largest while it ran: the export streams
a chunk of rows at a time, so the peak should not grow with the data set. The record export is the
chart's "Export the whole record" for the patient with the most appointments, infusions and scores.
Nothing is written to bench/results.md; the figures are printed. The exports' rows stay in the
database (as they would in the clinic); a re-run makes new ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench import run  # noqa: E402 - after the path is set, when run as a script


def say(message: str) -> None:
    print(f"[bench fhir export] {message}", flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="FHIR bulk export and a whole record, timed, with memory.")
    parser.add_argument("--database", default=run.BENCH_DB, help="benchmark database (as bench/run.py)")
    parser.add_argument("--types", default="", help="comma-separated resource types (default: every type)")
    parser.add_argument("--no-bulk", action="store_true", help="time only the whole record of one patient")
    parser.add_argument("--no-record", action="store_true", help="time only the bulk export")
    args = parser.parse_args(argv)
    if not run.BENCH_DB_NAME.fullmatch(args.database):
        parser.error("--database must be grace_bench or grace_bench_<suffix> (lower-case letters, digits, _)")
    return args


def rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


class PeakRss:
    """The process's largest resident memory while the block runs, sampled every 20 ms."""

    def __enter__(self) -> PeakRss:
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())


def bulk(types: list[str]) -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import Sum

    from interop import export_services, selectors
    from interop.models import Export, ExportFile

    admin = get_user_model().objects.get(username="admin")
    names = types or list(selectors.RESOURCE_TYPES)
    export = export_services.bulk_export_request(
        level=Export.Level.SYSTEM,
        resource_types=names,
        since=None,
        by=admin,
        client="bench/fhir_export.py",
        scope="system/*.read",
        request_url="bench",
    )
    before = rss_mib()
    started = time.perf_counter()
    with PeakRss() as memory:
        export = export_services.export_run(export_id=str(export.pk))
    seconds = time.perf_counter() - started
    if export.status != Export.Status.COMPLETED:
        raise run.BenchError(f"the export ended {export.status}: {export.error}")
    files = ExportFile.objects.filter(export=export).order_by("id")
    for f in files:
        say(f"  {f.resource_type:<26} {f.count:>10,} resources {f.size_bytes / 2**20:>9.1f} MiB")
    total = files.aggregate(n=Sum("count"))["n"] or 0
    say(
        f"bulk $export of {export.patient_count:,} patients: {total:,} resources in {seconds:.1f} s "
        f"({total / seconds:,.0f} resources/s, patients audited included); RSS {before:.0f} MiB before, "
        f"at most {memory.peak:.0f} MiB while it ran"
    )


def record() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from assessments.models import InstrumentResponse
    from infusions.models import InfusionSession
    from interop import export_services
    from interop.models import Export, ExportFile
    from patients.models import Patient
    from scheduling.models import Appointment

    admin = get_user_model().objects.get(username="admin")
    # Three grouped counts, not one query joining the three tables (their product, per patient).
    history: Counter[int] = Counter()
    for model in (Appointment, InfusionSession, InstrumentResponse):
        for row in model.objects.values("patient_id").annotate(n=Count("id")).order_by():
            history[row["patient_id"]] += row["n"]
    if not history:
        raise run.BenchError("no patient with a history in the data set")
    patient_id, events = min(history.items(), key=lambda item: (-item[1], item[0]))
    patient = Patient.objects.get(pk=patient_id)
    export = export_services.record_export_request(patient=patient, by=admin)
    started = time.perf_counter()
    export = export_services.export_run(export_id=str(export.pk))
    seconds = time.perf_counter() - started
    if export.status != Export.Status.COMPLETED:
        raise run.BenchError(f"the record export ended {export.status}: {export.error}")
    stored = ExportFile.objects.get(export=export)
    say(
        f"whole record of the longest history (patient id {patient.pk}: {events} appointments, "
        f"infusions and scores): {stored.count:,} FHIR resources, zip {stored.size_bytes / 1024:,.0f} KiB, "
        f"in {seconds:.2f} s"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    run.BENCH_DB = args.database
    server = run.locate_server()
    if not run._has_patients(server):
        raise run.BenchError(f"{args.database} holds no data set; run bench/run.py (make bench) first")
    os.environ.update(run.bench_environment(server, allowed_hosts=run.LOOPBACK))
    import django

    django.setup()
    import interop.tasks  # noqa: F401 - registers the export task, as the worker does

    if not args.no_bulk:
        bulk([t.strip() for t in args.types.split(",") if t.strip()])
    if not args.no_record:
        record()
    return 0


if __name__ == "__main__":
    sys.exit(main())
