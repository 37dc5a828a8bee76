"""`make bench` extra: dispatch N due reminders through the real broker to the file backend.

Next to it, in the same run, the same number of no-op Celery tasks through the same broker and the
same kind of worker: the goal is reminders/second ≥ half the no-op rate.

- Broker: Redis when CELERY_BROKER_URL (as given to `make bench`) points at Redis, else the
  file-system broker `make run` uses (var/broker). A private queue name keeps a running `make run`
  worker from taking the benchmark's tasks, and the worker is the benchmark's own.
- Worker: `celery -A grace_mindcare worker -Q <queue> -c 2 --prefetch-multiplier 1` (the
  Procfile's concurrency, acks late), with the bench settings against the benchmark database and
  SMS_FILE_PATH in var/bench/outbox/<queue>/.
- Reminders: N pending SMS reminder rows due now for future visits of patients who opted in to
  SMS (one benchmark rule per N/visits), claimed by the real dispatcher service in batches of
  DISPATCH_BATCH and enqueued through the dispatcher task's own ``tasks.enqueue_sends``: one send
  task per SEND_BATCH (50) reminders, which runs the real batch send: re-read, claim and link
  tokens, file backend, then contact log and audit. Timed from the first claim until every row is
  `sent`.
- No-op: N `bench.noop` tasks published, one per reminder, timed until the worker has logged N
  successes. The reference is thus one no-op task per reminder, while the reminders go in batches
  of SEND_BATCH per task: the comparison is per reminder, the unit the goal is about.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "bench"
DEFAULT_COUNT = 10_000
WORKER_CONCURRENCY = 2
READY_TIMEOUT = 120
RUN_TIMEOUT = 15 * 60


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def _broker(original: str) -> tuple[str, dict, str]:
    """(URL, transport options, label): Redis when the caller's broker is Redis, else the file system."""
    from django.conf import settings

    if original.startswith(("redis://", "rediss://")):
        return original, {"visibility_timeout": 3600}, "Redis"
    options = settings.FILESYSTEM_BROKER_OPTIONS
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        Path(options[key]).mkdir(parents=True, exist_ok=True)
    return "filesystem://", dict(options), "file-system broker"


