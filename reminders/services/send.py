"""Sending claimed reminders: re-read, claim each attempt, deliver, record.

:func:`reminders_send` (the send task, a batch of ids) re-reads everything, claims the rows
idempotently (a compare-and-swap in raw SQL, one statement for the batch) and sends;
:func:`reminder_send` is the same for one row (the retry task).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.utils import formats, timezone

from notifications.backends import SmsError, SmsRejected
from notifications.email import send_templated_email
from notifications.sms import get_sms_backend, send_sms
from patients.services import contact_log_entries_create, contact_log_entry_create
from reminders import rules
from reminders.models import Channel, Reminder, ReminderStatus
from reminders.services import alerting, links
from scheduling.models import ACTIVE_STATUSES, Appointment

# Send attempts before a reminder is marked failed (each with exponential backoff).
MAX_ATTEMPTS = 5


class TemporarySendError(Exception):
    """The provider failed in a way a retry may fix; the task retries with backoff."""


def message_context(appointment: Appointment, link: str = "") -> dict[str, str]:
    location = appointment.location
    local = appointment.start.astimezone(location.zone)
    return {
        "clinic": settings.CLINIC_NAME,
        "date": formats.date_format(local, "l, F j"),
        "time": formats.time_format(local),
        "location": location.name,
        "address": location.address,
        "link": link,
    }


def _finish(reminder_id: int, **fields) -> None:
    Reminder.objects.filter(pk=reminder_id).update(updated_at=timezone.now(), **fields)


@dataclass
class BatchResult:
    """What :func:`reminders_send` did with each id.

    ``statuses``: id → "sent", "void", "failed", "taken" (another copy of the task holds the row),
    "missing", the row's status when it was not in "sending", or "retry" (a temporary provider error:
    the row stays in "sending" and ``retry`` holds its attempts so far and the error).
    """

    statuses: dict[int, str] = field(default_factory=dict)
    retry: dict[int, tuple[int, str]] = field(default_factory=dict)


def reminder_send(*, reminder_id: int, attempt: int = 1, max_attempts: int = MAX_ATTEMPTS) -> str:
    """Send one claimed reminder; return its final status (or raise TemporarySendError to retry).

    The single-reminder retry path: the batch code with one id, ``attempts`` set to ``attempt``
    (the task's retry count) rather than incremented.
    """
    result = _send(reminder_ids=[reminder_id], attempt=attempt, max_attempts=max_attempts)
    if reminder_id in result.retry:
        raise TemporarySendError(result.retry[reminder_id][1])
    return result.statuses[reminder_id]


def reminders_send(*, reminder_ids: list[int], max_attempts: int = MAX_ATTEMPTS) -> BatchResult:
    """Send a batch of claimed reminders: each exactly as :func:`reminder_send` would, in a few statements.

    Idempotent: only rows in ``sending`` are sent; each row's attempt is claimed by a compare-and-swap
    on ``claimed_at`` (all rows in one statement) so of two copies of a batch only one sends a row; a
    sent row has its provider id recorded in the statement that marks it sent. Temporary provider
    errors leave the row in ``sending`` with ``retry`` set for the caller to re-enqueue.
    """
    return _send(reminder_ids=reminder_ids, attempt=None, max_attempts=max_attempts)


def _send(*, reminder_ids: list[int], attempt: int | None, max_attempts: int) -> BatchResult:
    result = BatchResult()
    ids = list(dict.fromkeys(reminder_ids))
    rows = {
        r.pk: r
        for r in Reminder.objects.select_related("rule", "appointment__location", "appointment__patient")
        # Phone numbers are parsed on load; a send needs the patient's own only.
        .defer("appointment__patient__emergency_contact_phone", "appointment__patient__escort_phone")
        .filter(pk__in=ids)
    }
    now = timezone.now()
    closed: dict[tuple[str, str | None], list[int]] = {}  # (status, last_error) → ids, one UPDATE each
    text_refused: list[Reminder] = []
    ready: list[tuple[Reminder, str]] = []  # (reminder, address)
    outcome: tuple[str, str | None]  # (status, last_error)
    for rid in ids:
        reminder = rows.get(rid)
        if reminder is None or reminder.status != ReminderStatus.SENDING:
            result.statuses[rid] = reminder.status if reminder else "missing"
            continue
        appointment = reminder.appointment
        address = _address(reminder)
        if (
            appointment.status not in ACTIVE_STATUSES
            or appointment.start != reminder.appointment_start
            or appointment.start <= now
        ):
            outcome = (ReminderStatus.VOID, None)
        elif not address:
            outcome = (ReminderStatus.VOID, "Patient has not opted in on this channel.")
        # Checked with a placeholder link first; the real (single-use) link is made once this attempt
        # holds the row. A location name or address could still slip a denied word in.
        elif rules.denied_words_in(rules.render(reminder.rule.text, message_context(appointment, _link(reminder)))):
            outcome = (ReminderStatus.FAILED, "Text failed the minimum-necessary check.")
            text_refused.append(reminder)
        else:
            ready.append((reminder, address))
            continue
        closed.setdefault(outcome, []).append(rid)
        result.statuses[rid] = outcome[0]
    for (status, error), group in closed.items():
        Reminder.objects.filter(pk__in=group).update(
            status=status, updated_at=timezone.now(), **({"last_error": error} if error else {})
        )
    for reminder in text_refused:
        alerting.alert_send_failed(reminder, "its text failed the minimum-necessary check")
    if not ready:
        return result

    with transaction.atomic():  # a claimed row always has its link
        attempts = _claim([r for r, _ in ready], now=now, attempt=attempt)
        tokens = links.reminder_links_issue(
            reminders=[r for r, _ in ready if r.pk in attempts and r.kind in links.LINK_KINDS]
        )

    backend = get_sms_backend() if any(r.channel == Channel.SMS for r, _ in ready) else None
    mailer = _open_mail_connection() if any(r.channel == Channel.EMAIL for r, _ in ready) else None
    sent: list[tuple[Reminder, str, str]] = []  # (reminder, provider id, text for the contact log)
    try:
        for reminder, address in ready:
            rid = reminder.pk
            if rid not in attempts:
                result.statuses[rid] = "taken"
                continue
            context = message_context(reminder.appointment, link=_link(reminder, tokens.get(rid)))
            body = rules.render(reminder.rule.text, context)
            try:
                provider_id = _deliver(
                    reminder, address=address, body=body, context=context, backend=backend, mailer=mailer
                )
            except SmsRejected as exc:
                result.statuses[rid] = _fail(reminder, str(exc))
                continue
            except (SmsError, OSError) as exc:  # smtplib's errors are OSErrors
                if mailer is not None and reminder.channel == Channel.EMAIL:
                    _close_quietly(mailer)  # a broken SMTP session: start a fresh one for the rest
                    mailer = _open_mail_connection()
                error = str(exc) if isinstance(exc, SmsError) else type(exc).__name__
                if attempts[rid] >= max_attempts:
                    result.statuses[rid] = _fail(reminder, error)
                else:
                    _finish(rid, last_error=error[:200])
                    result.statuses[rid] = "retry"
                    result.retry[rid] = (attempts[rid], error)
                continue
            # The contact log shows the text without the token: only its hash may be kept (A9).
            logged = rules.render(reminder.rule.text, {**context, "link": links.LOGGED_LINK}) if rid in tokens else body
            sent.append((reminder, provider_id, logged))
            result.statuses[rid] = ReminderStatus.SENT
    except Exception:
        # An unexpected error (or the soft time limit) mid-batch: what already went out is still
        # recorded as sent; the rest stays in "sending" for the dispatcher to re-queue.
        _record_sent(sent)
        raise
    finally:
        if mailer is not None:
            _close_quietly(mailer)
    _record_sent(sent)
    return result


def _open_mail_connection():
    """One e-mail connection for the batch (one SMTP session, not one per message). If it cannot
    open now, each message tries on its own and a failure takes the usual retry path."""
    connection = get_connection()
    with contextlib.suppress(OSError):
        connection.open()
    return connection


def _close_quietly(connection) -> None:
    with contextlib.suppress(OSError):
        connection.close()


def _record_sent(sent: list[tuple[Reminder, str, str]]) -> None:
    """Mark delivered rows sent and log each once, in one transaction (rows already sent are skipped)."""
    if not sent:
        return
    with transaction.atomic():
        done = _mark_sent([(r.pk, provider_id) for r, provider_id, _ in sent])
        contact_log_entries_create(
            entries=[
                {
                    "patient": r.appointment.patient,
                    "by": None,
                    "channel": r.channel,
                    "direction": "out",
                    "summary": f"{r.get_kind_display()} sent by {r.get_channel_display()}: {logged}"[:300],
                }
                for r, _, logged in sent
                if r.pk in done  # a row another copy marked sent first is logged once, by that copy
            ]
        )


def _address(reminder: Reminder) -> str:
    """Where this reminder may go: the patient's number or address if they opted in on its channel."""
    patient = reminder.appointment.patient
    if reminder.channel == Channel.SMS:
        return str(patient.phone) if patient.sms_opt_in and patient.phone else ""
    return patient.email if patient.email_opt_in and patient.email else ""


def _claim(reminders: list[Reminder], *, now: datetime, attempt: int | None) -> dict[int, int]:
    """Claim this attempt at each row: id → attempts, for the rows this call now holds.

    A compare-and-swap on ``claimed_at`` per row, all in one statement: of two copies of a task (a
    redelivery racing a re-claim) only one finds ``claimed_at`` as it loaded it; the other gets
    nothing back for that row and leaves it alone. ``attempt`` (the single task's retry count) sets
    ``attempts``; a batch adds one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scheduling_reminder AS r
               SET claimed_at = %s, updated_at = %s, attempts = COALESCE(%s::smallint, r.attempts + 1)
              FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, claimed_at)
             WHERE r.id = v.id AND r.status = %s AND r.claimed_at IS NOT DISTINCT FROM v.claimed_at
            RETURNING r.id, r.attempts
            """,
            [
                now,
                now,
                attempt,
                [r.pk for r in reminders],
                [r.claimed_at for r in reminders],
                ReminderStatus.SENDING,
            ],
        )
        return dict(cursor.fetchall())


