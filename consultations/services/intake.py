"""Writes of the intake consultation: open, autosave, save, screen, sign, amend.

Each is atomic, permission-checked and audited; views, the admin and commands call these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from assessments.instruments import INSTRUMENTS
from assessments.models import ResponseContext
from assessments.services import response_record
from consents import rules as consent_rules
from consents.models import ConsentKind
from consents.rules import ConsentState
from consents.selectors import consent_status
from consultations import decisions, rules, selectors
from consultations.choices import Decision
from consultations.models import (
    Amendment,
    AntidepressantTrial,
    Consultation,
    ConsultationDraft,
    ConsultationStatus,
    Medication,
)
from core import hashing
from core.amendments import amend
from core.audit import Category, Verb
from prescribers.selectors import signature_text
from scheduling.models import Appointment, AppointmentStatus
from scheduling.services import SchedulingError, appointment_follow_care, appointment_transition

logger = logging.getLogger(__name__)

AUDIT_CATEGORY = Category.CLINICAL
DRAFT_MAX_KEYS = 1000  # Django refuses more POST fields than this anyway (DATA_UPLOAD_MAX_NUMBER_FIELDS)


class StaleConsultation(ValidationError):
    """Someone else saved the consultation since this form was loaded (security-reference R2)."""


class ConsultationSigned(ValidationError):
    """The consultation is signed: changes are amendments."""


class StalePage(ValidationError):
    """An autosave from a page older than the clinician's own last save (a late request or a
    second tab): storing it would resurrect input that was already saved or replaced."""


def _require(by: User, *perms: str) -> None:
    if not all(by.has_perm(p) for p in (*perms, "patients.view_clinical_record")):
        raise PermissionDenied


def _lock(consultation: Consultation, expected_version: int | None = None) -> Consultation:
    locked = Consultation.objects.select_for_update(of=("self",)).select_related("patient").get(pk=consultation.pk)
    if locked.is_signed:
        raise ConsultationSigned("This consultation is signed and locked: record an amendment instead.")
    if expected_version is not None and locked.version != expected_version:
        raise StaleConsultation(
            "Another clinician saved this consultation while you were editing. Your input is shown and kept in "
            "your draft: check it against the saved record, then save again."
        )
    return locked


# --- Opening -------------------------------------------------------------------------


@transaction.atomic
def consultation_open(*, appointment, by: User) -> Consultation:
    """The consultation of a booked consultation appointment, created on first opening.
    A checked-in appointment moves to "in progress" (scheduling's own transition)."""

    _require(by, "consultations.add_consultation")
    appointment = (
        Appointment.objects.select_for_update().select_related("appointment_type", "patient").get(pk=appointment.pk)
    )
    existing = Consultation.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    if appointment.appointment_type.code != "consultation":
        raise ValidationError("Only a consultation appointment opens an intake.")
    if appointment.status in (
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
        AppointmentStatus.ENTERED_IN_ERROR,
    ):
        raise ValidationError(f"The appointment is {appointment.get_status_display().lower()}.")
    consultation = Consultation.objects.create(
        patient=appointment.patient,
        appointment=appointment,
        clinician=appointment.clinician or by,
        created_by=by,
        updated_by=by,
    )
    audit.record(
        actor=by,
        action="consultations.consultation.opened",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=consultation,
        patient=appointment.patient,
        changes={"appointment": appointment.pk},
    )
    if appointment.status == AppointmentStatus.CHECKED_IN:
        _move_appointment(appointment, AppointmentStatus.IN_PROGRESS, by)
    return consultation


@transaction.atomic
def consultation_start(*, patient, by: User) -> Consultation:
    """An intake without a booked appointment (walk-in, or booked elsewhere). A patient with an
    intake booked here and not opened gets that booking's intake instead (the first one booked),
    so the booking is never left without its record."""
    _require(by, "consultations.add_consultation")
    booked = selectors.booked_intakes(patient)
    if booked:
        return consultation_open(appointment=booked[0], by=by)
    consultation = Consultation.objects.create(patient=patient, clinician=by, created_by=by, updated_by=by)
    audit.record(
        actor=by,
        action="consultations.consultation.started",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=consultation,
        patient=patient,
    )
    return consultation


def _move_appointment(appointment, to_status: str, by: User) -> None:
    """Keep the calendar in step where scheduling allows it; a refusal never blocks the clinical act."""

    try:
        with transaction.atomic():
            appointment_transition(appointment=appointment, to_status=to_status, by=by)
    except (SchedulingError, PermissionDenied) as exc:
        logger.info("appointment %s not moved to %s: %s", appointment.pk, to_status, type(exc).__name__)


# --- Drafts --------------------------------------------------------------------------


@transaction.atomic
def consultation_draft_save(*, consultation: Consultation, by: User, data: dict[str, list[str]]) -> ConsultationDraft:
    """Keep exactly what was typed (raw, possibly invalid) for this clinician. Never validates."""
    _require(by, "consultations.change_consultation")
    locked = _lock(consultation)
    # NUL cannot be stored in jsonb: keep a visible replacement character instead.
    data = {
        key.replace("\x00", "\ufffd"): [str(v).replace("\x00", "\ufffd") for v in values]
        for key, values in list(data.items())[:DRAFT_MAX_KEYS]
        if key != "csrfmiddlewaretoken"
    }
    try:
        page_version = int((data.get("version") or [""])[0])
    except (TypeError, ValueError):
        page_version = None
    if page_version is not None and page_version < locked.version and locked.updated_by_id == by.pk:
        raise StalePage("This page is older than your last save: reload it before typing more.")
    now = timezone.now()
    draft, created = ConsultationDraft.objects.update_or_create(
        consultation=locked,
        author=by,
        defaults={"data": data, "saved_at": now},
        create_defaults={"data": data, "saved_at": now, "base_version": locked.version},
    )
    audit.record(
        actor=by,
        action="consultations.consultation.draft_saved",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"draft": "created" if created else "updated", "fields": len(data)},
    )
    return draft


