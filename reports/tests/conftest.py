"""A hand-computed week at one clinic: every figure the report tests assert is worked out
in the docstring of ``week`` below.

Midtown (America/New_York) is open Monday–Friday 09:00–17:00 with two chairs; it is
closed on Wednesday 4 February 2026. The report week is Monday 2 – Sunday 8 February
2026 (no DST change), and the clock stands at Tuesday 10 February 12:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine

from reminders.models import Reminder, ReminderRule
from scheduling.models import AppointmentStatusChange, Closure
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory, appointment_type

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
WEEK = {"start": date(2026, 2, 2), "end": date(2026, 2, 8)}


def local(day: int, hour: int, minute: int = 0, month: int = 2) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def week(db, frozen):
    """The appointments (local times):

    1. infusion, chair 1, Mon 2 Feb 10–12, completed; a sent SMS reminder; confirmed after it.
    2. infusion, chair 2, Mon 2 Feb 10–12, no-show; a failed SMS reminder.
    3. infusion, chair 1, Tue 3 Feb 10–12, cancelled 2 h before the start (late).
    4. infusion, chair 1, Thu 5 Feb 10–12, cancelled 3 days before (timely: not due).
    5. consultation, room, Tue 3 Feb 23:30 (Wed 04:30 UTC), completed; a sent e-mail reminder.
    6. consultation, room, Sun 8 Feb 23:30 (Mon 04:30 UTC), still booked (outcome unrecorded).
    7. consultation, room, Mon 9 Feb 00:30 local: outside the week.
    8. infusion, chair 2, Fri 6 Feb 10–12, entered in error: never counted.

    Due = 1, 2, 3, 5, 6 → 5; no-shows 1 (20.0%); late cancellations 1 (20.0%).
    Open chair-hours = 4 open days × 8 h × 2 chairs = 64; booked = 1 + 2 = 4 h → 6.3%.
    """
    site = LocationFactory(
        name="Midtown", time_zone="America/New_York", hours=[(d, time(9), time(17)) for d in range(5)]
    )
    Closure.objects.create(location=site, starts_on=date(2026, 2, 4), ends_on=date(2026, 2, 4), reason="Training")
    chair1 = ResourceFactory(location=site, kind="chair", name="Chair 1")
    chair2 = ResourceFactory(location=site, kind="chair", name="Chair 2")
    room = ResourceFactory(location=site, kind="room", name="Room 1")
    infusion, consultation = appointment_type("infusion"), appointment_type("consultation")

    def book(type_, resource, start, hours, status, **extra):
        return AppointmentFactory(
            appointment_type=type_,
            location=site,
            resource=resource,
            start=start,
            end=start + timedelta(hours=hours),
            status=status,
            **extra,
        )

    a = SimpleNamespace(site=site)
    a.a1 = book(infusion, chair1, local(2, 10), 2, "completed")
    a.a2 = book(infusion, chair2, local(2, 10), 2, "no_show")
    a.a3 = book(infusion, chair1, local(3, 10), 2, "cancelled", cancel_reason="ill")
    a.a4 = book(infusion, chair1, local(5, 10), 2, "cancelled", cancel_reason="ill")
    a.a5 = book(consultation, room, local(3, 23, 30), 0.5, "completed")
    a.a6 = book(consultation, room, local(8, 23, 30), 0.5, "booked")
    a.a7 = book(consultation, room, local(9, 0, 30), 0.5, "booked")
    a.a8 = book(infusion, chair2, local(6, 10), 2, "entered_in_error")
    AppointmentStatusChange.objects.create(
        appointment=a.a3, from_status="booked", to_status="cancelled", at=a.a3.start - timedelta(hours=2)
    )
    AppointmentStatusChange.objects.create(
        appointment=a.a4, from_status="booked", to_status="cancelled", at=a.a4.start - timedelta(days=3)
    )
    rule = ReminderRule.objects.create(
        name="Day before", kind="appointment_reminder", hours_before=24, text="See you at {clinic} on {date}."
    )

    def remind(appointment, channel, status, sent=True):
        due = appointment.start - timedelta(hours=24)
        return Reminder.objects.create(
            appointment=appointment,
            rule=rule,
            kind="appointment_reminder",
            channel=channel,
            idempotency_key=f"{appointment.pk}-{channel}",
            appointment_start=appointment.start,
            due_at=due,
            status=status,
            sent_at=due if sent else None,
        )

    remind(a.a1, "sms", "sent")
    remind(a.a2, "sms", "failed", sent=False)
    remind(a.a5, "email", "sent")
    AppointmentStatusChange.objects.create(
        appointment=a.a1, from_status="booked", to_status="confirmed", at=a.a1.start - timedelta(hours=20)
    )
    return a


def filters(**overrides) -> dict:
    return {
        **WEEK,
        "location": None,
        "period": "week",
        "late_cancel_hours": 24,
        "unsigned_days": 3,
        **overrides,
    }
