"""Reads for patients booking their own visits and for the waitlist: the policy, the slots a
patient may pick (the same free-slot search as the front desk's), the link a token opens, and
the desk's lists of requests and waiting patients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from patients import links
from patients.models import Patient
from scheduling import rules
from scheduling.models import (
    AppointmentType,
    Location,
    SelfBooking,
    SelfBookingLink,
    SelfBookingLinkKind,
    SelfBookingPolicy,
    SelfBookingStatus,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
)
from scheduling.selectors.availability import find_available

# What a patient may still cancel or move online: as from a reminder link.
PATIENT_CANCELLABLE = rules.PATIENT_LINK_MOVES[rules.AppointmentStatus.CANCELLED]
# How many slots one page of the patient's booking page lists.
SLOTS_PER_PAGE = 24


def self_booking_policy() -> SelfBookingPolicy:
    """The policy's one row (id 1), made with its defaults on first use."""
    return SelfBookingPolicy.objects.get_or_create(pk=1)[0]


def self_bookable_types() -> QuerySet[AppointmentType]:
    return AppointmentType.objects.filter(active=True, self_bookable=True).order_by("name")


def self_booking_locations() -> QuerySet[Location]:
    return Location.objects.filter(active=True).order_by("name")


def self_booking_slots(
    *,
    appointment_type: AppointmentType,
    location: Location,
    patient: Patient | None = None,
    after: datetime | None = None,
    now: datetime | None = None,
    policy: SelfBookingPolicy | None = None,
    limit: int = SLOTS_PER_PAGE,
) -> list[rules.Slot]:
    """The free slots a patient may book themselves, from ``after`` (at the earliest the minimum
    notice from now) up to the policy's horizon: the front desk's own free-slot search
    (opening hours, closures, clinicians' hours, chairs and rooms, the patient's other visits),
    so what is offered is what the booking service will accept. Empty for a type that is not
    self-bookable. A fixed number of queries per clinician searched, however many bookings."""
    if not (appointment_type.self_bookable and appointment_type.active and location.active):
        return []
    now = now or timezone.now()
    policy = policy or self_booking_policy()
    earliest, latest = rules.self_booking_window(
        now=now, min_notice_hours=policy.min_notice_hours, horizon_days=policy.horizon_days
    )
    start_from = max(earliest, after or earliest)
    if start_from > latest:
        return []
    days = (latest - start_from).days + 1
    slots = find_available(
        appointment_type=appointment_type,
        location=location,
        after=start_from,
        patient=patient,
        limit=limit,
        horizon_days=days,
    )
    return [slot for slot in slots if slot.start <= latest]


def self_booking_link_usable(link: SelfBookingLink | None, *, now: datetime | None = None) -> bool:
    """Not spent, revoked, expired or locked by wrong dates of birth, and (an offer) still open."""
    if link is None:
        return False
    now = now or timezone.now()
    if link.used_at is not None or link.revoked_at is not None or link.expires_at <= now:
        return False
    return link.dob_failures < self_booking_policy().dob_max_failures


def self_booking_managed(link: SelfBookingLink | None, *, now: datetime | None = None) -> SelfBooking | None:
    """The booking a spent booking link still manages: its latest booking, while the visit is
    booked or confirmed and yet to start (the patient cancels or moves it from the same link).
    None once it is past, cancelled, or the link was revoked or locked by wrong dates of birth."""
    if link is None or link.kind != SelfBookingLinkKind.BOOK or link.used_at is None or link.revoked_at is not None:
        return None
    if link.dob_failures >= self_booking_policy().dob_max_failures:
        return None
    now = now or timezone.now()
    booking = (
        SelfBooking.objects.select_related("appointment__location", "appointment__appointment_type")
        .filter(link=link)
        .order_by("-created_at", "-id")
        .first()
    )
    if booking is None or booking.status == SelfBookingStatus.DECLINED:
        return None
    appointment = booking.appointment
    if appointment.status not in PATIENT_CANCELLABLE or appointment.start <= now:
        return None
    return booking


def self_booking_link_for_token(token: str) -> SelfBookingLink | None:
    """The link a token opens (usable or not), or None for an unknown token."""
    return links.for_token(SelfBookingLink, token, hash_field="token_hash")


def self_booking_link_by_id(link_id) -> SelfBookingLink | None:
    """The link a scoped session holds (by id), or None."""
    if not isinstance(link_id, int) or isinstance(link_id, bool):
        return None
    return (
        SelfBookingLink.objects.select_related(
            "patient",
            "offer__slot__location",
            "offer__slot__appointment_type",
            "offer__entry",
        )
        .filter(pk=link_id)
        .first()
    )


def pending_self_bookings(*, limit: int = 50, locations: frozenset[int] | None = None) -> list[SelfBooking]:
    """Online bookings waiting for the front desk, oldest first (one query); at ``locations`` only
    when given (``scheduling.access.location_ids_for``)."""
    pending = SelfBooking.objects.filter(status=SelfBookingStatus.PENDING)
    if locations is not None:
        pending = pending.filter(appointment__location_id__in=locations)
    return list(
        pending.select_related(
            "appointment__patient", "appointment__location", "appointment__appointment_type", "appointment__clinician"
        ).order_by("created_at", "id")[:limit]
    )


def pending_self_booking_count() -> int:
    return SelfBooking.objects.filter(status=SelfBookingStatus.PENDING).count()


def waiting_entries(*, location: Location | None = None) -> QuerySet[WaitlistEntry]:
    """Patients on the waitlist, longest waiting first (for the desk's paginated list)."""
    rows = WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).select_related(
        "patient", "appointment_type", "location"
    )
    if location is not None:
        rows = rows.filter(location=location)
    return rows.order_by("created_at", "id")


def waitlist_queue(*, appointment_type_id: int, location_id: int) -> QuerySet[WaitlistEntry]:
    """The patients waiting for this type at this location, in the order they are offered slots."""
    return (
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.WAITING, appointment_type_id=appointment_type_id, location_id=location_id
        )
        .select_related("patient")
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class PatientWaitlist:
    entries: list[WaitlistEntry]
    pending: list[SelfBooking]


def patient_waitlist(patient: Patient) -> PatientWaitlist:
    """The patient's waiting entries and online bookings awaiting approval (two queries)."""
    entries = list(
        WaitlistEntry.objects.filter(patient=patient, status=WaitlistStatus.WAITING)
        .select_related("appointment_type", "location")
        .order_by("created_at")
    )
    pending = list(
        SelfBooking.objects.filter(appointment__patient=patient, status=SelfBookingStatus.PENDING)
        .select_related("appointment__location", "appointment__appointment_type")
        .order_by("created_at")
    )
    return PatientWaitlist(entries, pending)


def open_offer_for_link(link: SelfBookingLink) -> WaitlistOffer | None:
    return link.offer if link.kind == SelfBookingLink.Kind.OFFER else None


def offer_expiry(*, now: datetime, slot_start: datetime, policy: SelfBookingPolicy) -> datetime:
    """An offer works for the policy's hours, and never past the slot's start less the notice."""
    return min(now + timedelta(hours=policy.offer_expiry_hours), slot_start - timedelta(hours=policy.min_notice_hours))
