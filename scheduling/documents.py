"""Scheduling's documents: the discharge instructions hand-out, the next-appointment part
other documents reuse, and the location a letterhead defaults to (registered with documents)."""

from __future__ import annotations

from typing import Any, cast

from django.utils import formats, timezone

from documents import registry
from documents.models import DocumentKind
from documents.snapshots import letterhead, patient_part
from patients.models import Patient
from scheduling.models import ACTIVE_STATUSES, Appointment, Location

INFUSION_CODES = ("infusion", "booster")


def default_location() -> Location | None:
    return Location.objects.filter(active=True).order_by("name").first()


def next_appointment(patient) -> dict[str, Any] | None:
    appt = (
        Appointment.objects.filter(
            patient=patient, status__in=[s.value for s in ACTIVE_STATUSES], start__gt=timezone.now()
        )
        .select_related("appointment_type", "location")
        .order_by("start")
        .first()
    )
    if appt is None:
        return None
    local = appt.start.astimezone(appt.location.zone)
    return {
        "what": appt.appointment_type.name,
        "when": f"{local:%A %B %-d, %Y} at {formats.time_format(local)}",
        "where": appt.location.name,
        "address": appt.location.address,
    }


def discharge_instructions(subject: Appointment | Patient) -> dict[str, Any]:
    """Plain-language hand-out for a visit (or for the patient when there is none). The advice
    is fixed text in the template; the snapshot holds who it is for, the visit, whom to call
    and the next appointment."""
    appointment = subject if isinstance(subject, Appointment) else None
    patient = appointment.patient if appointment is not None else cast(Patient, subject)
    location = appointment.location if appointment is not None else None
    head = letterhead(location)
    return {
        "letterhead": head,
        "patient": patient_part(patient),
        "visit": {
            "date": appointment.start.astimezone(appointment.location.zone).strftime("%A %B %-d, %Y")
            if appointment is not None
            else timezone.localdate().strftime("%A %B %-d, %Y"),
            "what": appointment.appointment_type.name if appointment is not None else "",
        },
        "clinic_phone": head["phone"],
        "escort": patient.escort_name,
        "next_appointment": next_appointment(patient),
    }


def latest_visit(patient) -> Appointment | None:
    """The infusion or booster visit the hand-out is for: today's, else the most recent one started."""
    return (
        Appointment.objects.filter(
            patient=patient, appointment_type__code__in=INFUSION_CODES, start__lte=timezone.now()
        )
        .exclude(status__in=["cancelled", "entered_in_error", "no_show"])
        .select_related("appointment_type", "location", "patient")
        .order_by("-start")
        .first()
    )


def _patient_of(subject: Appointment | Patient) -> Patient:
    return subject.patient if isinstance(subject, Appointment) else subject


registry.register_letterhead_location(default_location)
registry.register(
    DocumentKind.DISCHARGE_INSTRUCTIONS,
    template="documents/discharge_instructions.html",
    build=discharge_instructions,
    patient_of=_patient_of,
    # The hand-out is about the latest visit, whatever the form names; the patient when there is none.
    find=lambda patient, _subject_id: latest_visit(patient) or patient,
)