def _mark_sent(sent: list[tuple[int, str]]) -> set[int]:
    """Mark rows still in ``sending`` sent with their provider ids, in one statement; return those ids."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE scheduling_reminder AS r
               SET status = %s, sent_at = %s, provider_message_id = v.provider_id, last_error = '', updated_at = %s
              FROM unnest(%s::bigint[], %s::text[]) AS v(id, provider_id)
             WHERE r.id = v.id AND r.status = %s
            RETURNING r.id
            """,
            [
                ReminderStatus.SENT,
                now,
                now,
                [rid for rid, _ in sent],
                [provider_id[:120] for _, provider_id in sent],
                ReminderStatus.SENDING,
            ],
        )
        return {rid for (rid,) in cursor.fetchall()}


def _deliver(reminder: Reminder, *, address: str, body: str, context: dict[str, str], backend, mailer=None) -> str:
    """Hand one message to the provider under the reminder's idempotency key; return the provider's id."""
    if reminder.channel == Channel.SMS:
        return send_sms(to=address, body=body, idempotency_key=reminder.idempotency_key, backend=backend)
    return send_templated_email(
        to=address,
        subject=rules.render(reminder.rule.subject, context),
        template="notifications/reminder_email",
        context={**context, "body": body},
        idempotency_key=reminder.idempotency_key,
        connection=mailer,
    )


def _link(reminder: Reminder, token: str | None = None) -> str:
    """What {link} says: the confirm/cancel link, or the clinic's phone for other kinds.

    Without a token a link kind gets a placeholder of the same length and shape, for the
    minimum-necessary check before the row is claimed.
    """
    if reminder.kind in links.LINK_KINDS:
        return links.link_url(token or "x" * 43)
    phone = reminder.appointment.location.phone
    return f"call {phone.as_national if hasattr(phone, 'as_national') and phone else phone}" if phone else "call us"


def _fail(reminder: Reminder, error: str) -> str:
    with transaction.atomic():
        done = Reminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SENDING).update(
            status=ReminderStatus.FAILED, last_error=error[:200], updated_at=timezone.now()
        )
        if done:
            contact_log_entry_create(
                patient=reminder.appointment.patient,
                by=None,
                channel=reminder.channel,
                direction="out",
                summary=f"{reminder.get_kind_display()} by {reminder.get_channel_display()} FAILED: {error}"[:300],
            )
    if done:
        alerting.alert_send_failed(reminder, error)
    return ReminderStatus.FAILED
