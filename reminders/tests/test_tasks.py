"""The Celery side: beat schedule in code, thin tasks, no long ETAs (F3)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings as django_settings

from grace_mindcare.celery import app
from notifications import backends
from reminders import tasks
from reminders.models import Reminder
from reminders.tests.conftest import make_rule, opted_patient
from scheduling.tests.conftest import at, book, local_day


def test_beat_runs_the_one_dispatcher_every_minute():
    entries = [e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "scheduling.reminders.dispatch"]
    assert len(entries) == 1
    assert entries[0]["schedule"] == 60.0
    app.loader.import_default_modules()
    assert {"scheduling.reminders.dispatch", "scheduling.reminders.send"} <= set(app.tasks)
    send = app.tasks["scheduling.reminders.send"]
    assert send.acks_late
    assert send.time_limit
    assert send.max_retries == 4


def test_no_reminder_code_schedules_a_long_eta():
    """F3: an ETA longer than Redis' visibility timeout is redelivered; we only use short retry countdowns."""
    app = Path(__file__).resolve().parents[1]  # the reminders app
    sources = [p for p in app.rglob("*.py") if "tests" not in p.parts]
    assert not [p for p in sources if re.search(r"\beta\s*=", p.read_text())]
    assert (
        tasks.RETRY_MAX_SECONDS <= 600 < django_settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    )


@pytest.mark.django_db
def test_the_dispatcher_task_enqueues_sends_by_id(
    clinic, frontdesk, no_seeded_rules, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Booking an intake also sends the pre-visit packet's text (tested in packets); here only the
    # reminder's message is counted.
    settings.PACKET_AUTO_SEND = False
    app.conf.task_always_eager = True
    try:
        make_rule(types=[clinic.consultation], hours=24, email=False)
        with django_capture_on_commit_callbacks(execute=True):
            appt = book(clinic, opted_patient(email=False), frontdesk, start=at(local_day(5), 10))
        with time_machine.travel(appt.start - timedelta(hours=23), tick=False):
            assert tasks.dispatch_due_reminders.apply().get() == 1
            assert tasks.dispatch_due_reminders.apply().get() == 0
    finally:
        app.conf.task_always_eager = False
    assert Reminder.objects.get(appointment=appt).status == "sent"
    assert len(backends.outbox) == 1


def test_a_worker_dispatches_as_soon_as_it_is_ready_on_a_queue_it_consumes(monkeypatch):
    """`make run` sends due reminders within seconds of start-up, not after beat's first minute."""
    published = []
    monkeypatch.setattr(tasks.dispatch_due_reminders, "apply_async", lambda **kw: published.append(kw))
    worker = SimpleNamespace(app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from={"q1": 1}))))
    tasks.dispatch_on_worker_start(sender=worker)
    assert published == [{"queue": "q1"}]
