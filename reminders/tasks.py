"""Thin Celery tasks (STYLE 11): ids in, services do the work. Beat runs the dispatcher every minute."""

from __future__ import annotations

from collections import Counter

from celery import shared_task
from celery.signals import worker_ready

from reminders.services import alerting, dispatch, send

# Exponential backoff between send attempts: 30 s, 60 s, 120 s, 240 s (capped at 10 min). Short
# countdowns only: a long ETA in Redis is redelivered after visibility_timeout (security-reference R5).
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 600


# Reminders per send task. Each task costs a broker round trip, and each batch two commits (claim
# + links; sent + contact log + audit) and one audit-chain head lock whatever its size, so bigger batches
# amortise more; but a batch holds its rows from one claim, a crash mid-batch leaves up to this many
# rows to be redelivered (the provider's idempotency key keeps them from going out twice), and the
# whole batch has to finish within the task's time limit even against a slow provider. 50 keeps
# the per-reminder overhead small and a batch well inside SEND_BATCH_TIME_LIMIT.
SEND_BATCH = 50
# A provider call takes well under a second, so a batch takes seconds; the limit leaves room for a
# slow provider (SMS_TIMEOUT_SECONDS each). A batch cut short leaves its unsent rows in "sending",
# where the dispatcher finds them after STUCK_SENDING. Far below Redis' visibility_timeout (1 h), so
# a running batch is not redelivered to a second worker.
SEND_BATCH_SOFT_TIME_LIMIT = 240
SEND_BATCH_TIME_LIMIT = 300


def retry_countdown(attempt: int) -> int:
    """Seconds before the next attempt after ``attempt`` failed ones: 30 s, 60 s, 120 s, 240 s, capped."""
    return min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)


def enqueue_sends(reminder_ids: list[int], **options) -> int:
    """Publish send tasks for claimed reminders, SEND_BATCH ids per task; return how many tasks.

    ``options`` go to ``apply_async`` (queue, connection). The dispatcher task and the benchmark
    both enqueue through here, so the benchmark measures the real path.
    """
    batches = [reminder_ids[i : i + SEND_BATCH] for i in range(0, len(reminder_ids), SEND_BATCH)]
    for batch in batches:
        send_reminders.apply_async(args=[batch], **options)
    return len(batches)


@shared_task(name="scheduling.reminders.dispatch", bind=True, acks_late=True, soft_time_limit=50, time_limit=60)
def dispatch_due_reminders(self) -> int:
    alerting.reminders_overdue_check()  # before claiming: rows the dispatcher missed while it was down
    result = dispatch.reminders_dispatch()
    # Sends go to the queue this dispatch came from (the default one under beat), so a worker on a
    # private queue (the benchmark's) sends what it claimed.
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    enqueue_sends(result.claimed, queue=queue)
    return len(result.claimed)


@shared_task(
    name="scheduling.reminders.send_batch",
    bind=True,
    acks_late=True,
    soft_time_limit=SEND_BATCH_SOFT_TIME_LIMIT,
    time_limit=SEND_BATCH_TIME_LIMIT,
)
def send_reminders(self, reminder_ids: list[int]) -> dict[str, int]:
    """Send a batch; each reminder the provider failed temporarily is retried alone with backoff."""
    result = send.reminders_send(reminder_ids=reminder_ids)
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    for reminder_id, (attempts, _error) in result.retry.items():
        # retries=attempts so far: the single task's self.request.retries continues the count.
        send_reminder.apply_async(
            args=[reminder_id], retries=attempts, countdown=retry_countdown(attempts), queue=queue
        )
    return dict(Counter(result.statuses.values()))


@shared_task(
    name="scheduling.reminders.send",
    bind=True,
    acks_late=True,
    soft_time_limit=30,
    time_limit=45,
    max_retries=send.MAX_ATTEMPTS - 1,
)
def send_reminder(self, reminder_id: int) -> str:
    attempt = self.request.retries + 1
    try:
        return send.reminder_send(reminder_id=reminder_id, attempt=attempt)
    except send.TemporarySendError as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(attempt)) from None


@worker_ready.connect
def dispatch_on_worker_start(sender=None, **kwargs) -> None:
    """Dispatch once as soon as a worker is ready, on a queue it consumes.

    Beat's first tick comes a full interval after it starts, so without this a fresh `make run`
    (or a worker back after downtime) sent nothing for about a minute. A dispatch is idempotent and
    claims with SKIP LOCKED, so an extra one next to beat's is harmless.
    """
    app = getattr(sender, "app", None) or dispatch_due_reminders.app
    queues = list(getattr(app.amqp.queues, "consume_from", None) or {})
    dispatch_due_reminders.apply_async(queue=queues[0] if queues else None)
