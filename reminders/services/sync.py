"""Keeping reminders in step with the calendar.

:func:`reminders_sync` recomputes the wanted set for one appointment and upserts it (pending rows
move with the visit; stale ones become void). Scheduling tells this app about every booking, move
and status change through its hook registry (``scheduling.hooks``); :func:`on_appointment_changed`
is the hook, registered in ``RemindersConfig.ready``. :func:`reminders_bulk_create` makes the rows
for many new appointments at once (demo seeding, imports).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from reminders import rules, selectors
from reminders.models import Reminder, ReminderRule, ReminderStatus
from scheduling.models import ACTIVE_STATUSES, Appointment, SelfBooking, SelfBookingStatus

# A reminder whose time passed less than this long ago when the visit is booked is still sent
# (at once); an older one is skipped (e.g. the 72 h reminder of a visit booked for tomorrow).
LATE_GRACE = timedelta(hours=12)


def wanted_reminders(
    appointment: Appointment, rule_list: list[ReminderRule], *, awaiting_approval: bool = False
) -> dict[tuple[int, str], datetime]:
    """(rule id, channel) → due instant, for an active appointment (pure given the rows). A
    patient's online booking still waiting for the desk is not booked yet: nothing is reminded
    until it is approved (which runs the appointment hook again)."""
    if appointment.status not in ACTIVE_STATUSES or awaiting_approval:
        return {}
    tz_name = appointment.location.time_zone
    wanted = {}
    for rule in rule_list:
        offset = rules.Offset(mode=rule.offset_mode, hours_before=rule.hours_before, local_time=rule.local_time)
        due = rules.scheduled_at(
            start=appointment.start,
            tz_name=tz_name,
            offset=offset,
            quiet=rules.QuietHours(rule.quiet_start, rule.quiet_end),
        )
        for channel in rule.channels:
            wanted[(rule.pk, channel)] = due
    return wanted


def idempotency_key(appointment_id: int, rule_id: int, channel: str, start: datetime) -> str:
    return f"a{appointment_id}-r{rule_id}-{channel}-{int(start.timestamp())}"


@transaction.atomic
def reminders_sync(*, appointment_id: int) -> dict[str, int]:
    """Make the appointment's pending reminders match its current time, status and the rules. Idempotent."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",)).select_related("location").filter(pk=appointment_id).first()
    )
    counts = {"created": 0, "updated": 0, "voided": 0}
    if appointment is None:
        return counts
    rule_list = selectors.rules_for(appointment)
    awaiting = SelfBooking.objects.filter(appointment_id=appointment.pk, status=SelfBookingStatus.PENDING).exists()
    wanted = wanted_reminders(appointment, rule_list, awaiting_approval=awaiting)
    kinds = {r.pk: r.kind for r in rule_list}
    existing = {(r.rule_id, r.channel): r for r in appointment.reminders.all()}
    now = timezone.now()
    for key, reminder in existing.items():
        if reminder.status != ReminderStatus.PENDING:
            continue  # sent, failed and void stay as history; sending is the task's
        due = wanted.get(key)
        if due is None:
            reminder.status = ReminderStatus.VOID
            reminder.save(update_fields=["status", "updated_at"])
            counts["voided"] += 1
        elif reminder.due_at != due or reminder.appointment_start != appointment.start:
            reminder.due_at = due
            reminder.appointment_start = appointment.start
            reminder.idempotency_key = idempotency_key(appointment.pk, key[0], key[1], appointment.start)
            reminder.save(update_fields=["due_at", "appointment_start", "idempotency_key", "updated_at"])
            counts["updated"] += 1
    new = [
        Reminder(
            appointment=appointment,
            rule_id=rule_id,
            kind=kinds[rule_id],
            channel=channel,
            idempotency_key=idempotency_key(appointment.pk, rule_id, channel, appointment.start),
            appointment_start=appointment.start,
            due_at=due,
        )
        for (rule_id, channel), due in wanted.items()
        if (rule_id, channel) not in existing and due > now - LATE_GRACE
    ]
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    counts["created"] = len(new)
    return counts


def reminders_bulk_create(*, appointments: list[Appointment], now: datetime | None = None) -> int:
    """Pending reminders for many new appointments at once (demo seeding, imports); skips existing keys.

    Appointments must carry ``location`` and ``appointment_type_id``; the rules are read once.
    """
    now = now or timezone.now()
    all_rules = list(ReminderRule.objects.filter(active=True).prefetch_related("appointment_types"))
    types_of = {r.pk: {t.pk for t in r.appointment_types.all()} for r in all_rules}
    awaiting = set(
        SelfBooking.objects.filter(
            appointment_id__in=[a.pk for a in appointments], status=SelfBookingStatus.PENDING
        ).values_list("appointment_id", flat=True)
    )
    rows = []
    for appointment in appointments:
        applicable = [
            r
            for r in all_rules
            if appointment.appointment_type_id in types_of[r.pk] and r.location_id in (None, appointment.location_id)
        ]
        for (rule_id, channel), due in wanted_reminders(
            appointment, applicable, awaiting_approval=appointment.pk in awaiting
        ).items():
            if due > now - LATE_GRACE:
                rows.append(
                    Reminder(
                        appointment_id=appointment.pk,
                        rule_id=rule_id,
                        kind=next(r.kind for r in applicable if r.pk == rule_id),
                        channel=channel,
                        idempotency_key=idempotency_key(appointment.pk, rule_id, channel, appointment.start),
                        appointment_start=appointment.start,
                        due_at=due,
                    )
                )
    Reminder.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def on_appointment_changed(appointment_id: int) -> None:
    """The scheduling hook (``scheduling.hooks``): called after a booking or change of the appointment commits."""
    reminders_sync(appointment_id=appointment_id)
