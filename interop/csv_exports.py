"""The registry and the calendar written in the import's own columns, so one clinic's export is the
next one's import (``import_patients`` / ``import_appointments``) without a mapping file.

The external ids are ours: a patient's MRN and an appointment's number. Only bookings still to come
are written, as only those can be booked again (the calendar refuses the past).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from interop.importing import APPOINTMENT_COLUMNS, PATIENT_COLUMNS
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.rules import AppointmentStatus

# The statuses of a booking that still stands.
OPEN_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def patient_rows() -> Iterator[list[Any]]:
    yield list(PATIENT_COLUMNS)
    fields = [name for name in PATIENT_COLUMNS if name != "external_id"]
    for patient in Patient.objects.filter(status=Patient.Status.ACTIVE).order_by("pk").iterator(chunk_size=2000):
        values = [getattr(patient, name) for name in fields]
        yield [
            patient.mrn,
            *("" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v)) for v in values),
        ]


def appointment_rows(*, after: datetime) -> Iterator[list[Any]]:
    yield list(APPOINTMENT_COLUMNS)
    appointments = (
        Appointment.objects.filter(start__gte=after, status__in=OPEN_STATUSES)
        .select_related("patient", "appointment_type", "location", "clinician")
        .only(
            "pk",
            "start",
            "end",
            "note",
            "patient__mrn",
            "appointment_type__code",
            "location__name",
            "clinician__username",
        )
        .order_by("start", "pk")
    )
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
