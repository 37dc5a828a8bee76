"""Thin Celery tasks (STYLE 11): ids in, services do the work. Beat runs the dispatcher every minute."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from scheduling.reminders import services

# Exponential backoff between send attempts: 30 s, 60 s, 120 s, 240 s (capped at 10 min). Short
# countdowns only: a long ETA in Redis is redelivered after visibility_timeout (security-reference R5).
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 600


@shared_task(name="scheduling.reminders.dispatch", bind=True, acks_late=True, soft_time_limit=50, time_limit=60)
def dispatch_due_reminders(self) -> int:
    services.reminders_overdue_check()  # before claiming: rows the dispatcher missed while it was down
    result = services.reminders_dispatch()
    # Sends go to the queue this dispatch came from (the default one under beat), so a worker on a
    # private queue (the benchmark's) sends what it claimed.
    queue = (self.request.delivery_info or {}).get("routing_key") or None
    for reminder_id in result.claimed:
        send_reminder.apply_async(args=[reminder_id], queue=queue)
    return len(result.claimed)


@shared_task(
    name="scheduling.reminders.send",
    bind=True,
    acks_late=True,
    soft_time_limit=30,
    time_limit=45,
    max_retries=services.MAX_ATTEMPTS - 1,
)
def send_reminder(self, reminder_id: int) -> str:
    attempt = self.request.retries + 1
    try:
        return services.reminder_send(reminder_id=reminder_id, attempt=attempt)
    except services.TemporarySendError as exc:
        countdown = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
        raise self.retry(exc=exc, countdown=countdown) from None


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
