"""The patient's steps through the packet. Each takes the packet of the scoped session, refuses a
closed link or a step already submitted (a step is submitted once: single use per step), saves the
step at once (so the patient can stop and resume from the link), and closes the packet when the
last step is in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit
from assessments.instruments import FLAG_SUICIDAL_IDEATION
from assessments.models import InstrumentResponse, ResponseContext, ResponseSource
from assessments.services import response_record
from core.audit import Category, Verb
from packets import hooks, rules
from packets.models import Packet, ReportedFact, ReportedMedication
from packets.services.links import LinkRefused, problem_of

# The details and contacts the patient confirms, as the patient record names them.
DETAIL_FIELDS = (
    "preferred_name",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)


def _open_step(packet: Packet, step: str, now: datetime) -> Packet:
    locked = Packet.objects.select_for_update().select_related("patient").get(pk=packet.pk)
    problem = problem_of(locked, now)
    if problem:
        raise LinkRefused(problem)
    if getattr(locked, f"{step}_at") is not None:
        raise LinkRefused("step done")
    return locked


def _finish_step(locked: Packet, step: str, now: datetime, *, category: Category, changes: dict[str, Any]) -> None:
    setattr(locked, f"{step}_at", now)
    fields = [f"{step}_at"]
    if rules.complete(locked.done_steps(), rules.steps_of(consent_online=hooks.consent_online())):
        locked.completed_at = now
        fields.append("completed_at")
    locked.save(update_fields=fields)
    audit.record(
        actor=None,
        action=f"packets.step.{step}",
        verb=Verb.CREATE,
        category=category,
        target=locked,
        patient=locked.patient,
        changes={**changes, **({"completed": True} if locked.completed_at else {})},
    )


def current_details(patient) -> dict[str, str]:
    return {name: str(getattr(patient, name) or "") for name in DETAIL_FIELDS}


@transaction.atomic
def details_submit(*, packet: Packet, details: Mapping[str, str], now: datetime | None = None) -> Packet:
    """The patient's details as they confirmed or corrected them; the desk applies a correction
    to the record (the packet never changes the patient's record on its own)."""
    now = now or timezone.now()
    locked = _open_step(packet, rules.DETAILS, now)
    reported = {name: str(details.get(name) or "").strip() for name in DETAIL_FIELDS}
    changed = sorted(n for n, v in reported.items() if v != current_details(locked.patient)[n])
    locked.reported_details = reported
    locked.details_changed = bool(changed)
    locked.save(update_fields=["reported_details", "details_changed"])
    _finish_step(locked, rules.DETAILS, now, category=Category.DEMOGRAPHICS, changes={"changed": changed})
    return locked


@transaction.atomic
def history_submit(
    *,
    packet: Packet,
    answers: Mapping[str, bool | None],
    medications: Sequence[tuple[str, str]],
    now: datetime | None = None,
) -> Packet:
    """The yes / no / not sure answers (keyed by the intake's field) and the medicines as typed."""
    now = now or timezone.now()
    locked = _open_step(packet, rules.HISTORY, now)
    ReportedFact.objects.bulk_create(
        ReportedFact(packet=locked, field=field, answer=answer) for field, answer in answers.items()
    )
    ReportedMedication.objects.bulk_create(
        ReportedMedication(packet=locked, name=name.strip()[:120], dose=dose.strip()[:120])
        for name, dose in medications[: rules.MAX_MEDICATIONS]
        if name.strip()
    )
    _finish_step(
        locked,
        rules.HISTORY,
        now,
        category=Category.CLINICAL,
        changes={"answers": len(answers), "medications": len(medications)},
    )
    return locked


@dataclass(frozen=True)
class QuestionnairesResult:
    responses: list[InstrumentResponse]
    crisis: bool  # a suicidal-ideation answer: the page shows crisis resources at once


@transaction.atomic
def questionnaires_submit(
    *, packet: Packet, answers: Mapping[str, Any], now: datetime | None = None
) -> QuestionnairesResult:
    """Score and file the baseline questionnaires as patient-entered responses. Every response
    goes through assessments' hooks, so the safety check raises the same alert as any channel."""
    now = now or timezone.now()
    locked = _open_step(packet, rules.QUESTIONNAIRES, now)
    responses = [
        response_record(
            patient=locked.patient,
            code=code,
            answers=answers[code],
            context=ResponseContext.BASELINE,
            by=None,
            source=ResponseSource.PATIENT,
            administered_at=now,
            subject=locked,
        )
        for code in locked.instruments
    ]
    _finish_step(
        locked, rules.QUESTIONNAIRES, now, category=Category.CLINICAL, changes={"responses": [r.pk for r in responses]}
    )
    return QuestionnairesResult(responses, any(FLAG_SUICIDAL_IDEATION in r.flags for r in responses))


@transaction.atomic
def instructions_submit(
    *, packet: Packet, text: str, escort_name: str, escort_phone: str, now: datetime | None = None
) -> Packet:
    """The fasting and escort instructions acknowledged, as shown, with the escort's name and phone."""
    now = now or timezone.now()
    locked = _open_step(packet, rules.INSTRUCTIONS, now)
    locked.instructions_text = text
    locked.escort_name = escort_name.strip()[:150]
    locked.escort_phone = escort_phone.strip()[:30]
    locked.save(update_fields=["instructions_text", "escort_name", "escort_phone"])
    _finish_step(locked, rules.INSTRUCTIONS, now, category=Category.SCHEDULING, changes={"escort": True})
    return locked


@transaction.atomic
def consent_step_done(*, packet: Packet, now: datetime | None = None) -> Packet:
    """Called by the consent app once the patient has signed what the visit needs."""
    now = now or timezone.now()
    locked = _open_step(packet, rules.CONSENT, now)
    _finish_step(locked, rules.CONSENT, now, category=Category.CLINICAL, changes={})
    return locked
