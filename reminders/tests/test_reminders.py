"""Reminders end to end with real components: sync from bookings, dispatch, send, retry, fail, alert."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.core import mail

from notifications import backends
from notifications.backends import SmsMessage, TwilioSmsBackend
from patients.models import ContactLogEntry
from reminders import rules, tasks
from reminders.models import Reminder, ReminderStatus
from reminders.services import dispatch, send, sync
from reminders.tests.conftest import make_rule, opted_patient
from reminders.tests.stub_provider import StubProvider
from scheduling import services as scheduling_services
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def opted_in(db):
    return opted_patient()


@pytest.fixture
def rule24(clinic, no_seeded_rules):
    return make_rule(types=[clinic.consultation, clinic.infusion], hours=24)


def _book(clinic, patient, by, start, django_capture_on_commit_callbacks, **kw):
    with django_capture_on_commit_callbacks(execute=True):
        return book(clinic, patient, by, start=start, **kw)


def _dispatch_and_send(now):
    with time_machine.travel(now, tick=False):
        result = dispatch.reminders_dispatch()
        return [send.reminder_send(reminder_id=rid) for rid in result.claimed], result


def test_booking_creates_one_pending_reminder_per_rule_and_channel(
    clinic, opted_in, frontdesk, rule24, django_capture_on_commit_callbacks
):
    appt = _book(clinic, opted_in, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    rows = Reminder.objects.filter(appointment=appt)
    assert sorted(rows.values_list("channel", flat=True)) == ["email", "sms"]
    assert {r.due_at for r in rows} == {appt.start - timedelta(hours=24)}
    assert all(r.status == ReminderStatus.PENDING for r in rows)
    # Idempotent: syncing again changes nothing.
    assert sync.reminders_sync(appointment_id=appt.pk) == {"created": 0, "updated": 0, "voided": 0}


def test_rules_apply_to_their_location_and_types_only(
    clinic, opted_in, frontdesk, no_seeded_rules, django_capture_on_commit_callbacks
):
    from scheduling.tests.factories import LocationFactory

    make_rule(types=[clinic.infusion], hours=24)  # not consultations
    make_rule(types=[clinic.consultation], hours=48, location=LocationFactory(name="Elsewhere"))
    appt = _book(clinic, opted_in, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    assert not Reminder.objects.filter(appointment=appt).exists()


def test_cancel_sends_nothing_and_reschedule_sends_one_at_the_new_time_only(
    clinic, opted_in, frontdesk, rule24, django_capture_on_commit_callbacks
):
    """F4."""
    day = local_day(5)
    cancelled = _book(clinic, opted_in, frontdesk, at(day, 10), django_capture_on_commit_callbacks)
    moved = _book(clinic, opted_patient(email=False), frontdesk, at(day, 14), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.appointment_cancel(appointment=cancelled, by=frontdesk, reason="Patient called")
    with django_capture_on_commit_callbacks(execute=True):
        new = scheduling_services.appointment_reschedule(
            appointment=moved, by=frontdesk, start=at(day + timedelta(days=1), 11), clinician=clinic.doctor
        )
    assert set(Reminder.objects.filter(appointment__in=[cancelled, moved]).values_list("status", flat=True)) == {"void"}
    # At the old due times nothing goes out.
    for old in (cancelled, moved):
        sent, _ = _dispatch_and_send(old.start - timedelta(hours=24) + timedelta(minutes=1))
        assert sent == []
    assert backends.outbox == []
    assert mail.outbox == []
    # At the new time: exactly one SMS (and one e-mail only if opted in: this patient is SMS only).
    sent, _ = _dispatch_and_send(new.start - timedelta(hours=24) + timedelta(minutes=1))
    assert sorted(sent) == ["sent", "void"]
    assert len(backends.outbox) == 1
    assert mail.outbox == []
    sent_again, _ = _dispatch_and_send(new.start - timedelta(hours=23))
    assert sent_again == []
    assert len(backends.outbox) == 1


def test_after_downtime_the_dispatcher_catches_up_but_never_reminds_of_a_past_visit(
    clinic, opted_in, frontdesk, no_seeded_rules, django_capture_on_commit_callbacks
):
    make_rule(types=[clinic.consultation], hours=72, quiet=(time(0), time(0)))
    make_rule(types=[clinic.consultation], hours=24, quiet=(time(0), time(0)))
    appt = _book(clinic, opted_in, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    # Down from before the 72 h reminder until 2 h before the visit: both are still useful, both go.
    statuses, _ = _dispatch_and_send(appt.start - timedelta(hours=2))
    assert sorted(statuses) == ["sent"] * 4
    other = _book(
        clinic, opted_patient(email=False), frontdesk, at(local_day(6), 10), django_capture_on_commit_callbacks
    )
    # Down until after the visit started: nothing is sent, every row ends void.
    statuses, result = _dispatch_and_send(other.start + timedelta(minutes=5))
    assert statuses == []
    assert result.voided == 4
    assert set(other.reminders.values_list("status", flat=True)) == {"void"}


def test_rows_stuck_in_sending_after_a_crash_are_claimed_again(
    clinic, opted_in, frontdesk, rule24, django_capture_on_commit_callbacks
):
    appt = _book(clinic, opted_in, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    due = appt.start - timedelta(hours=24)
    with time_machine.travel(due, tick=False):
        first = dispatch.reminders_dispatch()
    assert len(first.claimed) == 2  # the worker "dies" here without sending
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        assert dispatch.reminders_dispatch().claimed == []
    statuses, result = _dispatch_and_send(due + dispatch.STUCK_SENDING + timedelta(minutes=1))
    assert result.requeued == 2
    assert statuses == ["sent", "sent"]


def test_only_channels_the_patient_opted_into_are_used(clinic, frontdesk, rule24, django_capture_on_commit_callbacks):
    patient = opted_patient(sms=False)
    appt = _book(clinic, patient, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    statuses, _ = _dispatch_and_send(appt.start - timedelta(hours=23))
    assert sorted(statuses) == ["sent", "void"]
    assert backends.outbox == []
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [patient.email]
    assert mail.outbox[0].alternatives[0].mimetype == "text/html"


def test_a_person_registered_from_the_inquiry_form_is_reminded_on_the_channels_they_gave(
    clinic, frontdesk, rule24, django_capture_on_commit_callbacks
):
    from inquiries.services import inquiry_convert
    from inquiries.tests.factories import InquiryFactory

    inquiry = InquiryFactory(contact_by_phone=False, contact_by_sms=True, contact_by_email=False)
    patient = inquiry_convert(inquiry=inquiry, by=frontdesk, duplicate_reason="Checked: a new person")
    appt = _book(clinic, patient, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    statuses, _ = _dispatch_and_send(appt.start - timedelta(hours=23))
    assert sorted(statuses) == ["sent", "void"]
    assert [m.to for m in backends.outbox] == [str(patient.phone)]
    assert mail.outbox == []


def test_texts_name_clinic_date_time_place_never_treatment_and_the_contact_log_shows_them(
    clinic, opted_in, frontdesk, no_seeded_rules, django_capture_on_commit_callbacks
):
    from importlib import import_module

    defaults = import_module("scheduling.migrations.0005_default_reminder_rules").DEFAULTS
    for spec in defaults:
        assert rules.template_problems(spec["text"]) == []
        make_rule(
            types=[clinic.infusion],
            hours=spec.get("hours_before"),
            local_time=spec.get("local_time"),
            kind=spec["kind"],
            text=spec["text"],
            quiet=(time(0), time(0)),
        )
    appt = _book(clinic, opted_in, frontdesk, at(local_day(5), 9), django_capture_on_commit_callbacks, kind="infusion")
    statuses, _ = _dispatch_and_send(appt.start - timedelta(hours=1))
    assert statuses.count("sent") == 6
    local = appt.start.astimezone(clinic.site.zone)
    for message in backends.outbox:
        assert rules.denied_words_in(message.body) == set()
        assert clinic.site.name in message.body
        assert local.strftime("%-I:%M") in message.body
        assert opted_in.legal_last_name not in message.body
    log = ContactLogEntry.objects.filter(patient=opted_in)
    assert log.count() == 6
    for entry in log:
        assert entry.by is None
        assert entry.direction == "out"
        assert "sent" in entry.summary
    assert {e.channel for e in log} == {"sms", "email"}


# --- F6: provider failures against a local stub ---------------------------------------------


@pytest.fixture
def twilio(settings):
    def configure(stub):
        settings.SMS_BACKEND = "notifications.backends.TwilioSmsBackend"
        settings.SMS_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
        settings.SMS_TWILIO_AUTH_TOKEN = "test-token"
        settings.SMS_TWILIO_FROM = "+15005550006"
        settings.SMS_TWILIO_BASE_URL = stub.url
        settings.SMS_TIMEOUT_SECONDS = "0.3"

    return configure


def test_twilio_backend_posts_the_message_with_basic_auth_and_returns_the_sid(twilio):
    with StubProvider() as stub:
        twilio(stub)
        ids = TwilioSmsBackend().send_messages([SmsMessage(to="+12125550100", body="Hello", idempotency_key="k1")])
    assert ids == ["SM" + "1".zfill(32)]
    request = stub.received[0]
    assert request["path"] == "/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"
    assert request["form"] == {"To": "+12125550100", "Body": "Hello", "From": "+15005550006"}
    assert request["auth"].startswith("Basic ")
    assert request["key"] == "k1"


def test_provider_5xx_and_timeouts_are_retried_with_backoff_then_succeed(
    clinic, frontdesk, no_seeded_rules, twilio, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    make_rule(types=[clinic.consultation], hours=24, email=False)
    patient = opted_patient(email=False)
    appt = _book(clinic, patient, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    with StubProvider(script=[503, "timeout", 500]) as stub:
        twilio(stub)
        with time_machine.travel(appt.start - timedelta(hours=23), tick=True):
            claimed = dispatch.reminders_dispatch().claimed
            tasks.send_reminder.apply(args=[claimed[0]])
    row = Reminder.objects.get(pk=claimed[0])
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 4, "SM" + "4".zfill(32))
    assert len(stub.received) == 4
    assert {r["key"] for r in stub.received} == {row.idempotency_key}


def test_after_the_last_retry_the_reminder_fails_and_administrators_are_alerted_without_phi(
    clinic, frontdesk, no_seeded_rules, twilio, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.ADMINS = [("Ops", "ops@example.org")]
    make_rule(types=[clinic.consultation], hours=24, email=False)
    patient = opted_patient(email=False)
    appt = _book(clinic, patient, frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks)
    with StubProvider(script=[503] * 20) as stub:
        twilio(stub)
        with time_machine.travel(appt.start - timedelta(hours=23), tick=True):
            claimed = dispatch.reminders_dispatch().claimed
            tasks.send_reminder.apply(args=[claimed[0]])
    row = Reminder.objects.get(pk=claimed[0])
    assert (row.status, row.attempts) == ("failed", send.MAX_ATTEMPTS)
    assert len(stub.received) == send.MAX_ATTEMPTS  # bounded
    assert "503" in row.last_error
    [alert] = mail.outbox
    assert alert.to == ["ops@example.org"]
    text = alert.subject + alert.body
    for phi in (patient.legal_last_name, patient.legal_first_name, str(patient.phone), patient.mrn, clinic.site.name):
        assert phi not in text
    assert ContactLogEntry.objects.filter(patient=patient, summary__contains="FAILED").count() == 1


def test_retry_delays_grow_exponentially_and_stay_short():
    delays = [min(tasks.RETRY_BASE_SECONDS * 2 ** (a - 1), tasks.RETRY_MAX_SECONDS) for a in range(1, 6)]
    assert delays == sorted(delays)
    assert delays[0] == 30
    assert max(delays) <= 600


def test_a_provider_refusal_is_not_retried(
    clinic, frontdesk, no_seeded_rules, twilio, django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    make_rule(types=[clinic.consultation], hours=24, email=False)
    appt = _book(
        clinic, opted_patient(email=False), frontdesk, at(local_day(5), 10), django_capture_on_commit_callbacks
    )
    with StubProvider(script=[400]) as stub:
        twilio(stub)
        with time_machine.travel(appt.start - timedelta(hours=23), tick=True):
            claimed = dispatch.reminders_dispatch().claimed
            tasks.send_reminder.apply(args=[claimed[0]])
    assert Reminder.objects.get(pk=claimed[0]).status == "failed"
    assert len(stub.received) == 1


def test_an_administrator_cannot_save_a_rule_whose_text_names_the_treatment(clinic, no_seeded_rules):
    from django.core.exceptions import ValidationError

    from reminders.models import ReminderRule

    rule = ReminderRule(
        name="x",
        kind="appointment_reminder",
        offset_mode="hours_before",
        hours_before=24,
        text="Your ketamine infusion with {first_name} on {date}",
    )
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert "text" in caught.value.message_dict


def test_dispatch_takes_a_bounded_number_of_queries(
    clinic, frontdesk, rule24, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    appts = [
        _book(clinic, opted_patient(), frontdesk, at(local_day(5), 9 + i), django_capture_on_commit_callbacks)
        for i in range(5)
    ]
    with time_machine.travel(appts[-1].start - timedelta(hours=23), tick=False), django_assert_max_num_queries(5):
        result = dispatch.reminders_dispatch()
    assert len(result.claimed) == 10
