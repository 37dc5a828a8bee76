"""Thin Celery tasks (STYLE 11): ids in, services do the work. Beat runs the dispatcher every minute."""

from __future__ import annotations

from celery import shared_task

from scheduling.reminders import services

# Exponential backoff between send attempts: 30 s, 60 s, 120 s, 240 s (capped at 10 min). Short
# countdowns only: a long ETA in Redis is redelivered after visibility_timeout (security-reference R5).
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 600


@shared_task(name="scheduling.reminders.dispatch", acks_late=True, soft_time_limit=50, time_limit=60)
def dispatch_due_reminders() -> int:
    result = services.reminders_dispatch()
    for reminder_id in result.claimed:
        send_reminder.delay(reminder_id)
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
