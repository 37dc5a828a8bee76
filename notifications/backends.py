"""SMS backends: one small interface, like Django's e-mail backends.

``send_messages(messages)`` returns one provider message id per message, in
order, or raises :class:`SmsProviderError` (a temporary failure the caller may
retry) / :class:`SmsRejected` (permanent: do not retry). Backends never log the
message text or the number (PHI).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    # Stable per logical message; providers that support it de-duplicate on it.
    idempotency_key: str = ""


class SmsError(Exception):
    """Base class; the message says what failed, never to whom or what was sent."""


class SmsProviderError(SmsError):
    """Temporary: the provider was down, slow or said 5xx/429. Retrying may succeed."""


class SmsRejected(SmsError):
    """Permanent: the provider refused the message (4xx). Retrying will not help."""


class BaseSmsBackend:
    def __init__(self, **options):
        self.options = options

    def send_messages(self, messages: list[SmsMessage]) -> list[str]:  # pragma: no cover - interface
        raise NotImplementedError


class FileSmsBackend(BaseSmsBackend):
    """Writes each message as a JSON file under ``SMS_FILE_PATH`` (the development outbox)."""

    def send_messages(self, messages: list[SmsMessage]) -> list[str]:
        directory = Path(self.options.get("file_path") or settings.SMS_FILE_PATH)
        directory.mkdir(parents=True, exist_ok=True)
        ids = []
        for message in messages:
            if message.idempotency_key:
                # Provider-side de-duplication, like a real gateway honouring an idempotency key:
                # the same key sent twice (a retry after a crash) is delivered once.
                existing = directory / f"key-{_safe(message.idempotency_key)}.json"
                if existing.exists():
                    ids.append(json.loads(existing.read_text(encoding="utf-8"))["id"])
                    continue
            message_id = f"file-{secrets.token_hex(8)}"
            payload = {
                "id": message_id,
                "to": message.to,
                "body": message.body,
                "idempotency_key": message.idempotency_key,
                "at": datetime.now(UTC).isoformat(),
            }
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"key-{_safe(message.idempotency_key)}" if message.idempotency_key else f"{stamp}-{message_id}"
            target = directory / f"{name}.json"
            tmp = target.with_suffix(".tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, target)  # a reader never sees half a file
            ids.append(message_id)
        return ids


def _safe(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in key)[:100]


# Test outbox, like django.core.mail.outbox.
outbox: list[SmsMessage] = []


class LocmemSmsBackend(BaseSmsBackend):
    """Keeps messages in ``notifications.backends.outbox`` (tests)."""

    def send_messages(self, messages: list[SmsMessage]) -> list[str]:
        ids = []
        for message in messages:
            outbox.append(message)
            ids.append(f"locmem-{len(outbox)}")
        return ids


class TwilioSmsBackend(BaseSmsBackend):
    """A Twilio-compatible REST API: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``.

    Configured from the environment (never from the database): ``SMS_TWILIO_ACCOUNT_SID``,
    ``SMS_TWILIO_AUTH_TOKEN``, ``SMS_TWILIO_FROM`` (a number or messaging service id starting
    with ``MG``), ``SMS_TWILIO_BASE_URL`` (default https://api.twilio.com) and
    ``SMS_TIMEOUT_SECONDS`` (default 10).
    """

    def _setting(self, name: str, default: str = "") -> str:
        return str(self.options.get(name.lower()) or getattr(settings, name, "") or os.environ.get(name, default))

    def send_messages(self, messages: list[SmsMessage]) -> list[str]:
        sid = self._setting("SMS_TWILIO_ACCOUNT_SID")
        token = self._setting("SMS_TWILIO_AUTH_TOKEN")
        sender = self._setting("SMS_TWILIO_FROM")
        base = self._setting("SMS_TWILIO_BASE_URL", "https://api.twilio.com").rstrip("/")
        timeout = float(self._setting("SMS_TIMEOUT_SECONDS", "10") or 10)
        if not (sid and token and sender):
            raise SmsRejected("The SMS provider is not configured (account SID, auth token, sender).")
        if not base.startswith(("https://", "http://")):
            raise SmsRejected("SMS_TWILIO_BASE_URL must be an http(s) URL.")
        url = f"{base}/2010-04-01/Accounts/{urllib.parse.quote(sid)}/Messages.json"
        auth = base64.b64encode(f"{sid}:{token}".encode()).decode()
        ids = []
        for message in messages:
            fields = {"To": message.to, "Body": message.body}
            fields["MessagingServiceSid" if sender.startswith("MG") else "From"] = sender
            request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
                url,
                data=urllib.parse.urlencode(fields).encode(),
                method="POST",
                headers={
                    "Authorization": f"Basic {auth}",
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                    # Honoured by Twilio-compatible gateways that de-duplicate retries.
                    "I-Twilio-Idempotency-Token": message.idempotency_key,
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
                    payload = json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                if exc.code == 429 or exc.code >= 500:
                    raise SmsProviderError(f"SMS provider answered HTTP {exc.code}.") from None
                raise SmsRejected(f"SMS provider refused the message (HTTP {exc.code}).") from None
            except (TimeoutError, urllib.error.URLError, OSError) as exc:
                raise SmsProviderError(f"SMS provider unreachable ({type(exc).__name__}).") from None
            except ValueError:
                raise SmsProviderError("SMS provider sent an unreadable answer.") from None
            ids.append(str(payload.get("sid", "")))
        return ids