def _clear_draft(consultation: Consultation, by: User) -> None:
    ConsultationDraft.objects.filter(consultation=consultation, author=by).delete()


# --- Saving the intake ---------------------------------------------------------------


@dataclass
class SaveOutcome:
    consultation: Consultation
    changed: list[str]
    complete: bool


def _apply_rows(model, consultation: Consultation, rows: list[dict[str, Any]]) -> list[str]:
    """Create, update and delete child rows as the formset says; return a summary."""
    summary = []
    existing = {obj.pk: obj for obj in model.objects.filter(consultation=consultation)}
    for row in rows:
        if row["id"] is None:
            obj = model(consultation=consultation, **row["data"])
            obj.full_clean()
            obj.save(force_insert=True)
            summary.append(f"added {obj.pk}")
            continue
        obj = existing.get(row["id"])
        if obj is None:
            raise ValidationError("A row was removed by someone else; reload the page.")
        if row["delete"]:
            obj.delete()
            summary.append(f"removed {row['id']}")
            continue
        changed = [name for name, value in row["data"].items() if getattr(obj, name) != value]
        if changed:
            for name in changed:
                setattr(obj, name, row["data"][name])
            obj.full_clean()
            obj.save(update_fields=changed)
            summary.append(f"changed {obj.pk}")
    return summary


