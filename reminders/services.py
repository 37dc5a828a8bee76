"""Reminder writes: sync from the calendar, dispatch due rows, send one reminder.

* :func:`reminders_sync` recomputes the wanted set for one appointment and
  upserts it (pending rows move with the visit; stale ones become void). The
  scheduling services call it through :func:`sync_on_commit`.
* :func:`reminders_dispatch` (every minute from beat) claims due rows with
  ``SELECT … FOR UPDATE SKIP LOCKED`` and returns their ids to enqueue.
* :func:`reminders_send` (the send task, a batch of ids) re-reads everything, claims the rows
  idempotently and sends; :func:`reminder_send` is the same for one row (the retry task).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import formats, timezone

from notifications.backends import SmsError, SmsRejected
from notifications.email import alert_administrators, send_templated_email
from notifications.sms import get_sms_backend, send_sms
from reminders import rules
from reminders.models import Channel, LinkAction, Reminder, ReminderLink, ReminderRule, ReminderStatus
from scheduling.models import ACTIVE_STATUSES, Appointment

log = logging.getLogger(__name__)

# A row left in "sending" longer than this is taken to be from a crashed worker and re-queued.
STUCK_SENDING = timedelta(minutes=10)
# Send attempts before a reminder is marked failed (each with exponential backoff).
MAX_ATTEMPTS = 5
DISPATCH_BATCH = 1000
# A reminder whose time passed less than this long ago when the visit is booked is still sent
# (at once); an older one is skipped (e.g. the 72 h reminder of a visit booked for tomorrow).
LATE_GRACE = timedelta(hours=12)
DEV_SITE_URL = "http://127.0.0.1:8000"


class TemporarySendError(Exception):
    """The provider failed in a way a retry may fix; the task retries with backoff."""


# --- Sync from the calendar ----------------------------------------------------------


def _rules_for(appointment: Appointment) -> list[ReminderRule]:
    return list(
        ReminderRule.objects.filter(active=True, appointment_types=appointment.appointment_type_id)
        .filter(Q(location__isnull=True) | Q(location=appointment.location_id))
        .distinct()
    )


def wanted_reminders(appointment: Appointment, rule_list: list[ReminderRule]) -> dict[tuple[int, str], datetime]:
    """(rule id, channel) → due instant, for an active appointment (pure given the rows)."""
    if appointment.status not in ACTIVE_STATUSES:
        return {}
    tz_name = appointment.location.time_zone
    wanted = {}
    for rule in rule_list:
        offset = rules.Offset(mode=rule.offset_mode, hours_before=rule.hours_before, local_time=rule.local_time)
        due = rules.scheduled_at(
            start=appointment.start,
            tz_name=tz_name,
            offset=offset,
            quiet=rules.QuietHours(rule.quiet_start, rule.quiet_end),
        )
        for channel in rule.channels:
            wanted[(rule.pk, channel)] = due
    return wanted


def idempotency_key(appointment_id: int, rule_id: int, channel: str, start: datetime) -> str:
    return f"a{appointment_id}-r{rule_id}-{channel}-{int(start.timestamp())}"


@transaction.atomic
def reminders_sync(*, appointment_id: int) -> dict[str, int]:
    """Make the appointment's pending reminders match its current time, status and the rules. Idempotent."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",)).select_related("location").filter(pk=appointment_id).first()
    )
    counts = {"created": 0, "updated": 0, "voided": 0}
    if appointment is None:
        return counts
    rule_list = _rules_for(appointment)
    wanted = wanted_reminders(appointment, rule_list)
    kinds = {r.pk: r.kind for r in rule_list}
    existing = {(r.rule_id, r.channel): r for r in appointment.reminders.all()}
    now = timezone.now()
    for key, reminder in existing.items():
        if reminder.status != ReminderStatus.PENDING:
            continue  # sent, failed and void stay as history; sending is the task's
        due = wanted.get(key)
        if due is None:
            reminder.status = ReminderStatus.VOID
            reminder.save(update_fields=["status", "updated_at"])
            counts["voided"] += 1
        elif reminder.due_at != due or reminder.appointment_start != appointment.start:
            reminder.due_at = due
            reminder.appointment_start = appointment.start
            reminder.idempotency_key = idempotency_key(appointment.pk, key[0], key[1], appointment.start)
            reminder.save(update_fields=["due_at", "appointment_start", "idempotency_key", "updated_at"])
            counts["updated"] += 1
    new = [
        Reminder(
            appointment=appointment,
            rule_id=rule_id,
            kind=kinds[rule_id],
            channel=channel,
            idempotency_key=idempotency_key(appointment.pk, rule_id, channel, appointment.start),
            appointment_start=appointment.start,
            due_at=due,
        )
        for (rule_id, channel), due in wanted.items()
        if (rule_id, channel) not in existing and due > now - LATE_GRACE
    ]
    Reminder.objects.bulk_create(new, ignore_conflicts=True)
    counts["created"] = len(new)
    return counts


