"""A clinician accepting what the patient reported into the intake, item by item. The write to
the consultation is the consultations app's own service; here the item is marked as taken in."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from consultations.models import Consultation
from consultations.services.reported import (
    consultation_reported_fact_accept,
    consultation_reported_medication_accept,
)
from core.audit import Category, Verb
from packets.models import ReportedFact, ReportedMedication
from packets.services._common import require


def _check(item, consultation: Consultation, by: User) -> None:
    require(by, "consultations.change_consultation", "patients.view_clinical_record")
    if item.packet.patient_id != consultation.patient_id:
        raise ValidationError("That answer is another patient's.")
    if consultation.is_signed:
        raise ValidationError("This consultation is signed and locked: record an amendment instead.")


def _audit(item, by: User, consultation: Consultation) -> None:
    audit.record(
        actor=by,
        action="packets.reported.accepted",
        verb=Verb.UPDATE,
        category=Category.CLINICAL,
        target=item.packet,
        patient=consultation.patient,
        changes={"item": str(item), "consultation": consultation.pk},
    )


@transaction.atomic
def reported_fact_accept(*, fact_id: int, consultation: Consultation, by: User) -> ReportedFact:
    fact = ReportedFact.objects.select_for_update(of=("self",)).select_related("packet").filter(pk=fact_id).first()
    if fact is None:
        raise ValidationError("No such answer.")
    _check(fact, consultation, by)
    if fact.accepted_at is not None:
        return fact
    if fact.answer is None:
        raise ValidationError("The patient was not sure: ask them at the visit.")
    consultation_reported_fact_accept(
        consultation=consultation,
        by=by,
        field=fact.field,
        value=fact.answer,
        source=f"pre-visit packet {fact.packet_id}",
    )
    fact.accepted_at, fact.accepted_by, fact.consultation = timezone.now(), by, consultation
    fact.save(update_fields=["accepted_at", "accepted_by", "consultation"])
    _audit(fact, by, consultation)
    return fact


@transaction.atomic
def reported_medication_accept(
    *, medication_id: int, consultation: Consultation, by: User, interaction_class: str
) -> ReportedMedication:
    item = (
        ReportedMedication.objects.select_for_update(of=("self",))
        .select_related("packet")
        .filter(pk=medication_id)
        .first()
    )
    if item is None:
        raise ValidationError("No such medicine.")
    _check(item, consultation, by)
    if item.accepted_at is not None:
        return item
    consultation_reported_medication_accept(
        consultation=consultation,
        by=by,
        name=item.name,
        dose=item.dose,
        interaction_class=interaction_class,
        source=f"pre-visit packet {item.packet_id}",
    )
    item.accepted_at, item.accepted_by, item.consultation = timezone.now(), by, consultation
    item.save(update_fields=["accepted_at", "accepted_by", "consultation"])
    _audit(item, by, consultation)
    return item
