"""Batch sends: a send task takes SEND_BATCH reminders and keeps every single-send guarantee."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from core.tokens import hash_token
from notifications import backends
from notifications.backends import BaseSmsBackend, SmsProviderError, SmsRejected
from patients.models import ContactLogEntry
from reminders import tasks
from reminders.models import Reminder, ReminderStatus
from reminders.services import links, send
from reminders.tests.conftest import due_reminders, make_rule, opted_patient
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/schedule/visit/([A-Za-z0-9_-]+)/")
CONTACT_LOGGED = "patients.contact_log_entry.created"

# Idempotency key → what the scripted provider does with that message instead of sending it.
SCRIPT: dict[str, Exception] = {}


class ScriptedSmsBackend(BaseSmsBackend):
    """The locmem outbox, except for the keys in SCRIPT, which raise their exception."""

    def send_messages(self, messages):
        for message in messages:
            if message.idempotency_key in SCRIPT:
                raise SCRIPT[message.idempotency_key]
        return backends.LocmemSmsBackend().send_messages(messages)


@pytest.fixture
def rule(db):
    return make_rule(types=[appointment_type("consultation")], hours=24, email=False)


def _claimed(rule, n: int, **patient) -> list[Reminder]:
    """``n`` SMS reminders the dispatcher has claimed (status "sending"), one per future visit."""
    visits = [AppointmentFactory(patient=opted_patient(email=False, **patient)) for _ in range(n)]
    return due_reminders(rule, visits, key="batch", status=ReminderStatus.SENDING, claimed_at=timezone.now())


def _ids(rows) -> list[int]:
    return [r.pk for r in rows]


def _outbox_keys() -> list[str]:
    return [m.idempotency_key for m in backends.outbox]


def test_a_batch_sends_each_reminder_once_with_its_own_link_contact_log_entry_and_audit_event(rule):
    rows = _claimed(rule, 4)
    result = send.reminders_send(reminder_ids=_ids(rows))
    assert result.statuses == dict.fromkeys(_ids(rows), ReminderStatus.SENT)
    assert result.retry == {}
    assert sorted(_outbox_keys()) == sorted(r.idempotency_key for r in rows)
    tokens = {m.idempotency_key: LINK.search(m.body).group(1) for m in backends.outbox}
    assert len(set(tokens.values())) == 4
    for row in Reminder.objects.filter(pk__in=_ids(rows)).select_related("link", "appointment"):
        assert (row.status, row.attempts, row.last_error) == (ReminderStatus.SENT, 1, "")
        assert row.sent_at
        assert row.provider_message_id.startswith("locmem-")
        # Only the hash of the token in the text is stored (A9).
        assert row.link.token_hash == hash_token(tokens[row.idempotency_key])
        assert row.link.expires_at == row.appointment.start
        [entry] = ContactLogEntry.objects.filter(patient_id=row.appointment.patient_id)
        assert (entry.direction, entry.by) == ("out", None)
        assert links.LOGGED_LINK in entry.summary
        assert tokens[row.idempotency_key] not in entry.summary
        [event] = AuditEvent.objects.filter(action=CONTACT_LOGGED, object_id=str(entry.pk))
        assert event.patient_id == row.appointment.patient_id
    checked, broken = audit.verify_chain()
    assert checked >= 4
    assert broken == []
    # Sent rows are not sent again by a later copy of the task.
    assert send.reminders_send(reminder_ids=_ids(rows)).statuses == dict.fromkeys(_ids(rows), "sent")
    assert len(backends.outbox) == 4
    assert ContactLogEntry.objects.count() == 4


def test_a_mixed_batch_voids_fails_retries_and_sends_each_as_a_single_send_would(rule, settings, monkeypatch):
    settings.SMS_BACKEND = f"{__name__}.ScriptedSmsBackend"
    settings.ADMINS = [("Ops", "ops@example.org")]
    cancelled, moved, down, refused, *fine = _claimed(rule, 6)
    [not_opted] = _claimed(rule, 1, sms=False)
    Appointment.objects.filter(pk=cancelled.appointment_id).update(status="cancelled", cancel_reason="Patient called")
    hour = timedelta(hours=1)
    Appointment.objects.filter(pk=moved.appointment_id).update(start=F("start") + hour, end=F("end") + hour)
    SCRIPT.clear()
    SCRIPT[down.idempotency_key] = SmsProviderError("Provider said 503")
    SCRIPT[refused.idempotency_key] = SmsRejected("Provider refused the message (400)")
    retried = []
    monkeypatch.setattr(tasks.send_reminder, "apply_async", lambda **kw: retried.append(kw))
    ids = [cancelled.pk, moved.pk, down.pk, refused.pk, not_opted.pk] + _ids(fine)
    try:
        counts = tasks.send_reminders.apply(args=[ids]).get()
    finally:
        SCRIPT.clear()
    assert counts == {"void": 3, "retry": 1, "failed": 1, "sent": 2}
    rows = Reminder.objects.in_bulk(ids)
    assert (rows[cancelled.pk].status, rows[cancelled.pk].attempts) == ("void", 0)
    assert rows[moved.pk].status == "void"
    assert (rows[not_opted.pk].status, rows[not_opted.pk].last_error) == (
        "void",
        "Patient has not opted in on this channel.",
    )
    # The temporary failure stays claimed and goes back to the queue as the single retry task.
    assert (rows[down.pk].status, rows[down.pk].attempts, rows[down.pk].last_error) == (
        "sending",
        1,
        "Provider said 503",
    )
    assert retried == [{"args": [down.pk], "retries": 1, "countdown": tasks.RETRY_BASE_SECONDS, "queue": None}]
    # The refusal is final: failed, logged as failed, administrators told (without PHI).
    assert rows[refused.pk].status == "failed"
    assert ContactLogEntry.objects.filter(patient_id=refused.appointment.patient_id, summary__contains="FAILED").count()
    [alert] = mail.outbox
    assert f"#{refused.pk}" in alert.body
    assert {rows[r.pk].status for r in fine} == {"sent"}
    assert sorted(_outbox_keys()) == sorted(r.idempotency_key for r in fine)
    assert ContactLogEntry.objects.filter(summary__contains=" sent by ").count() == 2
    # The retry task continues the attempt count and sends once the provider is back.
    assert tasks.send_reminder.apply(args=[down.pk], retries=1).get() == "sent"
    assert Reminder.objects.get(pk=down.pk).attempts == 2
    assert _outbox_keys().count(down.idempotency_key) == 1


def test_two_copies_of_a_batch_that_loaded_the_rows_together_send_each_once(rule, monkeypatch):
    """A redelivered batch racing the original: only the copy whose claim swaps claimed_at sends."""
    rows = _claimed(rule, 5)
    claim = send._claim
    copies = []

    def other_copy_claims_first(reminders, **kw):
        if not copies:  # the first copy has loaded the rows; the second runs to the end before it claims
            copies.append(None)
            copies[0] = send.reminders_send(reminder_ids=_ids(rows))
        return claim(reminders, **kw)

    monkeypatch.setattr(send, "_claim", other_copy_claims_first)
    first = send.reminders_send(reminder_ids=_ids(rows))
    assert copies[0].statuses == dict.fromkeys(_ids(rows), "sent")
    assert first.statuses == dict.fromkeys(_ids(rows), "taken")
    assert sorted(_outbox_keys()) == sorted(r.idempotency_key for r in rows)
    assert ContactLogEntry.objects.count() == 5
    assert AuditEvent.objects.filter(action=CONTACT_LOGGED).count() == 5


def _file_outbox(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.backends.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path)

    def keys():
        return [json.loads(f.read_text())["idempotency_key"] for f in tmp_path.glob("*.json")]

    return keys


def test_a_copy_that_claims_while_the_other_is_at_the_provider_duplicates_nothing(
    rule, settings, tmp_path, monkeypatch
):
    """The claim cannot stop a copy that loads after it; the provider's key and the sent guard do."""
    delivered = _file_outbox(settings, tmp_path)
    rows = _claimed(rule, 5)
    deliver = send._deliver
    copies = []

    def other_copy_runs_meanwhile(reminder, **kw):
        if not copies:
            copies.append(None)
            copies[0] = send.reminders_send(reminder_ids=_ids(rows))
        return deliver(reminder, **kw)

    monkeypatch.setattr(send, "_deliver", other_copy_runs_meanwhile)
    first = send.reminders_send(reminder_ids=_ids(rows))
    assert copies[0].statuses == first.statuses == dict.fromkeys(_ids(rows), "sent")
    assert sorted(delivered()) == sorted(r.idempotency_key for r in rows)
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sent"}
    assert ContactLogEntry.objects.count() == 5
    assert AuditEvent.objects.filter(action=CONTACT_LOGGED).count() == 5


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it in the batch runs."""


def test_a_batch_redelivered_after_a_crash_mid_way_sends_the_rest_and_duplicates_nothing(
    rule, settings, tmp_path, monkeypatch
):
    delivered = _file_outbox(settings, tmp_path)
    rows = _claimed(rule, 6)
    deliver = send._deliver
    calls = []

    def dies_at_the_third(reminder, **kw):
        calls.append(reminder.pk)
        if len(calls) == 3:
            raise WorkerKilled
        return deliver(reminder, **kw)

    monkeypatch.setattr(send, "_deliver", dies_at_the_third)
    with pytest.raises(WorkerKilled):
        send.reminders_send(reminder_ids=_ids(rows))
    assert len(delivered()) == 2
    assert set(Reminder.objects.values_list("status", flat=True)) == {"sending"}
    monkeypatch.setattr(send, "_deliver", deliver)
    # acks_late: the broker hands the same batch to the next worker.
    again = send.reminders_send(reminder_ids=_ids(rows))
    assert again.statuses == dict.fromkeys(_ids(rows), "sent")
    assert sorted(delivered()) == sorted(r.idempotency_key for r in rows)  # the first two not again
    assert ContactLogEntry.objects.count() == 6
    assert set(Reminder.objects.values_list("attempts", flat=True)) == {2}
    assert audit.verify_chain()[1] == []


def test_a_batch_takes_the_same_bounded_number_of_queries_for_5_or_50_reminders(rule, django_assert_max_num_queries):
    small, large = _claimed(rule, 5), _claimed(rule, 50)
    with CaptureQueriesContext(connection) as for_5:
        send.reminders_send(reminder_ids=_ids(small))
    # Load, claim, links, sent, contact log, chain head (lock, move), audit: 8 statements, plus the
    # savepoints of the atomic blocks inside the test's transaction.
    with django_assert_max_num_queries(16), CaptureQueriesContext(connection) as for_50:
        result = send.reminders_send(reminder_ids=_ids(large))
    assert set(result.statuses.values()) == {"sent"}
    assert len(for_50) == len(for_5)


def test_the_dispatcher_enqueues_claimed_ids_in_batches_of_send_batch(monkeypatch):
    published = []
    monkeypatch.setattr(tasks.send_reminders, "apply_async", lambda args, **kw: published.append((args, kw)))
    n = tasks.SEND_BATCH
    ids = list(range(1, 2 * n + 8))
    assert tasks.enqueue_sends(ids, queue="q") == 3
    assert [a[0] for a, _ in published] == [ids[:n], ids[n : 2 * n], ids[2 * n :]]
    assert {kw["queue"] for _, kw in published} == {"q"}
    assert tasks.enqueue_sends([]) == 0
    batch = tasks.send_reminders
    assert batch.name == "scheduling.reminders.send_batch"
    assert batch.acks_late
    assert batch.soft_time_limit < batch.time_limit


def test_an_unexpected_error_mid_batch_still_records_what_went_out(rule, monkeypatch):
    rows = _claimed(rule, 4)
    deliver = send._deliver

    def breaks_at_the_third(reminder, **kw):
        if reminder.pk == rows[2].pk:
            raise RuntimeError("bug")
        return deliver(reminder, **kw)

    monkeypatch.setattr(send, "_deliver", breaks_at_the_third)
    with pytest.raises(RuntimeError):
        send.reminders_send(reminder_ids=_ids(rows))
    statuses = dict(Reminder.objects.values_list("pk", "status"))
    assert [statuses[r.pk] for r in rows] == ["sent", "sent", "sending", "sending"]
    assert ContactLogEntry.objects.count() == 2


class CountingMailBackend(locmem.EmailBackend):
    """The locmem outbox that counts sessions opened and fails the messages to FAIL_TO."""

    opened = 0
    FAIL_TO: set[str] = set()

    def open(self):
        if getattr(self, "_open", False):
            return False
        self._open = True
        CountingMailBackend.opened += 1
        return True

    def close(self):
        self._open = False

    def send_messages(self, messages):
        if any(set(m.to) & self.FAIL_TO for m in messages):
            raise ConnectionResetError("connection reset by the mail server")
        return super().send_messages(messages)


def _email_claimed(n: int) -> list[Reminder]:
    rule = make_rule(types=[appointment_type("consultation")], hours=24, sms=False)
    visits = [AppointmentFactory(patient=opted_patient(sms=False)) for _ in range(n)]
    return due_reminders(
        rule, visits, key="mail", channel="email", status=ReminderStatus.SENDING, claimed_at=timezone.now()
    )


def test_a_batch_of_e_mails_goes_out_over_one_mail_session(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingMailBackend"
    CountingMailBackend.opened, CountingMailBackend.FAIL_TO = 0, set()
    rows = _email_claimed(6)
    result = send.reminders_send(reminder_ids=_ids(rows))
    assert set(result.statuses.values()) == {ReminderStatus.SENT}
    assert len(mail.outbox) == 6
    assert CountingMailBackend.opened == 1


def test_a_mail_server_error_retries_that_message_and_the_rest_go_out_on_a_fresh_session(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingMailBackend"
    rows = _email_claimed(4)
    CountingMailBackend.opened = 0
    CountingMailBackend.FAIL_TO = {rows[1].appointment.patient.email}
    result = send.reminders_send(reminder_ids=_ids(rows))
    assert result.statuses[rows[1].pk] == "retry"
    assert [result.statuses[r.pk] for r in (rows[0], rows[2], rows[3])] == [ReminderStatus.SENT] * 3
    assert len(mail.outbox) == 3
    assert CountingMailBackend.opened == 2