def reminders_bulk_create(*, appointments: list[Appointment], now: datetime | None = None) -> int:
    """Pending reminders for many new appointments at once (demo seeding, imports); skips existing keys.

    Appointments must carry ``location`` and ``appointment_type_id``; the rules are read once.
    """
    now = now or timezone.now()
    all_rules = list(ReminderRule.objects.filter(active=True).prefetch_related("appointment_types"))
    types_of = {r.pk: {t.pk for t in r.appointment_types.all()} for r in all_rules}
    rows = []
    for appointment in appointments:
        applicable = [
            r
            for r in all_rules
            if appointment.appointment_type_id in types_of[r.pk] and r.location_id in (None, appointment.location_id)
        ]
        for (rule_id, channel), due in wanted_reminders(appointment, applicable).items():
            if due > now - LATE_GRACE:
                rows.append(
                    Reminder(
                        appointment_id=appointment.pk,
                        rule_id=rule_id,
                        kind=next(r.kind for r in applicable if r.pk == rule_id),
                        channel=channel,
                        idempotency_key=idempotency_key(appointment.pk, rule_id, channel, appointment.start),
                        appointment_start=appointment.start,
                        due_at=due,
                    )
                )
    Reminder.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def sync_on_commit(appointment_id: int) -> None:
    """Called by the scheduling services: sync after the booking commits (never for a rolled-back one)."""
    transaction.on_commit(lambda: reminders_sync(appointment_id=appointment_id))


# --- Dispatch ------------------------------------------------------------------------


@dataclass
class DispatchResult:
    claimed: list[int]
    voided: int
    requeued: int


@transaction.atomic
def reminders_dispatch(*, now: datetime | None = None, limit: int = DISPATCH_BATCH) -> DispatchResult:
    """Claim due pending reminders (skip rows another dispatcher holds); void stale ones.

    A reminder is stale when its appointment is no longer active, has moved, or
    has already started: after downtime the dispatcher catches up on what is
    still useful and never sends a reminder for a visit in the past.
    """
    now = now or timezone.now()
    requeued = Reminder.objects.filter(status=ReminderStatus.SENDING, claimed_at__lt=now - STUCK_SENDING).update(
        status=ReminderStatus.PENDING, updated_at=now
    )
    rows = list(
        Reminder.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=ReminderStatus.PENDING, due_at__lte=now)
        .select_related("appointment")
        .order_by("due_at", "id")[:limit]
    )
    stale = [
        r.pk
        for r in rows
        if r.appointment.status not in ACTIVE_STATUSES
        or r.appointment.start != r.appointment_start
        or r.appointment.start <= now
    ]
    claimed = [r.pk for r in rows if r.pk not in set(stale)]
    if stale:
        Reminder.objects.filter(pk__in=stale).update(status=ReminderStatus.VOID, updated_at=now)
    if claimed:
        Reminder.objects.filter(pk__in=claimed).update(status=ReminderStatus.SENDING, claimed_at=now, updated_at=now)
    return DispatchResult(claimed=claimed, voided=len(stale), requeued=requeued)


# --- Overdue alert -------------------------------------------------------------------

# "Alert on oldest overdue unsent reminder > 5 min" (security-reference R6); REMINDER_OVERDUE_ALERT_MINUTES
# in the environment changes it.
OVERDUE_ALERT_MINUTES_DEFAULT = 5


def overdue_after() -> timedelta:
    minutes = getattr(settings, "REMINDER_OVERDUE_ALERT_MINUTES", None)
    if minutes is None:
        minutes = int(os.environ.get("REMINDER_OVERDUE_ALERT_MINUTES", OVERDUE_ALERT_MINUTES_DEFAULT))
    return timedelta(minutes=max(1, int(minutes)))