class Worker:
    """The benchmark's own celery worker on a private queue; always stopped."""

    def __init__(self, env: dict, queue: str, log_path: Path):
        self.env, self.queue, self.log_path = env, queue, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "grace_mindcare",
                "worker",
                "-I",
                "bench.tasks",
                "-Q",
                self.queue,
                f"--concurrency={WORKER_CONCURRENCY}",
                "--prefetch-multiplier=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname=bench-{self.queue}@%h",
            ],
            cwd=BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the celery worker exited while starting; see {self.log_path}")
            if " ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.3)
        raise RuntimeError(f"the celery worker did not start within {READY_TIMEOUT} s; see {self.log_path}")

    def succeeded(self, task_name: str) -> int:
        pattern = re.compile(rf"Task {re.escape(task_name)}\[[^\]]+\] succeeded")
        return len(pattern.findall(self.log_path.read_text(errors="replace")))

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _make_due_reminders(count: int, tag: str) -> list[int]:
    """``count`` pending SMS reminders due now, for active future visits of SMS-opted-in patients."""
    from django.utils import timezone

    from bench.pages import SkipPage
    from reminders.models import Reminder, ReminderRule
    from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentType

    now = timezone.now()
    visits = list(
        Appointment.objects.filter(
            status__in=ACTIVE_STATUSES,
            start__gt=now + timedelta(hours=2),
            patient__sms_opt_in=True,
            patient__phone__isnull=False,
        )
        .exclude(patient__phone="")
        .order_by("start", "id")
        .values_list("pk", "start")[:count]
    )
    if not visits:
        raise SkipPage("no future visits of SMS-opted-in patients in the benchmark database")
    rules_needed = -(-count // len(visits))
    types = list(AppointmentType.objects.all())
    rows = []
    for r in range(rules_needed):
        rule = ReminderRule.objects.create(
            name=f"bench {tag} {r}",
            kind="appointment_reminder",
            send_sms=True,
            send_email=False,
            offset_mode="hours_before",
            hours_before=24,
            text="{clinic}: your appointment on {date} at {time} at {location}. Confirm or cancel: {link}",
            active=False,  # never applied to real bookings
        )
        rule.appointment_types.set(types)
        for pk, start in visits:
            if len(rows) == count:
                break
            rows.append(
                Reminder(
                    appointment_id=pk,
                    rule=rule,
                    kind="appointment_reminder",
                    channel="sms",
                    idempotency_key=f"bench-{tag}-{len(rows)}",
                    appointment_start=start,
                    due_at=now - timedelta(seconds=1),
                )
            )
    Reminder.objects.bulk_create(rows, batch_size=2000)
    return list(Reminder.objects.filter(idempotency_key__startswith=f"bench-{tag}-").values_list("pk", flat=True))


def _wait(done, total: int, label: str) -> tuple[float, int]:
    """(end time, how many done): all of them, or as many as were done when RUN_TIMEOUT ran out."""
    started = time.monotonic()
    last_said = started
    while True:
        n = done()
        if n >= total:
            return time.monotonic(), n
        now = time.monotonic()
        if now - started > RUN_TIMEOUT:
            say(f"  {label}: only {n}/{total} done after {RUN_TIMEOUT} s; the rate is over those")
            return now, n
        if now - last_said > 15:
            say(f"  {label}: {n}/{total}")
            last_said = now
        time.sleep(0.2)


def reminder_dispatch(ctx) -> list[dict]:
    from kombu import Connection

    from bench import tasks as bench_tasks
    from reminders import tasks
    from reminders.models import Reminder, ReminderStatus
    from reminders.services import dispatch

    count = int(getattr(ctx.args, "reminders", DEFAULT_COUNT) or DEFAULT_COUNT)
    url, options, label = _broker(getattr(ctx, "broker_url", "") or "")
    tag = secrets.token_hex(4)
    queue = f"bench-{tag}"
    outbox = LOG_DIR / "outbox" / queue
    outbox.mkdir(parents=True, exist_ok=True)
    env = dict(getattr(ctx, "env", None) or os.environ)
    env.update(
        CELERY_BROKER_URL=url,
        SMS_BACKEND="notifications.backends.FileSmsBackend",
        SMS_FILE_PATH=str(outbox),
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(outbox / "email"),
    )
    say(f"reminder dispatch: {count} reminders and {count} no-op tasks through the {label}, queue {queue}")
    worker = Worker(env, queue, LOG_DIR / "celery-worker.log")
    try:
        worker.start()
        with Connection(url, transport_options=options) as broker:
            producer_options = {"queue": queue, "connection": broker}
            # No-op tasks first: the reference.
            started = time.monotonic()
            for i in range(count):
                bench_tasks.noop.apply_async(args=[i], **producer_options)
            ended, noops = _wait(lambda: worker.succeeded("bench.noop"), count, "no-op tasks")
            noop_rate = noops / (ended - started)
            say(f"  no-op tasks: {noops} in {ended - started:.1f} s ({noop_rate:.0f}/s)")
            # Made after the worker's start-up dispatch has run (it would claim them early).
            ids = _make_due_reminders(count, tag)
            # Reminders: the real dispatcher service claims due rows, enqueued as the dispatcher task
            # does (SEND_BATCH ids per send task).
            started = time.monotonic()
            while True:
                claimed = dispatch.reminders_dispatch().claimed
                tasks.enqueue_sends(claimed, **producer_options)
                if not claimed:
                    break
            sent = Reminder.objects.filter(pk__in=ids, status=ReminderStatus.SENT)
            ended, done = _wait(sent.count, len(ids), "reminders")
            rate = done / (ended - started)
            say(f"  reminders: {done} sent in {ended - started:.1f} s ({rate:.0f}/s)")
    finally:
        worker.stop()
    files = sum(1 for _ in outbox.glob("*")) if outbox.exists() else 0
    say(f"  outbox: {files} files in {outbox.relative_to(BASE_DIR)}")
    ok = rate >= noop_rate / 2
    return [
        {
            "name": (
                f"reminder dispatch, {len(ids):,} due SMS reminders via {label} to the file backend"
                + ("" if done == len(ids) else f" ({done:,} sent within {RUN_TIMEOUT // 60} min)")
            ),
            "value": rate,
            "unit": "reminders/s",
            "reference": noop_rate,
            "goal": "≥ 0.5× the no-op task rate (reference)",
            "ok": ok,
        }
    ]
