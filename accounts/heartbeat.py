"""Heartbeats of the Celery worker and beat, for ``/healthz``.

The worker runs ``accounts.heartbeat.worker`` (sent by beat every 30 s), so its stamp also shows
that tasks get from beat through the broker to a worker. Beat stamps its own row whenever it sends a
task (``before_task_publish`` in the beat process only), so a beat that stopped, or a second beat
left waiting for the lock, shows as stale while the worker may still look fresh.
"""

from __future__ import annotations

import time
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Heartbeat

WORKER = "worker"
BEAT = "beat"
# Beat sends several tasks a minute; one write every few seconds is plenty.
_BEAT_WRITE_SECONDS = 5.0
_last_beat_write = [0.0]

_UPSERT = """
INSERT INTO accounts_heartbeat (name, at) VALUES (%s, %s)
ON CONFLICT (name) DO UPDATE SET at = EXCLUDED.at
"""


def stamp(name: str, now: datetime | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [name, now or timezone.now()])


def stamp_beat(**kwargs) -> None:
    """``before_task_publish`` receiver, connected in the beat process only (grace_mindcare.celery)."""
    if time.monotonic() - _last_beat_write[0] >= _BEAT_WRITE_SECONDS:
        stamp(BEAT)
        _last_beat_write[0] = time.monotonic()


def ages(now: datetime | None = None) -> dict[str, float | None]:
    """Seconds since each process's last stamp (None: never seen)."""
    now = now or timezone.now()
    seen = dict(Heartbeat.objects.filter(name__in=(WORKER, BEAT)).values_list("name", "at"))
    return {name: (now - seen[name]).total_seconds() if name in seen else None for name in (WORKER, BEAT)}


def fresh(age: float | None) -> bool:
    return age is not None and age <= settings.HEARTBEAT_STALE_SECONDS
