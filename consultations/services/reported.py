"""Writes into the intake of what the patient reported before the visit (the pre-visit packet),
once a clinician accepts it, item by item. The packet app calls these; what the patient reported
reaches the consultation through here only."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models, transaction

from accounts import audit
from accounts.models import User
from consultations.choices import InteractionClass
from consultations.models import DIRECT_FACTS, Consultation, Medication
from consultations.services.intake import AUDIT_CATEGORY, _lock, _require
from core.audit import Verb


def reportable_facts() -> list[tuple[str, str]]:
    """The intake's yes / no / not recorded facts, (field, label), in the form's order: read from
    the model, so a fact added to the intake is asked in the packet too."""
    found = []
    for name in DIRECT_FACTS:
        field = Consultation._meta.get_field(name)
        if isinstance(field, models.BooleanField) and field.null:
            label = str(field.verbose_name)
            found.append((name, label[:1].upper() + label[1:]))
    return found


def _bump(locked: Consultation, by: User, fields: list[str]) -> None:
    locked.version += 1
    locked.updated_by = by
    locked.save(update_fields=[*fields, "version", "updated_by", "updated_at"])


@transaction.atomic
def consultation_reported_fact_accept(
    *, consultation: Consultation, by: User, field: str, value: bool, source: str
) -> Consultation:
    """Record one yes/no fact the patient reported (``source`` names where it came from)."""
    _require(by, "consultations.change_consultation")
    if field not in dict(reportable_facts()) or not isinstance(value, bool):
        raise ValidationError("That is not a yes-or-no fact of the intake.")
    locked = _lock(consultation)
    before = {field: getattr(locked, field)}
    setattr(locked, field, value)
    changes = audit.diff(locked, before, [field])
    _bump(locked, by, [field])
    audit.record(
        actor=by,
        action="consultations.consultation.reported_accepted",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={**changes, "source": source},
    )
    return locked


@transaction.atomic
def consultation_reported_medication_accept(
    *, consultation: Consultation, by: User, name: str, dose: str, interaction_class: str, source: str
) -> Medication:
    """Add a medicine the patient reported to the intake's list, with the class the clinician chose."""
    _require(by, "consultations.change_consultation")
    if interaction_class not in InteractionClass.values:
        raise ValidationError({"interaction_class": "Choose the medicine's interaction class."})
    locked = _lock(consultation)
    medication = Medication(consultation=locked, name=name, dose=dose, interaction_class=interaction_class)
    medication.full_clean()
    medication.save(force_insert=True)
    _bump(locked, by, [])
    audit.record(
        actor=by,
        action="consultations.consultation.reported_accepted",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"medications": [f"added {medication.pk}"], "source": source},
    )
    return medication
