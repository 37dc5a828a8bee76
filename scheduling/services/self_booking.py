"""Patients booking their own visits, and the waitlist (writes).

A booking link (``self_booking_link_issue``) lets one patient pick a slot of a self-bookable type
(clinic settings) from real availability; the booking goes through the same booking service and
database exclusion constraints as the front desk's (``appointment_book_by_patient_link``). With
the policy's approval on, the slot is held by the appointment and the request waits for the desk.

A cancellation frees a slot: ``waitlist_slot_freed`` (the appointment-changed hook) tells the first
N patients waiting for its type at its location, each by a link on the channel they consented to;
``waitlist_offer_claim`` gives the slot to the first claim only (a row lock on the freed slot and a
partial unique constraint on the offers), and tells the others it was taken (they stay waiting).

Links follow the questionnaire links' design (security-reference A9): 256-bit tokens stored only
as SHA-256, an expiry, a date-of-birth check that locks the link after repeated failures, and a
single use: the booking or the claim spends it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone

from accounts import audit
from accounts.models import User
from core import tokens
from core.audit import Category, Verb
from core.site import site_url
from notifications.backends import SmsError
from notifications.email import send_templated_email
from notifications.sms import send_sms
from patients.links import LinkFlow
from patients.models import Patient
from patients.services import contact_log_entry_create
from scheduling import hooks, rules
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Location,
    OfferOutcome,
    SelfBooking,
    SelfBookingLink,
    SelfBookingLinkKind,
    SelfBookingPolicy,
    SelfBookingStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistSlot,
    WaitlistStatus,
)
from scheduling.selectors import self_booking as selectors
from scheduling.services import (
    SchedulingError,
    SlotTaken,
    appointment_book_by_patient_link,
    appointment_transition,
    appointment_transition_by_patient_link,
)

AUDIT_CATEGORY = Category.SCHEDULING
logger = logging.getLogger(__name__)
VIA_LINK = "online booking link"
VIA_OFFER = "waitlist offer link"
REFUSED = "This link cannot be used. It may have expired or been used already. Please call the clinic."


class LinkRefused(Exception):
    """The link cannot be used; ``str(exc)`` is "identity" for a wrong date of birth."""


LINKS = LinkFlow(
    SelfBookingLink,
    audit_action="scheduling.self_booking_link",
    category=AUDIT_CATEGORY,
    refused=LinkRefused,
    hash_field="token_hash",
)


def _require(by: User | None, perm: str) -> None:
    if by is None or not by.has_perm(perm):
        raise PermissionDenied


def _clinic() -> str:
    return getattr(settings, "CLINIC_NAME", "the clinic")


def _local(moment: datetime, location: Location) -> str:
    local = moment.astimezone(location.zone)
    return f"{formats.date_format(local, 'D j M')} {formats.time_format(local)}"


# --- Links -------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSelfBookingLink:
    link: SelfBookingLink
    token: str  # given to the patient once; only its hash is stored

    @property
    def url(self) -> str:
        return self_booking_url(self.token)


def self_booking_url(token: str) -> str:
    return f"{site_url()}{reverse('self_booking:open', args=[token])}"


def _link_create(
    *, patient: Patient, by: User | None, kind: str, expires_at: datetime, now: datetime, offer=None
) -> NewSelfBookingLink:
    token, token_hash = tokens.issue()  # 256 bits from the OS CSPRNG (A9)
    link = SelfBookingLink.objects.create(
        patient=patient,
        kind=kind,
        offer=offer,
        token_hash=token_hash,
        created_by=by,
        created_at=now,
        expires_at=expires_at,
    )
    return NewSelfBookingLink(link, token)


@transaction.atomic
def self_booking_link_issue(*, patient: Patient, by: User | None, now: datetime | None = None) -> NewSelfBookingLink:
    """A new booking link for the patient (returned once with its token; send it with
    ``self_booking_link_send`` or show it). ``by`` None: the system issued it (e.g. the inquiry
    form's confirmation); a staff member needs the booking permission."""
    if by is not None:
        _require(by, "scheduling.add_appointment")
    if patient.status != Patient.Status.ACTIVE:
        raise ValidationError({"patient": ["Only an active patient can be sent a booking link."]})
    now = now or timezone.now()
    policy = selectors.self_booking_policy()
    new = _link_create(
        patient=patient,
        by=by,
        kind=SelfBookingLinkKind.BOOK,
        expires_at=now + timedelta(days=policy.link_expiry_days),
        now=now,
    )
    audit.record(
        actor=by,
        action="scheduling.self_booking_link.issued",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=new.link,
        patient=patient,
        changes={"expires_at": new.link.expires_at.isoformat()},
    )
    return new


def booking_link_message(*, url: str, expires_at: datetime) -> str:
    """Minimum necessary: the clinic, the link and its expiry; no treatment, no visit type."""
    local = timezone.localtime(expires_at)
    return (
        f"{_clinic()}: choose a time for your visit online: {url} "
        f"The link works until {formats.date_format(local, 'M j')}. If you did not expect this, call us."
    )


def offer_message(*, url: str, expires_at: datetime) -> str:
    """Minimum necessary: an earlier time is free, the link, its expiry; no visit type."""
    local = timezone.localtime(expires_at)
    return (
        f"{_clinic()}: an earlier time has opened up for your visit. First to claim it gets it: {url} "
        f"The link works until {formats.date_format(local, 'M j')} {formats.time_format(local)}."
    )


def _send(*, link: SelfBookingLink, body: str, subject: str, by: User | None, summary: str) -> list[str]:
    """Text and/or e-mail ``body`` on the channels the patient consented to; log each contact."""
    used = _tell(patient=link.patient, body=body, subject=subject, key=f"selfbook-{link.pk}", by=by, summary=summary)
    if used:
        SelfBookingLink.objects.filter(pk=link.pk).update(sent_channels=",".join(used))
    return used


@transaction.atomic
def self_booking_link_send(*, new: NewSelfBookingLink, by: User | None) -> list[str]:
    """Send a booking link by text and/or e-mail under the patient's consent; returns the channels.
    Refused (ValidationError) when the patient consented to neither: give them the link in person."""
    body = booking_link_message(url=new.url, expires_at=new.link.expires_at)
    used = _send(
        link=new.link,
        body=body,
        subject=f"Choose a time with {_clinic()}",
        by=by,
        summary="Online booking link sent.",
    )
    if not used:
        raise ValidationError("The patient has not opted in to texts or e-mail; give them the link in person.")
    return used


def self_booking_link_verify(
    *, link_id: int, date_of_birth: date | None, now: datetime | None = None
) -> SelfBookingLink:
    """Check the date of birth for a link whose token the caller matched. Raises LinkRefused
    ("identity" for a wrong date, which counts towards locking the link: that count is committed
    even though the call fails; "closed" for a link that cannot be used)."""
    now = now or timezone.now()

    def problem(link: SelfBookingLink) -> str:
        usable = selectors.self_booking_link_usable(link, now=now) or selectors.self_booking_managed(link, now=now)
        return "" if usable else "closed"

    def opened(link: SelfBookingLink) -> None:
        if link.verified_at is None:
            link.verified_at = now
            link.save(update_fields=["verified_at"])

    return LINKS.check_identity(
        link_id=link_id, date_of_birth=date_of_birth, problem=problem, opened=opened, missing="closed"
    )


def _locked_link(link_id: int, *, kind: str, now: datetime) -> SelfBookingLink:
    link = SelfBookingLink.objects.select_for_update().select_related("patient").filter(pk=link_id).first()
    if link is None or link.kind != kind or link.verified_at is None:
        raise LinkRefused("closed")
    if not selectors.self_booking_link_usable(link, now=now):
        raise LinkRefused("closed")
    return link


# --- Booking from a link ------------------------------------------------------------


@dataclass(frozen=True)
class BookingOutcome:
    appointment: Appointment | None = None
    self_booking: SelfBooking | None = None
    taken: bool = False  # the slot went meanwhile: show ``alternatives``
    alternatives: tuple[rules.Slot, ...] = ()
    problem: str = ""


def _record_self_booking(*, appointment: Appointment, link: SelfBookingLink, now: datetime) -> SelfBooking:
    policy = selectors.self_booking_policy()
    status = SelfBookingStatus.PENDING if policy.requires_approval else SelfBookingStatus.BOOKED
    booking = SelfBooking.objects.create(appointment=appointment, link=link, status=status, created_at=now)
    link.used_at = now
    link.save(update_fields=["used_at"])
    contact_log_entry_create(
        patient=appointment.patient,
        by=None,
        channel="other",
        direction="in",
        summary=f"Patient booked {_local(appointment.start, appointment.location)} at {appointment.location.name} "
        f"online ({'waiting for approval' if status == SelfBookingStatus.PENDING else 'booked'}).",
    )
    return booking


def _offered(
    appointment_type: AppointmentType,
    *,
    start: datetime,
    clinician_id: int | None,
    policy: SelfBookingPolicy,
    now: datetime,
) -> User | None:
    """The self-booking policy's checks on the picked time (type self-bookable, notice, horizon)
    and the clinician it was offered with: a :class:`SchedulingError` at the field otherwise."""
    problem = rules.self_booking_problem(
        self_bookable=appointment_type.self_bookable and appointment_type.active,
        start=start,
        now=now,
        min_notice_hours=policy.min_notice_hours,
        horizon_days=policy.horizon_days,
    )
    if problem:
        raise SchedulingError({problem[0]: [problem[1]]})
    if clinician_id is None:
        return None
    clinician = User.objects.filter(pk=clinician_id, is_active=True).first()
    if clinician is None:
        raise SchedulingError({"start": ["That time is no longer offered; please choose another."]})
    return clinician


def _alternatives(
    appointment_type: AppointmentType,
    location: Location,
    patient: Patient,
    start: datetime,
    now: datetime,
    policy: SelfBookingPolicy,
) -> tuple[rules.Slot, ...]:
    """Free times near the one just taken by someone else, for the patient to pick again."""
    return tuple(
        selectors.self_booking_slots(
            appointment_type=appointment_type,
            location=location,
            patient=patient,
            after=start - timedelta(hours=2),
            now=now,
            policy=policy,
            limit=6,
        )
    )


@transaction.atomic
def self_booking_book(
    *,
    link_id: int,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    clinician_id: int | None,
    now: datetime | None = None,
) -> BookingOutcome:
    """Book the slot the patient picked, through the front desk's booking service and its
    constraints, after the self-booking policy's checks (type self-bookable, notice, horizon).
    A slot taken meanwhile answers ``taken`` with alternatives; nothing is written then."""
    now = now or timezone.now()
    link = _locked_link(link_id, kind=SelfBookingLinkKind.BOOK, now=now)
    policy = selectors.self_booking_policy()
    clinician = _offered(appointment_type, start=start, clinician_id=clinician_id, policy=policy, now=now)
    try:
        with transaction.atomic():
            appointment = appointment_book_by_patient_link(
                patient=link.patient,
                appointment_type=appointment_type,
                location=location,
                start=start,
                clinician=clinician,
                via=VIA_LINK,
                note="Booked online by the patient" + (" (waiting for approval)" if policy.requires_approval else ""),
            )
    except SlotTaken:
        return BookingOutcome(
            taken=True, alternatives=_alternatives(appointment_type, location, link.patient, start, now, policy)
        )
    booking = _record_self_booking(appointment=appointment, link=link, now=now)
    return BookingOutcome(appointment=appointment, self_booking=booking)


@transaction.atomic
def self_booking_approve(*, self_booking: SelfBooking, by: User) -> SelfBooking:
    """The front desk approves a patient's online booking: it stands as booked."""
    _require(by, "scheduling.decide_selfbooking")
    locked = SelfBooking.objects.select_for_update().select_related("appointment__patient").get(pk=self_booking.pk)
    if locked.status != SelfBookingStatus.PENDING:
        raise SchedulingError("This request was already decided.")
    if not locked.appointment.is_active:
        raise SchedulingError("This booking was cancelled meanwhile; nothing to approve.")
    locked.status = SelfBookingStatus.APPROVED
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.save(update_fields=["status", "decided_at", "decided_by"])
    audit.record(
        actor=by,
        action="scheduling.self_booking.approved",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.appointment.patient,
        changes={"status": [SelfBookingStatus.PENDING, SelfBookingStatus.APPROVED]},
    )
    appointment = locked.appointment
    _tell(
        patient=appointment.patient,
        body=f"{_clinic()}: your visit on {_local(appointment.start, appointment.location)} at "
        f"{appointment.location.name} is confirmed. You will get a reminder before it.",
        subject=f"Your visit with {_clinic()} is confirmed",
        key=f"selfbook-approved-{locked.pk}",
        by=by,
        summary="Told the patient their online booking is confirmed.",
    )
    # Held while it waited, the visit now counts as booked: its reminders are planned.
    hooks.appointment_changed(appointment.pk)
    return locked


@transaction.atomic
def self_booking_decline(*, self_booking: SelfBooking, by: User, reason: str) -> SelfBooking:
    """The front desk declines a request: the held appointment is cancelled with the reason (which
    frees the slot for the waitlist like any cancellation)."""
    _require(by, "scheduling.decide_selfbooking")
    reason = reason.strip()[:200]
    if not reason:
        raise SchedulingError({"reason": ["Give a reason (the patient will be called)."]})
    locked = SelfBooking.objects.select_for_update().select_related("appointment__patient").get(pk=self_booking.pk)
    if locked.status != SelfBookingStatus.PENDING:
        raise SchedulingError("This request was already decided.")
    if locked.appointment.is_active:
        appointment_transition(
            appointment=locked.appointment,
            to_status=AppointmentStatus.CANCELLED,
            by=by,
            reason=f"Online request declined: {reason}"[:200],
        )
    locked.status = SelfBookingStatus.DECLINED
    locked.decided_at = timezone.now()
    locked.decided_by = by
    locked.decline_reason = reason
    locked.save(update_fields=["status", "decided_at", "decided_by", "decline_reason"])
    audit.record(
        actor=by,
        action="scheduling.self_booking.declined",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.appointment.patient,
        changes={"status": [SelfBookingStatus.PENDING, SelfBookingStatus.DECLINED], "reason": reason},
    )
    appointment = locked.appointment
    # The desk's reason stays with the clinic: it may say more than a text should.
    _tell(
        patient=appointment.patient,
        body=f"{_clinic()}: we could not confirm the time you chose online "
        f"({_local(appointment.start, appointment.location)}). Please call us to find another time.",
        subject=f"Your online booking with {_clinic()}",
        key=f"selfbook-declined-{locked.pk}",
        by=by,
        summary="Told the patient their online booking could not be confirmed.",
    )
    return locked


def _tell(*, patient: Patient, body: str, subject: str, key: str, by: User | None, summary: str) -> list[str]:
    """A message about the patient's own booking (a link, a decision), on each channel they
    consented to; each contact logged. A failed text is left out of the channels used."""
    used = []
    if patient.sms_opt_in and patient.phone:
        try:
            send_sms(to=str(patient.phone), body=body, idempotency_key=f"{key}-sms")
            used.append("sms")
        except SmsError:
            logger.warning("booking message by text failed", extra={"key": key})
    if patient.email_opt_in and patient.email:
        send_templated_email(
            to=patient.email,
            subject=subject,
            template="notifications/reminder_email",
            context={"body": body, "clinic": _clinic()},
            idempotency_key=f"{key}-email",
        )
        used.append("email")
    for channel in used:
        contact_log_entry_create(patient=patient, by=by, channel=channel, direction="out", summary=summary)
    return used


# --- The patient manages their booking from the same link ---------------------------

CANCELLED_ONLINE = "Cancelled by the patient (online booking link)"


def _managed(link_id: int, *, now: datetime) -> tuple[SelfBookingLink, SelfBooking]:
    link = SelfBookingLink.objects.select_for_update().select_related("patient").filter(pk=link_id).first()
    if link is None or link.verified_at is None:
        raise LinkRefused("closed")
    booking = selectors.self_booking_managed(link, now=now)
    if booking is None:
        raise LinkRefused("closed")
    return link, booking


@transaction.atomic
def self_booking_cancel(*, link_id: int, now: datetime | None = None) -> Appointment:
    """The patient cancels the visit they booked, from the same link, until it starts. It moves as
    a cancellation at the desk does: the waitlist hears of the freed slot, and inside the clinic's
    late-cancellation window the billing app charges the fee (its appointment hook)."""
    now = now or timezone.now()
    _link, booking = _managed(link_id, now=now)
    return appointment_transition_by_patient_link(
        appointment=booking.appointment, to_status=AppointmentStatus.CANCELLED, reason=CANCELLED_ONLINE, via=VIA_LINK
    )


@transaction.atomic
def self_booking_reschedule(
    *,
    link_id: int,
    location: Location,
    start: datetime,
    clinician_id: int | None,
    now: datetime | None = None,
) -> BookingOutcome:
    """Move the patient's booking to another free time of the same kind: the old visit is released
    as "rescheduled" (never a late cancellation, as at the desk) and the new one booked through the
    same checks and constraints; a slot taken meanwhile changes nothing and offers alternatives.
    The new time waits for the desk again when the policy asks for approval."""
    now = now or timezone.now()
    link, booking = _managed(link_id, now=now)
    old = booking.appointment
    policy = selectors.self_booking_policy()
    kind = old.appointment_type
    clinician = _offered(kind, start=start, clinician_id=clinician_id, policy=policy, now=now)
    try:
        with transaction.atomic():
            appointment_transition_by_patient_link(
                appointment=old, to_status=AppointmentStatus.CANCELLED, reason=rules.RESCHEDULED_REASON, via=VIA_LINK
            )
            appointment = appointment_book_by_patient_link(
                patient=link.patient,
                appointment_type=kind,
                location=location,
                start=start,
                clinician=clinician,
                via=VIA_LINK,
                rescheduled_from=old,
                note="Moved online by the patient" + (" (waiting for approval)" if policy.requires_approval else ""),
            )
    except SlotTaken:
        return BookingOutcome(taken=True, alternatives=_alternatives(kind, location, link.patient, start, now, policy))
    status = SelfBookingStatus.PENDING if policy.requires_approval else SelfBookingStatus.BOOKED
    moved = SelfBooking.objects.create(appointment=appointment, link=link, status=status, created_at=now)
    contact_log_entry_create(
        patient=link.patient,
        by=None,
        channel="other",
        direction="in",
        summary=f"Patient moved their visit online to {_local(appointment.start, appointment.location)} at "
        f"{appointment.location.name} ({'waiting for approval' if status == SelfBookingStatus.PENDING else 'booked'}).",
    )
    return BookingOutcome(appointment=appointment, self_booking=moved)


# --- The waitlist -------------------------------------------------------------------


def _entry_create(
    *, patient: Patient, appointment_type: AppointmentType, location: Location, before: date | None, by: User | None
) -> WaitlistEntry:
    if not (appointment_type.self_bookable and appointment_type.active):
        raise SchedulingError(
            {"appointment_type": ["This kind of visit has no online waitlist; please call the clinic."]}
        )
    if not location.active:
        raise SchedulingError({"location": ["This location is not taking bookings."]})
    now = timezone.now()
    if before is not None and before < timezone.localdate(timezone=location.zone):
        raise SchedulingError({"before": ["That date has passed."]})
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(
                patient=patient,
                appointment_type=appointment_type,
                location=location,
                before=before,
                created_by=by,
                created_at=now,
            )
    except IntegrityError:
        raise SchedulingError(
            {"appointment_type": [f"Already on the waitlist for this kind of visit at {location.name}."]}
        ) from None
    return entry


@transaction.atomic
def waitlist_entry_create(
    *, patient: Patient, appointment_type: AppointmentType, location: Location, before: date | None, by: User
) -> WaitlistEntry:
    """The front desk puts a patient on the waitlist for an earlier slot."""
    _require(by, "scheduling.add_appointment")
    if patient.status != Patient.Status.ACTIVE:
        raise SchedulingError({"patient": ["Only an active patient can wait for a slot."]})
    entry = _entry_create(patient=patient, appointment_type=appointment_type, location=location, before=before, by=by)
    audit.record(
        actor=by,
        action="scheduling.waitlist.joined",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=entry,
        patient=patient,
        changes={"type": appointment_type.code, "location": location.pk, "before": str(before or "")},
    )
    return entry


@transaction.atomic
def waitlist_join_by_patient_link(
    *, link_id: int, appointment_type: AppointmentType, location: Location, before: date | None
) -> WaitlistEntry:
    """The patient asks, from their booking link, to be told of an earlier slot. The link stays
    usable (they may still book a time offered now)."""
    link = _locked_link(link_id, kind=SelfBookingLinkKind.BOOK, now=timezone.now())
    entry = _entry_create(
        patient=link.patient, appointment_type=appointment_type, location=location, before=before, by=None
    )
    audit.record(
        actor=None,
        action="scheduling.waitlist.joined",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=entry,
        patient=link.patient,
        changes={"type": appointment_type.code, "location": location.pk, "before": str(before or ""), "via": VIA_LINK},
    )
    return entry


@transaction.atomic
def waitlist_entry_remove(*, entry: WaitlistEntry, by: User, reason: str) -> WaitlistEntry:
    _require(by, "scheduling.add_appointment")
    reason = reason.strip()[:200] or "Removed by the front desk"
    locked = WaitlistEntry.objects.select_for_update().select_related("patient").get(pk=entry.pk)
    if locked.status != WaitlistStatus.WAITING:
        raise SchedulingError("This patient is no longer waiting.")
    locked.status = WaitlistStatus.REMOVED
    locked.closed_at = timezone.now()
    locked.closed_reason = reason
    locked.save(update_fields=["status", "closed_at", "closed_reason"])
    audit.record(
        actor=by,
        action="scheduling.waitlist.removed",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": [WaitlistStatus.WAITING, WaitlistStatus.REMOVED], "reason": reason},
    )
    return locked


@dataclass(frozen=True)
class NewOffer:
    offer: WaitlistOffer
    link: NewSelfBookingLink


@transaction.atomic
def waitlist_slot_freed(*, appointment_id: int, now: datetime | None = None) -> list[NewOffer]:
    """A booking was cancelled: offer its slot to the first N patients waiting for its type at its
    location (the policy's N, longest waiting first, only those who want a slot that early and are
    free then), each with a claim link sent on their consented channel. Idempotent: a slot is
    offered once. Nothing happens for a slot inside the minimum notice or beyond the horizon."""
    now = now or timezone.now()
    appointment = Appointment.objects.select_related("location", "appointment_type").filter(pk=appointment_id).first()
    if appointment is None or appointment.status != AppointmentStatus.CANCELLED:
        return []
    kind = appointment.appointment_type
    if not (kind.self_bookable and kind.active and appointment.location.active):
        return []
    policy = selectors.self_booking_policy()
    earliest, latest = rules.self_booking_window(
        now=now, min_notice_hours=policy.min_notice_hours, horizon_days=policy.horizon_days
    )
    if not earliest <= appointment.start <= latest:
        return []
    if WaitlistSlot.objects.filter(source=appointment).exists():
        return []
    slot_day = appointment.start.astimezone(appointment.location.zone).date()
    queue = [
        entry
        for entry in selectors.waitlist_queue(appointment_type_id=kind.pk, location_id=appointment.location_id).exclude(
            patient_id=appointment.patient_id
        )[: policy.waitlist_offer_count * 3]
        if rules.waitlist_wants(slot_day=slot_day, before=entry.before)
    ]
    busy = set(
        Appointment.objects.filter(
            patient_id__in=[e.patient_id for e in queue],
            status__in=[s.value for s in (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)],
            start__lt=appointment.end,
            end__gt=appointment.start,
        ).values_list("patient_id", flat=True)
    )
    chosen = [e for e in queue if e.patient_id not in busy][: policy.waitlist_offer_count]
    if not chosen:
        return []
    try:
        with transaction.atomic():
            slot = WaitlistSlot.objects.create(
                source=appointment,
                appointment_type=kind,
                location=appointment.location,
                clinician=appointment.clinician if appointment.clinician_exclusive else None,
                start=appointment.start,
                end=appointment.end,
                created_at=now,
            )
    except IntegrityError:  # offered meanwhile by another worker
        return []
    expires = selectors.offer_expiry(now=now, slot_start=appointment.start, policy=policy)
    made: list[NewOffer] = []
    for entry in chosen:
        offer = WaitlistOffer.objects.create(slot=slot, entry=entry, created_at=now)
        link = _link_create(
            patient=entry.patient, by=None, kind=SelfBookingLinkKind.OFFER, expires_at=expires, now=now, offer=offer
        )
        made.append(NewOffer(offer, link))
        _send(
            link=link.link,
            body=offer_message(url=link.url, expires_at=expires),
            subject=f"An earlier time at {_clinic()}",
            by=None,
            summary="Waitlist: an earlier time was offered by link (first to claim it gets it).",
        )
    audit.record(
        actor=None,
        action="scheduling.waitlist.slot_offered",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=slot,
        changes={"source": appointment.pk, "offers": [o.offer.pk for o in made]},
    )
    return made


def on_appointment_changed(appointment_id: int) -> None:
    """The scheduling hook: after a change commits, a cancellation offers its slot to the waitlist.
    The change itself has committed: a failure to offer is logged, never the desk's error."""
    try:
        waitlist_slot_freed(appointment_id=appointment_id)
    except Exception:  # the cancellation stands; the waitlist is told at the next one
        logger.exception("Offering the slot of appointment %s to the waitlist failed", appointment_id)


@dataclass(frozen=True)
class ClaimOutcome:
    appointment: Appointment | None = None
    self_booking: SelfBooking | None = None
    taken: bool = False


def waitlist_offer_claim(*, link_id: int, now: datetime | None = None) -> ClaimOutcome:
    """The patient claims the freed slot of their offer. Exactly one claim of a slot wins: the
    freed slot's row is locked for the claim, a partial unique constraint allows one claimed offer
    per slot, and the booking itself meets the calendar's exclusion constraints (the desk may have
    booked the time meanwhile). A loser is told it was taken and stays on the waitlist."""
    now = now or timezone.now()
    with transaction.atomic():
        link = _locked_link(link_id, kind=SelfBookingLinkKind.OFFER, now=now)
        if link.offer_id is None:  # never: an offer link has its offer (a check constraint)
            raise LinkRefused("closed")
        offer = WaitlistOffer.objects.select_related("entry").get(pk=link.offer_id)
        slot = (
            WaitlistSlot.objects.select_for_update(of=("self",))
            .select_related("location", "appointment_type", "clinician")
            .get(pk=offer.slot_id)
        )
        if offer.outcome != OfferOutcome.OPEN:
            raise LinkRefused("closed")
        won = not WaitlistOffer.objects.filter(slot=slot, outcome=OfferOutcome.CLAIMED).exists()
        entry = WaitlistEntry.objects.select_for_update().get(pk=offer.entry_id)
        if entry.status != WaitlistStatus.WAITING:
            raise LinkRefused("closed")
        appointment = None
        if won:
            try:
                with transaction.atomic():
                    appointment = appointment_book_by_patient_link(
                        patient=link.patient,
                        appointment_type=slot.appointment_type,
                        location=slot.location,
                        start=slot.start,
                        clinician=slot.clinician,
                        via=VIA_OFFER,
                        note="Claimed from the waitlist by the patient",
                    )
                    offer.outcome = OfferOutcome.CLAIMED
                    offer.answered_at = now
                    offer.save(update_fields=["outcome", "answered_at"])
            except (SlotTaken, SchedulingError, IntegrityError):
                appointment = None
        if appointment is None:
            offer.outcome = OfferOutcome.TAKEN
            offer.answered_at = now
            offer.save(update_fields=["outcome", "answered_at"])
            link.used_at = now
            link.save(update_fields=["used_at"])
            audit.record(
                actor=None,
                action="scheduling.waitlist.offer_taken",
                verb=Verb.UPDATE,
                category=AUDIT_CATEGORY,
                target=offer,
                patient=link.patient,
            )
            return ClaimOutcome(taken=True)
        entry.status = WaitlistStatus.BOOKED
        entry.closed_at = now
        entry.closed_reason = "Claimed a freed slot"
        entry.appointment = appointment
        entry.save(update_fields=["status", "closed_at", "closed_reason", "appointment"])
        booking = _record_self_booking(appointment=appointment, link=link, now=now)
        audit.record(
            actor=None,
            action="scheduling.waitlist.offer_claimed",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=offer,
            patient=link.patient,
            changes={"appointment": appointment.pk},
        )
        return ClaimOutcome(appointment=appointment, self_booking=booking)
