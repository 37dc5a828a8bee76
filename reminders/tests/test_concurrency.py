"""F5: two dispatchers at once never claim the same row (real PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from reminders.models import Reminder, ReminderStatus
from reminders.services import dispatch
from reminders.tests.conftest import due_reminders, make_rule
from scheduling.tests.factories import AppointmentFactory, appointment_type


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_claim_the_same_row():
    consultation = appointment_type("consultation")
    rule = make_rule(types=[consultation], hours=24)
    now = timezone.now()
    visits = [
        AppointmentFactory(start=now + timedelta(days=2), end=now + timedelta(days=2, hours=1)) for _ in range(60)
    ]
    rows = due_reminders(rule, visits, key="k")
    barrier = threading.Barrier(4)
    claims: list[list[int]] = []
    lock = threading.Lock()

    def dispatcher():
        try:
            barrier.wait()
            for _ in range(5):
                result = dispatch.reminders_dispatch(limit=7)
                with lock:
                    claims.append(result.claimed)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    claimed = [rid for batch in claims for rid in batch]
    assert len(claimed) == len(set(claimed)), "a row was claimed twice"
    assert set(claimed) == {r.pk for r in rows}
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.SENDING}
