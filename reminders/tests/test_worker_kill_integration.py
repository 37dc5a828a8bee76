"""F1: a real ``celery worker`` on a real Redis, SIGKILLed at random points, restarted; each reminder once.

Skipped (with a notice) when Redis at 127.0.0.1:6379 is unreachable, except under CI=true where it
must run. Uses its own Redis database number and a unique queue name so it cannot disturb
anything else on that Redis. Prints the figures (cycles, missing, duplicates, re-claims).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from grace_mindcare.celery import app
from reminders import tasks
from reminders.models import Reminder, ReminderStatus
from reminders.services import dispatch
from reminders.tests.conftest import due_reminders, make_rule, opted_patient
from scheduling.tests.factories import AppointmentFactory, appointment_type
from tests.subprocess_env import database_env

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 13
BROKER = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
K = 60
CYCLES = 20
ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _redis_up() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_broker():
    if not _redis_up():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Redis is not reachable at 127.0.0.1:6379")
        pytest.skip("Redis not reachable at 127.0.0.1:6379: worker kill/restart test skipped")
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    client.flushdb()
    yield client
    client.flushdb()


def _worker_env(outbox: Path) -> dict[str, str]:
    return database_env(
        CELERY_BROKER_URL=BROKER,
        SMS_BACKEND="notifications.backends.FileSmsBackend",
        TEST_SMS_FILE_PATH=str(outbox),  # settings_test puts the outbox per test worker otherwise
    )


def _start_worker(env, queue):
    return subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "grace_mindcare",
            "worker",
            "-c",
            "2",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "WARNING",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(proc, sig=signal.SIGKILL):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(timeout=30)


def _dispatch_and_enqueue(queue, *, now):
    claimed = dispatch.reminders_dispatch(now=now).claimed
    with app.connection_for_write(BROKER) as conn:
        tasks.enqueue_sends(claimed, queue=queue, connection=conn)  # as the dispatcher task: batch send tasks
    return claimed


@pytest.mark.timeout(900)  # 20 kill/restart cycles of a real worker: minutes on a loaded 2-core machine
def test_killing_the_worker_at_random_points_loses_and_duplicates_nothing(redis_broker, tmp_path, monkeypatch):
    # Small batches (the real batch task, fewer ids each) so that K reminders make many tasks and a
    # kill lands between batches as well as inside one.
    monkeypatch.setattr(tasks, "SEND_BATCH", 5)
    rng = random.Random(int(os.environ.get("KILL_TEST_SEED", "8")))
    outbox = tmp_path / "sms"
    queue = f"reminders-test-{uuid.uuid4().hex[:8]}"
    env = _worker_env(outbox)
    consultation = appointment_type("consultation")
    rule = make_rule(types=[consultation], hours=24, email=False)
    now = timezone.now()
    visits = []
    for i in range(K):
        start = now + timedelta(days=3, hours=i)
        visits.append(
            AppointmentFactory(patient=opted_patient(email=False), start=start, end=start + timedelta(hours=1))
        )
    rows = due_reminders(rule, visits, key="itest")
    reclaimed = 0
    kills_mid_run = 0
    try:
        for cycle in range(CYCLES):
            # Each cycle stands for a dispatcher tick long enough after the last that rows a killed
            # worker left in "sending" count as stuck and are claimed again.
            sending_before = Reminder.objects.filter(status=ReminderStatus.SENDING).count()
            later = timezone.now() + dispatch.STUCK_SENDING * (cycle + 1) + timedelta(minutes=1)
            _dispatch_and_enqueue(queue, now=later)
            reclaimed += sending_before if cycle else 0
            sent_before = Reminder.objects.filter(status=ReminderStatus.SENT).count()
            delivered_before = len(list(outbox.glob("*.json"))) if outbox.exists() else 0
            worker = _start_worker(env, queue)
            # Kill mid-run: once the worker is seen sending (a message in the outbox, or a row marked
            # sent: a batch marks its rows at its end), at a random moment soon after.
            wait_until = time.monotonic() + 10
            while time.monotonic() < wait_until:
                if Reminder.objects.filter(status=ReminderStatus.SENT).count() > sent_before:
                    break
                if outbox.exists() and len(list(outbox.glob("*.json"))) > delivered_before:
                    break
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 0.15))
            _kill(worker)
            kills_mid_run += Reminder.objects.exclude(status=ReminderStatus.SENT).exists()
        worker = _start_worker(env, queue)
        deadline = time.monotonic() + 60
        tick = CYCLES + 1
        while time.monotonic() < deadline:
            left = Reminder.objects.exclude(status=ReminderStatus.SENT).count()
            if not left:
                break
            time.sleep(1.5)
            tick += 1
            _dispatch_and_enqueue(queue, now=timezone.now() + dispatch.STUCK_SENDING * tick)
        _kill(worker, signal.SIGTERM)
    finally:
        for proc in [p for p in [locals().get("worker")] if p and p.poll() is None]:
            _kill(proc)
    files = list(outbox.glob("*.json")) if outbox.exists() else []
    keys = [json.loads(f.read_text())["idempotency_key"] for f in files]
    missing = {r.idempotency_key for r in rows} - set(keys)
    duplicates = len(keys) - len(set(keys))
    statuses = dict.fromkeys(ReminderStatus.values, 0)
    for status in Reminder.objects.values_list("status", flat=True):
        statuses[status] += 1
    print(
        f"\nF1 kill/restart: K={K} cycles={CYCLES} delivered={len(set(keys))} missing={len(missing)} "
        f"duplicates={duplicates} kills_with_work_left={kills_mid_run} re_claims={reclaimed} statuses={statuses}"
    )
    assert not missing
    assert duplicates == 0
    assert statuses[ReminderStatus.SENT] == K
