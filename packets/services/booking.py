"""The packet sent by itself when an intake consultation is booked (the scheduling hook)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.site import site_url
from packets.models import Packet
from packets.services.links import packet_issue
from scheduling.models import Appointment, AppointmentStatus

INTAKE_TYPE = "consultation"  # the appointment type whose booking opens an intake
SENDS_FOR = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def _wanted(appointment: Appointment | None, now) -> bool:
    if appointment is None or appointment.appointment_type.code != INTAKE_TYPE:
        return False
    if appointment.status not in SENDS_FOR or appointment.start <= now:
        return False
    patient = appointment.patient
    if not ((patient.sms_opt_in and patient.phone) or (patient.email_opt_in and patient.email)):
        return False  # the desk hands the forms over at the visit; the home page lists it
    # One packet is enough: one for this visit, or one still open or completed for the patient.
    return not Packet.objects.filter(
        Q(appointment=appointment)
        | Q(patient=patient, revoked_at=None, expires_at__gt=now)
        | Q(patient=patient, completed_at__isnull=False)
    ).exists()


def packet_wanted(appointment_id: int) -> bool:
    """Whether this appointment's change calls for sending a packet (one query or two)."""
    if not getattr(settings, "PACKET_AUTO_SEND", True):
        return False
    appointment = Appointment.objects.select_related("appointment_type", "patient").filter(pk=appointment_id).first()
    return _wanted(appointment, timezone.now())


@transaction.atomic
def packet_for_booking(*, appointment_id: int) -> Packet | None:
    """Create and send the packet of a booked intake consultation, once (the task calls this)."""
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "patient")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None or not _wanted(appointment, timezone.now()):
        return None
    try:
        new, _ = packet_issue(patient=appointment.patient, by=None, appointment=appointment, base_url=site_url())
    except ValidationError:
        return None  # the desk sees the visit still lacks its forms
    return new.packet
