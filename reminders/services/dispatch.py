"""Choosing what is due: the dispatcher (every minute from beat) claims due rows.

:func:`reminders_dispatch` claims due pending rows with ``SELECT … FOR UPDATE SKIP LOCKED``, voids
stale ones and returns the claimed ids; the dispatcher task enqueues them in batches
(``reminders.tasks.enqueue_sends``). Rows a crashed worker left in ``sending`` are re-queued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from reminders.models import Reminder, ReminderStatus
from scheduling.models import ACTIVE_STATUSES

# A row left in "sending" longer than this is taken to be from a crashed worker and re-queued.
STUCK_SENDING = timedelta(minutes=10)
DISPATCH_BATCH = 1000


@dataclass
class DispatchResult:
    claimed: list[int]
    voided: int
    requeued: int


@transaction.atomic
def reminders_dispatch(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> DispatchResult:
    """Claim due pending reminders (skip rows another dispatcher holds); void stale ones.

    A reminder is stale when its appointment is no longer active, has moved, or
    has already started: after downtime the dispatcher catches up on what is
    still useful and never sends a reminder for a visit in the past.
    """
    now = now or timezone.now()
    requeued = Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=now - STUCK_SENDING).update(
        status=ReminderStatus.PENDING, updated_at=now
    )
    rows = list(
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=ReminderStatus.PENDING, due_at__lte=now)
        .select_related("appointment")
        .order_by("due_at", "id")[:limit]
    )
    stale = [
        r.pk
        for r in rows
        if r.appointment.status not in ACTIVE_STATUSES
        or r.appointment.start != r.appointment_start
        or r.appointment.start <= now
    ]
    claimed = [r.pk for r in rows if r.pk not in set(stale)]
    if stale:
        Reminder.objects.filter(pk__in=stale).update(status=ReminderStatus.VOID, updated_at=now)
    if claimed:
        Reminder.objects.filter(pk__in=claimed).update(status=ReminderStatus.SENDING, claimed_at=now, updated_at=now)
    return DispatchResult(claimed=claimed, voided=len(stale), requeued=requeued)
