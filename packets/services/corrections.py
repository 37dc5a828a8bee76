"""The desk's review of the contact details a patient corrected in their packet: each corrected
field applied to the patient record (through ``patients.services.patient_update``, so the change
is validated, audited and in the patient's history like any edit at the desk) or dismissed with
the decision audited. The packet never changes the record on its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from packets.models import Packet
from packets.services._common import require
from packets.services.steps import DETAIL_FIELDS, current_details
from patients.models import Patient
from patients.services import patient_update

APPLY, DISMISS = "applied", "dismissed"


@dataclass(frozen=True)
class Correction:
    field: str
    label: str
    on_record: str
    reported: str


def _label(field: str) -> str:
    name = str(cast(models.Field, Patient._meta.get_field(field)).verbose_name)  # a column, never a relation
    return name[:1].upper() + name[1:]


def pending_corrections(packet: Packet) -> list[Correction]:
    """Each field the patient reported differently from the record, not yet decided."""
    if not packet.reported_details:
        return []
    record = current_details(packet.patient)
    decided = packet.details_decisions or {}
    return [
        Correction(field=name, label=_label(name), on_record=record[name], reported=reported)
        for name in DETAIL_FIELDS
        if name not in decided
        and (reported := str(packet.reported_details.get(name, ""))) != record[name]
        and name in packet.reported_details
    ]


@transaction.atomic
def detail_correction_decide(*, packet: Packet, field: str, decision: str, by: User) -> Packet:
    """Apply the patient's correction of ``field`` to the record, or dismiss it. Raises
    ValidationError (the message names the field) when the correction is not pending or the record
    refuses the value (e.g. an invalid phone number)."""
    if decision not in (APPLY, DISMISS):
        raise ValidationError("Apply or dismiss the correction.")
    require(by, "packets.add_packet", *(["patients.change_patient"] if decision == APPLY else []))
    locked = Packet.objects.select_for_update().select_related("patient").get(pk=packet.pk)
    pending = {c.field: c for c in pending_corrections(locked)}
    correction = pending.get(field)
    if correction is None:
        raise ValidationError("This correction was already decided, or matches the record now.")
    if decision == APPLY:
        changes: dict[str, Any] = {field: correction.reported}
        patient_update(patient=locked.patient, by=by, **changes)
    now = timezone.now()
    locked.details_decisions = {
        **(locked.details_decisions or {}),
        field: {"decision": decision, "by": by.pk, "at": now.isoformat()},
    }
    locked.save(update_fields=["details_decisions"])
    audit.record(
        actor=by,
        action=f"packets.detail_correction.{decision}",
        verb=Verb.UPDATE,
        category=Category.DEMOGRAPHICS,
        target=locked,
        patient=locked.patient,
        changes={"field": field, "decision": decision},
    )
    return locked
