"""SMS backends and the e-mail helper."""

from __future__ import annotations

import json

import pytest
from django.core import mail

from notifications import backends
from notifications.backends import FileSmsBackend, SmsMessage, SmsProviderError, SmsRejected, TwilioSmsBackend
from notifications.email import alert_administrators, send_templated_email
from notifications.sms import send_sms


def test_file_backend_writes_one_json_file_per_message(tmp_path):
    ids = FileSmsBackend(file_path=tmp_path).send_messages([SmsMessage("+12125550100", "Hi"), SmsMessage("+1", "Yo")])
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 2
    assert {json.loads(f.read_text())["id"] for f in files} == set(ids)


def test_file_backend_delivers_a_repeated_idempotency_key_once(tmp_path):
    backend = FileSmsBackend(file_path=tmp_path)
    first = backend.send_messages([SmsMessage("+12125550100", "Hi", idempotency_key="a1-r1-sms-1")])
    again = backend.send_messages([SmsMessage("+12125550100", "Hi", idempotency_key="a1-r1-sms-1")])
    assert first == again
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_send_sms_uses_the_configured_backend(settings):
    settings.SMS_BACKEND = "notifications.backends.LocmemSmsBackend"
    backends.outbox.clear()
    message_id = send_sms(to="+12125550100", body="Hello", idempotency_key="k")
    assert message_id.startswith("locmem-")
    assert backends.outbox[-1].body == "Hello"
    backends.outbox.clear()


def test_twilio_backend_without_credentials_refuses_rather_than_guessing(settings):
    settings.SMS_TWILIO_ACCOUNT_SID = ""
    with pytest.raises(SmsRejected):
        TwilioSmsBackend().send_messages([SmsMessage("+1", "x")])


def test_twilio_backend_reports_an_unreachable_provider_as_temporary(settings):
    settings.SMS_TWILIO_ACCOUNT_SID = "AC1"
    settings.SMS_TWILIO_AUTH_TOKEN = "t"
    settings.SMS_TWILIO_FROM = "+15005550006"
    settings.SMS_TWILIO_BASE_URL = "http://127.0.0.1:9"  # discard port: connection refused
    settings.SMS_TIMEOUT_SECONDS = "0.5"
    with pytest.raises(SmsProviderError) as caught:
        TwilioSmsBackend().send_messages([SmsMessage("+12125550100", "secret text")])
    assert "secret" not in str(caught.value)
    assert "+1212" not in str(caught.value)


def test_templated_email_has_plain_text_and_html_parts():
    context = {"body": "See you Monday", "clinic": "C", "location": "L", "address": "", "link": "https://x/r"}
    send_templated_email(to="p@example.org", subject="Hi", template="notifications/reminder_email", context=context)
    [message] = mail.outbox
    assert "See you Monday" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "See you Monday" in html


@pytest.mark.django_db
def test_alerts_go_to_the_configured_administrators(settings):
    settings.ADMINS = [("Ops", "ops@example.org")]
    alert_administrators(subject="Reminder failed", body="Reminder #1 failed")
    [message] = mail.outbox
    assert message.to == ["ops@example.org"]
