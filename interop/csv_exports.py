"""The registry and the calendar written in the import's own columns, so one clinic's export is the
next one's import (``import_patients`` / ``import_appointments``) without a mapping file.

The external ids are ours: a patient's MRN and an appointment's number. Bookings still to come are
written with their status, and past visits with their outcome (completed, no-show, cancelled or
late-cancelled), which the import brings in as history; a past booking whose outcome was never
recorded, a cancellation by rescheduling (the new booking is written) and a row entered in error are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Q, Subquery

from accounts import audit
from accounts.models import User
from billing import rules as billing_rules
from billing import selectors as billing_selectors
from core.audit import Category, Verb
from interop.importing import APPOINTMENT_COLUMNS, PATIENT_COLUMNS
from patients.models import Patient
from scheduling.models import Appointment, AppointmentStatusChange
from scheduling.rules import RESCHEDULED_REASON, AppointmentStatus

# The statuses of a booking that still stands, and the outcomes of a past visit the import reads.
OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)
PAST_OUTCOMES = (AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED)


def patient_rows() -> Iterator[list[Any]]:
    yield list(PATIENT_COLUMNS)
    fields = [name for name in PATIENT_COLUMNS if name != "external_id"]
    for patient in Patient.objects.filter(status=Patient.Status.ACTIVE).order_by("pk").iterator(chunk_size=2000):
        values = [getattr(patient, name) for name in fields]
        yield [
            patient.mrn,
            *("" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in values),
        ]


def _outcome(appointment: Any, late_hours: dict[int, int]) -> str:
    if appointment.status != AppointmentStatus.CANCELLED:
        return str(appointment.status)
    if appointment.location_id not in late_hours:
        late_hours[appointment.location_id] = billing_selectors.settings_for(appointment.location_id).late_cancel_hours
    late = appointment.cancelled_at is not None and billing_rules.is_late_cancellation(
        start=appointment.start, cancelled_at=appointment.cancelled_at, window_hours=late_hours[appointment.location_id]
    )
    return "late_cancelled" if late else "cancelled"


def appointment_rows(*, after: datetime) -> Iterator[list[Any]]:
    """Bookings from ``after`` on, and the visits before it with their outcome."""
    yield list(APPOINTMENT_COLUMNS)
    cancelled_at = Subquery(
        AppointmentStatusChange.objects.filter(appointment=OuterRef("pk"), to_status=AppointmentStatus.CANCELLED)
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    appointments = (
        Appointment.objects.filter(
            Q(start__gte=after, status__in=OPEN_STATUSES) | Q(start__lt=after, status__in=PAST_OUTCOMES)
        )
        .exclude(status=AppointmentStatus.CANCELLED, cancel_reason=RESCHEDULED_REASON)
        .select_related("patient", "appointment_type", "location", "clinician")
        .only(
            "pk",
            "start",
            "end",
            "note",
            "status",
            "cancel_reason",
            "patient__mrn",
            "appointment_type__code",
            "location__name",
            "clinician__username",
        )
        .annotate(cancelled_at=cancelled_at)
        .order_by("start", "pk")
    )
    late_hours: dict[int, int] = {}
    for a in appointments.iterator(chunk_size=2000):
        row = {
            "external_id": a.pk,
            "patient_external_id": a.patient.mrn,
            "patient_mrn": "",
            "appointment_type": a.appointment_type.code,
            "location": a.location.name,
            "start": a.start.isoformat(),
            "end": a.end.isoformat(),
            "minutes": "",
            "clinician": a.clinician.username if a.clinician else "",
            "note": a.note,
            "status": _outcome(a, late_hours),
        }
        yield [row[name] for name in APPOINTMENT_COLUMNS]


def export_recorded(*, by: User, what: str, rows: int) -> None:
    """Writing the registry to a file is audited like any export of it."""
    audit.record(
        actor=by,
        action=f"interop.{what}.exported",
        verb=Verb.EXPORT,
        category=Category.DEMOGRAPHICS if what == "patients" else Category.SCHEDULING,
        changes={"rows": rows, "format": "import CSV"},
    )