@transaction.atomic
def consultation_save(
    *,
    consultation: Consultation,
    by: User,
    expected_version: int,
    changes: dict[str, Any],
    medications: list[dict[str, Any]] | None = None,
    trials: list[dict[str, Any]] | None = None,
    instruments: dict[str, Any] | None = None,
    complete: bool,
) -> SaveOutcome:
    """Store what validated. ``complete`` says every part of the page validated: then the
    clinician's draft is cleared; otherwise the draft keeps the raw input of the rest.
    Children are saved only when their whole formset validated (pass None otherwise)."""
    _require(by, "consultations.change_consultation")
    locked = _lock(consultation, expected_version)
    before = {name: getattr(locked, name) for name in changes}
    for name, value in changes.items():
        setattr(locked, name, value)
    field_changes = audit.diff(locked, before, list(changes))
    summary: dict[str, Any] = dict(field_changes)
    if medications is not None and (rows := _apply_rows(Medication, locked, medications)):
        summary["medications"] = rows
    if trials is not None and (rows := _apply_rows(AntidepressantTrial, locked, trials)):
        summary["antidepressant_trials"] = rows
    if instruments:
        current = selectors.baseline_responses(locked)
        for code, answers in instruments.items():
            previous = current.get(code)
            response_record(
                patient=locked.patient,
                code=code,
                answers=answers,
                context=ResponseContext.BASELINE,
                by=by,
                subject=locked,
                supersedes=previous,
                correction_reason="Re-entered before the consultation was signed" if previous else "",
            )
        summary["instruments"] = sorted(instruments)
    if summary:
        locked.version += 1
        locked.updated_by = by
        locked.full_clean(exclude=["patient", "appointment", "clinician", "created_by", "signed_by", "updated_by"])
        locked.save(update_fields=[*field_changes, "version", "updated_by", "updated_at"])
        audit.record(
            actor=by,
            action="consultations.consultation.updated",
            verb=Verb.UPDATE,
            category=AUDIT_CATEGORY,
            target=locked,
            patient=locked.patient,
            changes=summary,
        )
    if complete:
        _clear_draft(locked, by)
    else:
        ConsultationDraft.objects.filter(consultation=locked, author=by).update(base_version=locked.version)
    return SaveOutcome(consultation=locked, changed=sorted(summary), complete=complete)


# --- Screening and signing -----------------------------------------------------------


def _facts_and_result(consultation: Consultation, today: date):
    medications = list(consultation.medications.all())
    trials = list(consultation.antidepressant_trials.all())
    responses = selectors.baseline_responses(consultation)
    facts = selectors.intake_facts(consultation, medications=medications, trials=trials, responses=responses)
    result = rules.screen(facts, selectors.screening_thresholds(), today=today)
    return facts, result, medications, trials, responses


@transaction.atomic
def consultation_screen(*, consultation: Consultation, by: User, today: date | None = None) -> rules.ScreeningResult:
    """Run the contraindication rules on what is recorded now and keep the result."""
    _require(by, "consultations.change_consultation")
    locked = _lock(consultation)
    facts, result, *_ = _facts_and_result(locked, today or timezone.localdate())
    locked.screening = result.as_dict()
    locked.screened_at = timezone.now()
    locked.screened_facts_sha256 = selectors.facts_sha256(facts)
    locked.updated_by = by
    locked.save(update_fields=["screening", "screened_at", "screened_facts_sha256", "updated_by", "updated_at"])
    audit.record(
        actor=by,
        action="consultations.consultation.screened",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "outcome": str(result.outcome),
            "findings": [f"{f.rule_id}:{f.klass}" for f in result.findings],
            "rule_set_version": result.rule_set_version,
        },
    )
    return result


class SignRefused(ValidationError):
    """The decision cannot be signed; ``problems`` maps form fields to messages."""

    def __init__(self, problems: dict[str, str], result: rules.ScreeningResult):
        super().__init__(list(problems.values()))
        self.problems = problems
        self.result = result


def _treatment_consent_problem(patient) -> str:
    """Informed consent to the off-label treatment, as the consents app holds it: current on the
    latest published version (signed online, on the tablet, or on paper scanned by staff)."""
    status = consent_status(patient, kinds=[ConsentKind.TREATMENT])[ConsentKind.TREATMENT]
    if status.state == ConsentState.NONE_PUBLISHED:
        return "no treatment consent is published yet; an administrator publishes one and the patient signs it."
    if status.blocks:
        return consent_rules.refusal(label=status.label, state=status.state) + "."
    return ""


