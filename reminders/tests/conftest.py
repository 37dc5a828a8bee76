"""Reminder test helpers: rules made explicitly (the seeded ones vanish after a transactional flush)."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from notifications import backends
from reminders.models import Reminder, ReminderRule
from scheduling.tests.conftest import at, book, clinic, local_day  # noqa: F401 - fixtures and helpers


@pytest.fixture(autouse=True)
def _locmem_sms(settings):
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    backends.outbox.clear()
    yield
    backends.outbox.clear()


def make_rule(
    *,
    types,
    kind="appointment_reminder",
    hours=None,
    local_time=None,
    sms=True,
    email=True,
    quiet=(time(21), time(8)),
    location=None,
    text=None,
):
    rule = ReminderRule.objects.create(
        name=f"{kind} {hours or local_time}",
        kind=kind,
        location=location,
        offset_mode="hours_before" if hours else "day_before_at",
        hours_before=hours,
        local_time=local_time,
        send_sms=sms,
        send_email=email,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        text=text or "{clinic}: your appointment on {date} at {time} at {location}. {link}",
    )
    rule.appointment_types.set(types)
    return rule


def opted_patient(*, sms=True, email=True, **kwargs):
    """A patient who opted in (with the consent the model requires) on the given channels."""
    from django.utils import timezone

    from patients.tests.factories import PatientFactory

    now = timezone.now()
    consent = {}
    if sms:
        consent.update(sms_opt_in=True, sms_consent_at=now, sms_consent_method="written")
    if email:
        consent.update(email_opt_in=True, email_consent_at=now, email_consent_method="written")
    return PatientFactory(**consent, **kwargs)


def due_reminders(rule, appointments, *, key: str, channel: str = "sms", **fields) -> list[Reminder]:
    """One reminder of ``rule`` per appointment on ``channel``, due a minute ago.

    ``fields`` override the defaults (e.g. a claimed status)."""
    from django.utils import timezone

    due = timezone.now() - timedelta(minutes=1)
    return Reminder.objects.bulk_create(
        Reminder(
            appointment=appointment,
            rule=rule,
            kind=rule.kind,
            channel=channel,
            idempotency_key=f"{key}-{appointment.pk}",
            appointment_start=appointment.start,
            due_at=due,
            **fields,
        )
        for appointment in appointments
    )


@pytest.fixture
def no_seeded_rules(db):
    ReminderRule.objects.all().delete()