def reminders_overdue_check(*, now: datetime | None = None) -> int:
    """Tell administrators, once, about reminders still unsent well past their due time.

    Pending or sending rows due more than :func:`overdue_after` ago mean the dispatcher or the
    worker is not running (or the broker lost the send tasks). Each such row is alerted about once
    (``overdue_alerted_at``); one message covers all rows found in a check. Returns how many rows
    were newly alerted. Called every minute by the dispatcher task and, throttled, by the
    administrator's home page and ``manage.py reminders_check`` (the dispatcher may be the thing
    that is down).
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING],
                due_at__lt=now - overdue_after(),
                overdue_alerted_at__isnull=True,
            )
            .order_by("due_at")
            .values_list("pk", "due_at")[:5000]
        )
        if not rows:
            return 0
        Reminder.objects.filter(pk__in=[pk for pk, _ in rows]).update(overdue_alerted_at=now)
    oldest = rows[0][1]
    minutes = int((now - oldest).total_seconds() // 60)
    transaction.on_commit(
        lambda: alert_administrators(
            subject="Patient reminders are overdue and unsent",
            body=(
                f"{len(rows)} reminder(s) are still unsent more than {int(overdue_after().total_seconds() // 60)} "
                f"minutes after they were due (the oldest by {minutes} minutes). The reminder dispatcher "
                "(Celery beat) or the Celery worker is probably not running, or the broker is unreachable. "
                "Check the worker and beat processes; once they run again, reminders still useful are sent "
                "and those for visits already past are skipped."
            ),
        )
    )
    return len(rows)


def overdue_unsent_count(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    return Reminder.objects.filter(
        status__in=[ReminderStatus.PENDING, ReminderStatus.SENDING], due_at__lt=now - overdue_after()
    ).count()


# --- Send ----------------------------------------------------------------------------


def message_context(appointment: Appointment, link: str = "") -> dict[str, str]:
    location = appointment.location
    local = appointment.start.astimezone(location.zone)
    return {
        "clinic": getattr(settings, "CLINIC_NAME", "the clinic"),
        "date": formats.date_format(local, "l, F j"),
        "time": formats.time_format(local, "g:i A"),
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
        _alert(reminder, "its text failed the minimum-necessary check")
    if not ready:
        return result

    with transaction.atomic():  # a claimed row always has its link
        attempts = _claim([r for r, _ in ready], now=now, attempt=attempt)
        tokens = reminder_links_issue(reminders=[r for r, _ in ready if r.pk in attempts and r.kind in LINK_KINDS])

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
            logged = rules.render(reminder.rule.text, {**context, "link": LOGGED_LINK}) if rid in tokens else body
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
    from patients.services import contact_log_entries_create

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
    if reminder.kind in LINK_KINDS:
        return link_url(token or "x" * 43)
    phone = reminder.appointment.location.phone
    return f"call {phone.as_national if hasattr(phone, 'as_national') and phone else phone}" if phone else "call us"


# --- Confirm / cancel links (security-reference A9 shape) ----------------------------

# Reminders about a visit carry the link; other kinds (questionnaires, follow-up due) do not.
LINK_KINDS = {"appointment_reminder", "pre_infusion_instructions"}
LOGGED_LINK = "[confirm/cancel link]"


def hash_link_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    # SITE_URL: the public address patients reach (https://clinic.example); the development default
    # is the `make run` address.
    base = (getattr(settings, "SITE_URL", "") or os.environ.get("SITE_URL", "") or DEV_SITE_URL).rstrip("/")
    return f"{base}{reverse('reminders:visit-link', args=[token])}"


def reminder_links_issue(*, reminders: list[Reminder]) -> dict[int, str]:
    """A new single-use link for each of these reminders: reminder id → token, returned once.

    One upsert (INSERT … ON CONFLICT (reminder) DO UPDATE) for the lot, replacing any earlier link of
    each; only the token's hash is stored (A9).
    """
    tokens = {r.pk: secrets.token_urlsafe(32) for r in reminders}  # 256 bits from the OS CSPRNG (ASVS 11.5.1)
    if not tokens:
        return {}
    now = timezone.now()
    ReminderLink.objects.bulk_create(
        [
            ReminderLink(
                reminder=r,
                appointment=r.appointment,
                appointment_start=r.appointment.start,
                token_hash=hash_link_token(tokens[r.pk]),
                created_at=now,
                expires_at=r.appointment.start,
                used_at=None,
                action="",
            )
            for r in reminders
        ],
        update_conflicts=True,
        unique_fields=["reminder"],
        update_fields=[
            "appointment",
            "appointment_start",
            "token_hash",
            "created_at",
            "expires_at",
            "used_at",
            "action",
        ],
    )
    return tokens


def reminder_link_valid(link: ReminderLink | None, *, now: datetime | None = None) -> bool:
    """Unused, unexpired, and its visit still active at the time the link was sent for."""
    now = now or timezone.now()
    return (
        link is not None
        and link.used_at is None
        and link.expires_at > now
        and link.appointment.status in ACTIVE_STATUSES
        and link.appointment.start == link.appointment_start
    )


def reminder_link_for_token(token: str) -> ReminderLink | None:
    """The valid link a token opens, or None (unknown, used, expired, or the visit changed)."""
    link = (
        ReminderLink.objects.select_related("appointment__location", "reminder")
        .filter(token_hash=hash_link_token(token[:100]))
        .first()
    )
    return link if reminder_link_valid(link) else None


def reminder_link_by_id(link_id) -> ReminderLink | None:
    """The valid link a scoped session holds (by id), or None."""
    if not isinstance(link_id, int):
        return None
    link = ReminderLink.objects.select_related("appointment__location", "reminder").filter(pk=link_id).first()
    return link if reminder_link_valid(link) else None


class LinkRefused(Exception):
    """The link is spent, expired or its visit changed; the patient is asked to call."""


@transaction.atomic
def reminder_link_use(*, link_id: int, action: str) -> Appointment:
    """Spend the link: confirm or cancel its visit as the patient, and tell the front desk.

    Single use under concurrency: the link row is locked, and a second request finds it used.
    """
    from patients.services import contact_log_entry_create
    from scheduling.services import SchedulingError, appointment_transition_by_patient_link

    if action not in LinkAction.values:
        raise LinkRefused("Unknown action.")
    link = ReminderLink.objects.select_for_update().filter(pk=link_id).first()
    if link is None:
        raise LinkRefused("This link is not valid.")
    link.appointment = Appointment.objects.select_related("location", "patient").get(pk=link.appointment_id)
    if not reminder_link_valid(link):
        raise LinkRefused("This link has already been used or has expired.")
    target = "confirmed" if action == LinkAction.CONFIRM else "cancelled"
    appointment = link.appointment
    if not (action == LinkAction.CONFIRM and appointment.status == "confirmed"):
        try:
            appointment = appointment_transition_by_patient_link(appointment=appointment, to_status=target)
        except SchedulingError as exc:
            raise LinkRefused(" ".join(exc.messages)) from None
    now = timezone.now()
    link.used_at, link.action = now, action
    link.save(update_fields=["used_at", "action"])
    local = appointment.start.astimezone(appointment.location.zone)
    verb = "confirmed" if action == LinkAction.CONFIRM else "CANCELLED"
    contact_log_entry_create(
        patient=appointment.patient,
        by=None,
        channel=link.reminder.channel,
        direction="in",
        summary=(
            f"Patient {verb} the visit of {formats.date_format(local, 'D j M')} {formats.time_format(local, 'g:i A')} "
            f"at {appointment.location.name} through the reminder link."
        ),
    )
    return appointment


def link_replies(*, since: datetime, limit: int = 50) -> list[ReminderLink]:
    """Confirmations and cancellations patients sent through reminder links since ``since`` (front desk)."""
    return list(
        ReminderLink.objects.filter(used_at__gte=since)
        .select_related("appointment__patient", "appointment__location", "appointment__appointment_type")
        .order_by("-used_at")[:limit]
    )


def _alert(reminder: Reminder, why: str) -> None:
    alert_administrators(
        subject="A patient reminder could not be sent",
        body=(
            f"Reminder #{reminder.pk} ({reminder.get_kind_display()}, {reminder.get_channel_display()}) "
            f"was not sent: {why}. Open the reminders list in the admin to see the error and contact the "
            "patient another way if needed."
        ),
    )


def _fail(reminder: Reminder, error: str) -> str:
    from patients.services import contact_log_entry_create

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
        _alert(reminder, error)
    return ReminderStatus.FAILED