@transaction.atomic(durable=True)
def consultation_sign(
    *,
    consultation: Consultation,
    by: User,
    decision: str,
    justifications: dict[str, str],
    decision_note: str = "",
    expected_version: int | None = None,
    today: date | None = None,
) -> Consultation:
    """Screen what is recorded, check the decision against it, and sign: store the decision,
    the findings snapshot, the rule-set version, the justifications and a SHA-256 of the
    canonical signed content. The database then refuses any change to the row."""
    _require(by, "consultations.change_consultation")
    require_prescriber(by, "consultations.sign_consultation", action="Signing the consultation decision")
    locked = _lock(consultation, expected_version)
    today = today or timezone.localdate()
    facts, result, medications, trials, responses = _facts_and_result(locked, today)

    needed = decisions.required_instruments(locked.indications, facts.phq9_item9)
    problems = decisions.decision_problems(
        result=result,
        decision=decision,
        justifications=justifications,
        note=decision_note,
        consent_problem=_treatment_consent_problem(locked.patient),
        missing_instruments=[INSTRUMENTS[c].name for c in needed if c not in responses],
    )
    if problems:
        raise SignRefused(problems, result)
    wanted = {f.rule_id for f in decisions.findings_to_justify(result.findings)}
    kept = {rule_id: text.strip() for rule_id, text in justifications.items() if rule_id in wanted and text.strip()}
    if decision != Decision.ELIGIBLE_OVERRIDE:
        kept = {}
    now = timezone.now()
    screening = result.as_dict()
    content = {
        **selectors.record_content(locked, medications=medications, trials=trials, responses=responses),
        "screening": screening,
        "decision": decision,
        "decision_note": decision_note.strip(),
        "justifications": kept,
        "signed_by": {"id": by.pk, "name": str(by)},
        "signed_at": now.isoformat(),
    }
    content = hashing.normalised(content)
    _clear_draft(locked, by)
    ConsultationDraft.objects.filter(consultation=locked).delete()
    locked.screening = screening
    locked.screened_at = now
    locked.screened_facts_sha256 = selectors.facts_sha256(facts)
    locked.decision = decision
    locked.decision_note = decision_note.strip()
    locked.justifications = kept
    locked.screening_outcome = str(result.outcome)
    locked.rule_set_version = result.rule_set_version
    locked.signed_content = content
    locked.content_sha256 = hashing.content_sha256(content)
    locked.signed_at = now
    locked.signed_by = by
    locked.status = ConsultationStatus.SIGNED
    locked.updated_by = by
    locked.version += 1
    locked.save()
    audit.record(
        actor=by,
        action="consultations.consultation.signed",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={
            "decision": decision,
            "outcome": str(result.outcome),
            "justified": sorted(kept),
            "rule_set_version": result.rule_set_version,
            "content_sha256": locked.content_sha256,
            # Who decided, with the licence they decided under (an override needs a prescriber).
            "signed_credential": signature_text(by),
        },
    )
    if locked.appointment is not None:
        # The calendar follows the signed intake, a check-in the desk never made included.
        appointment_follow_care(
            appointment=locked.appointment, to_status=AppointmentStatus.COMPLETED, by=by, reason="Intake signed"
        )
    return locked


@transaction.atomic(durable=True)
def amendment_add(*, consultation: Consultation, by: User, kind: str, section: str, reason: str, text: str):
    """A correction or addendum to a signed consultation; the original stays as signed."""

    _require(by)
    require_prescriber(by, "consultations.add_amendment", action="Amending a signed consultation")
    locked = Consultation.objects.select_related("patient").get(pk=consultation.pk)

    def content(reason: str, text: str, at) -> dict:
        return {
            "consultation": locked.pk,
            "kind": kind,
            "section": section,
            "reason": reason,
            "text": text,
            "author": by.pk,
            "at": at.isoformat(),
            "amends_sha256": locked.content_sha256,
        }

    def audited(amendment: Amendment) -> None:
        audit.record(
            actor=by,
            action="consultations.consultation.amended",
            verb=Verb.CREATE,
            category=AUDIT_CATEGORY,
            target=amendment,
            patient=locked.patient,
            changes={"kind": kind, "section": section, "reason": amendment.reason},
        )

    return amend(
        locked,
        model=Amendment,
        link="consultation",
        by=by,
        reason=reason,
        text=text,
        content=content,
        on_created=audited,
        unsigned="Only a signed consultation is amended; edit the draft instead.",
        missing="Give the reason and the text of the amendment.",
        fields={"kind": kind, "section": section},
        validate=True,
    )


# --- Reads that are audited ----------------------------------------------------------


def consultation_viewed(*, consultation: Consultation, by: User) -> None:
    audit.record_read(
        actor=by,
        action="consultations.consultation.viewed",
        target=consultation,
        patient=consultation.patient,
        category=AUDIT_CATEGORY,
    )


def patient_panel_viewed(*, patient, by: User) -> None:
    audit.record_read(
        actor=by, action="consultations.panel.viewed", target=patient, patient=patient, category=AUDIT_CATEGORY
    )
