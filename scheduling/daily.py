"""Jobs that run once a day at each site's local close of day (the ledger reconcile, say).

A site's day closes when its last opening window of that weekday ends (a day without hours, or a
whole-day closure, closes at ``DAILY_JOBS_CLOSED_DAY_TIME``), in the site's own time zone, so a
site in Los Angeles reconciles three hours after one in New York and the hour moves with daylight
saving time as the clinic's clock does. Jobs run ``DAILY_JOBS_AFTER_CLOSE_MINUTES`` after the close.

Beat ticks :func:`run_due` every few minutes. Each run of a job for a site's local day is claimed by
inserting its :class:`~scheduling.models.DailyJobRun` row in the transaction that runs the job: a
second beat, or a worker running the tick twice, finds the row and runs nothing (exactly once per
site and day), and a job that fails rolls its claim back and is tried again at the next tick. A tick
also runs the day before when it has not run (beat was down across midnight).

Later stages register their jobs here (``register_daily_job``), so scheduling imports none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from scheduling.models import Closure, DailyJobRun, Location, OpeningHours

logger = logging.getLogger(__name__)

DailyJob = Callable[[Location], object]
_JOBS: dict[str, DailyJob] = {}


def register_daily_job(name: str, job: DailyJob) -> DailyJob:
    """``job(location)`` runs once a day for every active site, after that site's close of day."""
    _JOBS[name] = job
    return job


def jobs() -> dict[str, DailyJob]:
    return dict(_JOBS)


def close_of_day(location: Location, day: date) -> datetime:
    """When ``location``'s local ``day`` closes (aware, in the site's zone)."""
    closed = Closure.objects.filter(location=location, starts_on__lte=day, ends_on__gte=day).exists()
    closes = None
    if not closed:
        in_effect = (Q(effective_from__isnull=True) | Q(effective_from__lte=day)) & (
            Q(effective_until__isnull=True) | Q(effective_until__gte=day)
        )
        closes = OpeningHours.objects.filter(in_effect, location=location, weekday=day.weekday()).aggregate(
            last=Max("closes")
        )["last"]
    wall = closes or time.fromisoformat(settings.DAILY_JOBS_CLOSED_DAY_TIME)
    # A wall time the clocks skip (02:30 on the spring-forward night) resolves forward, as clocks do.
    return timezone.make_aware(datetime.combine(day, wall), location.zone)


def due_at(location: Location, day: date) -> datetime:
    return close_of_day(location, day) + timedelta(minutes=settings.DAILY_JOBS_AFTER_CLOSE_MINUTES)


_CLAIM = """
INSERT INTO scheduling_dailyjobrun (job, location_id, local_day, ran_at)
VALUES (%s, %s, %s, %s)
ON CONFLICT (job, location_id, local_day) DO NOTHING
RETURNING id
"""


def _claim(name: str, location: Location, day: date, now: datetime) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [name, location.pk, day, now])
        return cursor.fetchone() is not None


def run_due(now: datetime | None = None) -> list[tuple[str, int, date]]:
    """Run every registered job whose site's day has closed and that has not run for that day.
    Returns what ran: (job, location id, local day)."""
    now = now or timezone.now()
    ran: list[tuple[str, int, date]] = []
    for location in Location.objects.filter(active=True).order_by("pk"):
        today = now.astimezone(location.zone).date()
        for day in (today - timedelta(days=1), today):
            pending = [
                name
                for name in _JOBS
                if not DailyJobRun.objects.filter(job=name, location=location, local_day=day).exists()
            ]
            if not pending or now < due_at(location, day):
                continue
            for name in pending:
                try:
                    with transaction.atomic():
                        # The claim waits for a concurrent tick's uncommitted claim, then finds it.
                        if not _claim(name, location, day, now):
                            continue
                        _JOBS[name](location)
                except Exception:
                    # One site's failure stops neither the other sites nor the other jobs; retried next tick.
                    logger.exception("daily job %s failed for location %s, day %s", name, location.pk, day)
                    continue
                ran.append((name, location.pk, day))
    return ran
