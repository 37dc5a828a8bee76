"""The packet link (security-reference A9, the questionnaire links' design): a 256-bit token given
to the patient once and stored only as its hash, an expiry, a date-of-birth check that locks the
link after repeated failures, a scoped session, and a per-client rate limit shared by every web
process. The link opens again until the packet is complete (so the patient can resume), but each
step is submitted once and then closed to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone

from accounts import audit
from accounts.models import User
from core import ratelimit, tokens
from core.audit import Category, Verb
from notifications.backends import SmsError
from notifications.email import send_templated_email
from notifications.sms import send_sms
from packets import rules
from packets.models import Packet, PacketReason
from packets.policy import link_policy
from packets.services._common import require
from patients.links import LinkFlow
from patients.services import contact_log_entry_create
from reminders.rules import denied_words_in

AUDIT_CATEGORY = Category.CLINICAL


class LinkRefused(Exception):
    """The link cannot be used; the patient sees one message whatever the reason."""


LINKS = LinkFlow(Packet, audit_action="packets.link", category=AUDIT_CATEGORY, refused=LinkRefused)


@dataclass(frozen=True)
class NewPacket:
    packet: Packet
    token: str  # shown once (in the message); only its hash is stored


@transaction.atomic
def packet_create(
    *,
    patient,
    by: User | None,  # None: sent automatically when the consultation was booked
    reason: str = PacketReason.NOT_SURE,
    appointment=None,
    now: datetime | None = None,
) -> NewPacket:
    if by is not None:
        require(by, "packets.add_packet")
    if reason not in PacketReason.values:
        raise ValidationError({"reason": "Choose what the visit is about, or “Not sure yet”."})
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationError({"appointment": "That visit is another patient's."})
    now = now or timezone.now()
    token, token_hash = tokens.issue()
    packet = Packet.objects.create(
        patient=patient,
        appointment=appointment,
        clinician_id=getattr(appointment, "clinician_id", None),
        reason=reason,
        instruments=rules.instruments_for(reason),
        token_sha256=token_hash,
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(days=link_policy().expiry_days),
    )
    audit.record(
        actor=by,
        action="packets.packet.created",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=packet,
        patient=patient,
        changes={"instruments": packet.instruments, "expires_at": packet.expires_at.isoformat()},
    )
    return NewPacket(packet, token)


def packet_message(*, url: str, expires_at: datetime) -> str:
    """Minimum necessary: no diagnosis, drug, treatment or questionnaire name (reminders' check)."""
    clinic = getattr(settings, "CLINIC_NAME", "the clinic")
    local = timezone.localtime(expires_at)
    return (
        f"{clinic}: please fill in your forms before your visit, by {local:%b %-d}, "
        f"{formats.time_format(local)}: {url} You will need your date of birth. If you did not expect this, call us."
    )


@transaction.atomic
def packet_send(*, new: NewPacket, base_url: str, by: User | None) -> list[str]:
    """Text and/or e-mail the link on the channels the patient opted into; returns the channels used."""
    packet, patient = new.packet, new.packet.patient
    url = base_url.rstrip("/") + reverse("packets:link-open", args=[new.token])
    body = packet_message(url=url, expires_at=packet.expires_at)
    if denied_words_in(body):
        raise ValidationError("The message failed the minimum-necessary check.")
    used = []
    if patient.sms_opt_in and patient.phone:
        try:
            send_sms(to=str(patient.phone), body=body, idempotency_key=f"packet-{packet.pk}-sms")
            used.append("sms")
        except SmsError:
            pass
    if patient.email_opt_in and patient.email:
        send_templated_email(
            to=patient.email,
            subject=f"Your forms from {getattr(settings, 'CLINIC_NAME', 'the clinic')}",
            template="notifications/reminder_email",
            context={"body": body},
            idempotency_key=f"packet-{packet.pk}-email",
        )
        used.append("email")
    if not used:
        raise ValidationError(
            "The patient has not agreed to texts or e-mail (or the text failed): give them the forms at the desk."
        )
    packet.sent_channels = ",".join(used)
    packet.save(update_fields=["sent_channels"])
    expires = timezone.localtime(packet.expires_at)
    for channel in used:
        contact_log_entry_create(
            patient=patient,
            by=by,
            channel=channel,
            direction="out",
            summary=f"Pre-visit forms link sent by {channel} (expires {expires:%m/%d} {formats.time_format(expires)}).",
        )
    return used


@transaction.atomic
def packet_issue(
    *, patient, by: User | None, base_url: str, reason: str = PacketReason.NOT_SURE, appointment=None
) -> tuple[NewPacket, list[str]]:
    """Create and send a packet in one transaction: a packet that could not be sent is not kept."""
    new = packet_create(patient=patient, by=by, reason=reason, appointment=appointment)
    return new, packet_send(new=new, base_url=base_url, by=by)


def rate_limited(*, key: str, now: datetime | None = None) -> bool:
    window = timedelta(minutes=rules.RATE_LIMIT_WINDOW_MINUTES)
    return ratelimit.hit(key, limit=link_policy().rate_limit_per_window, window=window, now=now)


def packet_for_token(token: str) -> Packet | None:
    return LINKS.for_token(token)


def problem_of(packet: Packet, now: datetime) -> str:
    return rules.link_problem(
        now=now,
        expires_at=packet.expires_at,
        completed_at=packet.completed_at,
        revoked_at=packet.revoked_at,
        dob_failures=packet.dob_failures,
        max_dob_failures=link_policy().dob_max_failures,
    )


def packet_usable(packet: Packet, *, now: datetime | None = None) -> bool:
    return not problem_of(packet, now or timezone.now())


def packet_exchange(*, packet_id: int, date_of_birth: date | None, now: datetime | None = None) -> Packet:
    """Check the date of birth for a packet whose token the caller already matched.

    Raises LinkRefused("identity") for a wrong date of birth (counted towards locking the link:
    that count is committed even though the call fails) and LinkRefused(<reason>) when the link
    cannot be used at all.
    """
    now = now or timezone.now()

    def opened(packet: Packet) -> None:
        if packet.opened_at is None:
            packet.opened_at = now
            packet.save(update_fields=["opened_at"])

    return LINKS.check_identity(
        link_id=packet_id,
        date_of_birth=date_of_birth,
        problem=lambda packet: problem_of(packet, now),
        opened=opened,
        missing="missing",
    )


@transaction.atomic
def packet_revoke(*, packet: Packet, by: User) -> Packet:
    require(by, "packets.add_packet")
    updated = Packet.objects.filter(pk=packet.pk, completed_at=None, revoked_at=None).update(revoked_at=timezone.now())
    if updated:
        audit.record(
            actor=by,
            action="packets.packet.revoked",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=packet,
            patient=packet.patient,
        )
    packet.refresh_from_db()
    return packet
