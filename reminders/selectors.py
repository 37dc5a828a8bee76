"""Reads: which rules apply, what is overdue, the link a token opens, patients' replies."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from patients import links
from reminders.models import Reminder, ReminderLink, ReminderRule, ReminderStatus
from scheduling.access import in_their_locations
from scheduling.models import ACTIVE_STATUSES, Appointment


def rules_for(appointment: Appointment) -> list[ReminderRule]:
    return list(
        ReminderRule.objects.filter(active=True, appointment_types=appointment.appointment_type_id)
        .filter(Q(location__isnull=True) | Q(location=appointment.location_id))
        .distinct()
    )


def overdue_after() -> timedelta:
    """How late an unsent reminder is before administrators are told (settings.REMINDER_OVERDUE_ALERT_MINUTES)."""
    return timedelta(minutes=max(1, int(settings.REMINDER_OVERDUE_ALERT_MINUTES)))


def overdue_unsent_count(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Reminder.objects.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING], due_at__lt=now - overdue_after()
    ).count()


def reminder_link_valid(link: ReminderLink | None, *, now: datetime | None = None) -> bool:
    """Unused, unexpired, and its visit still active at the time the link was sent for."""
    now = now or timezone.now()
    return (
        link is not None
        and link.used_at is None
        and link.expires_at > now
        and link.appointment.status in ACTIVE_STATUSES
        and link.appointment.start == link.appointment_start
    )


def reminder_link_for_token(token: str) -> ReminderLink | None:
    """The valid link a token opens, or None (unknown, used, expired, or the visit changed)."""
    link = links.for_token(ReminderLink, token, hash_field="token_hash", related=("appointment__location", "reminder"))
    return link if reminder_link_valid(link) else None


def reminder_link_by_id(link_id) -> ReminderLink | None:
    """The valid link a scoped session holds (by id), or None."""
    if not isinstance(link_id, int):
        return None
    link = ReminderLink.objects.select_related("appointment__location", "reminder").filter(pk=link_id).first()
    return link if reminder_link_valid(link) else None


def link_replies(*, since: datetime, limit: int = 50, user=None) -> list[ReminderLink]:
    """Confirmations and cancellations patients sent through reminder links since ``since`` (front
    desk), about visits at ``user``'s locations when given."""
    replies = ReminderLink.objects.filter(used_at__gte=since)
    if user is not None:
        replies = in_their_locations(user, replies, field="appointment__location_id")
    return list(
        replies.select_related(
            "appointment__patient", "appointment__location", "appointment__appointment_type"
        ).order_by("-used_at")[:limit]
    )
