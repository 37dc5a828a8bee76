"""Thin Celery tasks (STYLE 11). Beat ticks the daily jobs every few minutes; each site's run
comes due at its own local close of day (``scheduling.daily``)."""

from __future__ import annotations

from celery import shared_task

from scheduling import daily


@shared_task(name="scheduling.daily.run_due", acks_late=True, soft_time_limit=240, time_limit=300)
def run_daily_jobs() -> int:
    return len(daily.run_due())
