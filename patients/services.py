"""Writes to the registry. Each one is atomic and writes its audit entry."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from accounts import audit
from patients.models import Patient
from patients.rules import format_mrn

AUDIT_CATEGORY = "demographics"


def _next_mrn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('patients_mrn_seq')")
        (value,) = cursor.fetchone()
    return format_mrn(value)


@transaction.atomic
def patient_create(*, by, **fields: Any) -> Patient:
    patient = Patient(**fields, mrn=_next_mrn(), created_by=by)
    patient.full_clean()
    patient.save(force_insert=True)
    audit.record(
        actor=by,
        action="patients.patient.created",
        verb="create",
        category=AUDIT_CATEGORY,
        target=patient,
        patient=patient,
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by, **fields: Any) -> Patient:
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    changes = audit.diff(locked, before, list(fields))
    if not changes:
        return locked
    locked.full_clean()
    locked.save(update_fields=[*changes, "updated_at"])
    audit.record(
        actor=by,
        action="patients.patient.updated",
        verb="update",
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked,
        changes=changes,
    )
    return locked


def patient_chart_opened(*, patient: Patient, by) -> None:
    """Every read of a chart is audited (ONC (d)(2)); a failed write fails the read."""
    audit.record_read(
        actor=by,
        action="patients.patient.viewed",
        target=patient,
        patient=patient,
        category=AUDIT_CATEGORY,
    )
