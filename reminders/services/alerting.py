"""Telling administrators when reminders go wrong: overdue and unsent, or not sendable.

Messages to administrators carry ids and kinds only, never a patient's name, number or text.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from notifications.email import alert_administrators
from reminders import selectors
from reminders.models import Reminder, ReminderStatus


def reminders_overdue_check(*, now: datetime | None = None) -> int:
    """Tell administrators, once, about reminders still unsent well past their due time.

    Pending or sending rows due more than :func:`overdue_after` ago mean the dispatcher or the
    worker is not running (or the broker lost the send tasks). Each such row is alerted about once
    (``overdue_alerted_at``); one message covers all rows found in a check. Returns how many rows
    were newly alerted. Called every minute by the dispatcher task and, throttled, by the
    administrator's home page and ``manage.py reminders_check`` (the dispatcher may be the thing
    that is down).
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING],
                due_at__lt=now - selectors.overdue_after(),
                overdue_alerted_at__isnull=True,
            )
            .order_by("due_at")
            .values_list("pk", "due_at")[:5000]
        )
        if not rows:
            return 0
        Reminder.objects.filter(pk__in=[pk for pk, _ in rows]).update(overdue_alerted_at=now)
    oldest = rows[0][1]
    minutes = int((now - oldest).total_seconds() // 60)
    after = int(selectors.overdue_after().total_seconds() // 60)
    transaction.on_commit(
        partial(
            alert_administrators,
            subject="Patient reminders are overdue and unsent",
            body=(
                f"{len(rows)} reminder(s) are still unsent more than {after} "
                f"minutes after they were due (the oldest by {minutes} minutes). The reminder dispatcher "
                "(Celery beat) or the Celery worker is probably not running, or the broker is unreachable. "
                "Check the worker and beat processes; once they run again, reminders still useful are sent "
                "and those for visits already past are skipped."
            ),
        )
    )
    return len(rows)


def alert_send_failed(reminder: Reminder, why: str) -> None:
    alert_administrators(
        subject="A patient reminder could not be sent",
        body=(
            f"Reminder #{reminder.pk} ({reminder.get_kind_display()}, {reminder.get_channel_display()}) "
            f"was not sent: {why}. Open the reminders list in the admin to see the error and contact the "
            "patient another way if needed."
        ),
    )
