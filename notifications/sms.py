"""``send_sms()``: the one call other apps make to text someone."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.backends import BaseSmsBackend, SmsMessage


def get_sms_backend(path: str | None = None, **options) -> BaseSmsBackend:
    return import_string(path or settings.SMS_BACKEND)(**options)


def send_sms(*, to: str, body: str, idempotency_key: str = "", backend: BaseSmsBackend | None = None) -> str:
    """Send one text; return the provider's message id. Raises ``notifications.backends.SmsError``."""
    backend = backend or get_sms_backend()
    return backend.send_messages([SmsMessage(to=to, body=body, idempotency_key=idempotency_key)])[0]
