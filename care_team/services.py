"""Every write of the care team: the directory, a patient's care team and authorisations to
share, progress letters and adjunct visits with their notes. Keyword-only, atomic, validated with
messages keyed by field, audited (the free text of a note or letter never enters the audit trail).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from care_team import rules, selectors
from care_team.models import (
    AdjunctNote,
    AdjunctNoteAmendment,
    CareRelationship,
    CareTeamMember,
    CareTeamPolicy,
    Milestone,
    OutsideProvider,
    ProgressLetter,
    ProviderRole,
    SharingAuthorisation,
    SharingScope,
)
from core.amendments import amend
from core.audit import Category, Verb
from core.hashing import content_sha256
from documents import services as document_services
from documents.models import DocumentKind
from prescribers.rules import CredentialError, normalise_npi
from scheduling.models import Appointment, AppointmentType, Location
from scheduling.services import appointment_book

logger = logging.getLogger(__name__)

DIRECTORY = Category.DEMOGRAPHICS  # names and contact details of outside clinicians
CLINICAL = Category.CLINICAL

PROVIDER_FIELDS = ("name", "role", "npi", "practice", "phone", "secure_fax", "secure_email")


def _require(user: User | None, perm: str) -> None:
    if user is None or not user.has_perm(perm):
        raise PermissionDenied


def policy_current() -> CareTeamPolicy:
    policy, _ = CareTeamPolicy.objects.get_or_create(pk=1)
    return policy


# --- The directory ------------------------------------------------------------------------


def _clean_provider(data: Mapping[str, Any], *, exclude_pk: int | None = None) -> dict[str, str]:
    values = {name: str(data.get(name) or "").strip() for name in PROVIDER_FIELDS}
    problems: dict[str, str] = {}
    if not values["name"]:
        problems["name"] = "Give the clinician's name."
    if values["role"] not in ProviderRole.values:
        problems["role"] = "Choose what kind of clinician this is."
    if values["npi"]:
        try:
            values["npi"] = normalise_npi(values["npi"])
        except CredentialError as error:
            problems["npi"] = error.message
        else:
            others = OutsideProvider.objects.filter(npi=values["npi"])
            clash = (others.exclude(pk=exclude_pk) if exclude_pk is not None else others).first()
            if clash is not None:
                problems["npi"] = f"{clash.name} already has this NPI in the directory."
    if values["secure_email"] and "@" not in values["secure_email"]:
        problems["secure_email"] = "An e-mail address has an @."
    if problems:
        raise ValidationError(problems)
    return values


@transaction.atomic
def provider_create(*, by: User, data: Mapping[str, Any]) -> OutsideProvider:
    _require(by, "care_team.add_outsideprovider")
    provider = OutsideProvider.objects.create(**_clean_provider(data), created_by=by)
    audit.record(
        actor=by,
        action="care_team.provider.created",
        verb=Verb.CREATE,
        category=DIRECTORY,
        target=provider,
        changes={"role": provider.role, "npi": provider.npi},
    )
    return provider


@transaction.atomic
def provider_update(*, provider: OutsideProvider, by: User, data: Mapping[str, Any]) -> OutsideProvider:
    _require(by, "care_team.change_outsideprovider")
    locked = OutsideProvider.objects.select_for_update().get(pk=provider.pk)
    if locked.is_retired:
        raise ValidationError("A retired clinician is kept as they were; add them again if they return.")
    values = _clean_provider(data, exclude_pk=locked.pk)
    before = {name: getattr(locked, name) for name in PROVIDER_FIELDS}
    for name, value in values.items():
        setattr(locked, name, value)
    changes = audit.diff(locked, before, list(PROVIDER_FIELDS))
    if changes:
        locked.save(update_fields=[*changes, "updated_at"])
        audit.record(
            actor=by,
            action="care_team.provider.updated",
            verb=Verb.UPDATE,
            category=DIRECTORY,
            target=locked,
            changes=changes,
        )
    return locked


@transaction.atomic
def provider_retire(*, provider: OutsideProvider, by: User) -> OutsideProvider:
    """Retire a clinician from the directory: kept on every care team and letter that names them,
    no longer offered for new ones."""
    _require(by, "care_team.change_outsideprovider")
    locked = OutsideProvider.objects.select_for_update().get(pk=provider.pk)
    if locked.is_retired:
        return locked
    locked.retired_at = timezone.now()
    locked.retired_by = by
    locked.save(update_fields=["retired_at", "retired_by", "updated_at"])
    audit.record(actor=by, action="care_team.provider.retired", verb=Verb.UPDATE, category=DIRECTORY, target=locked)
    return locked


# --- A patient's care team and authorisations -----------------------------------------------


@transaction.atomic
def member_add(*, patient, provider: OutsideProvider, relationship: str, by: User) -> CareTeamMember:
    _require(by, "care_team.add_careteammember")
    problems: dict[str, str] = {}
    if relationship not in CareRelationship.values:
        problems["relationship"] = "Choose the clinician's part in the patient's care."
    if provider.is_retired:
        problems["provider"] = "This clinician is retired from the directory."
    elif CareTeamMember.objects.filter(
        patient=patient, provider=provider, relationship=relationship, ended_at__isnull=True
    ).exists():
        problems["provider"] = "This clinician is already on the patient's care team in that part."
    if problems:
        raise ValidationError(problems)
    member = CareTeamMember.objects.create(
        patient=patient, provider=provider, relationship=relationship, added_by=by, added_at=timezone.now()
    )
    audit.record(
        actor=by,
        action="care_team.member.added",
        verb=Verb.CREATE,
        category=DIRECTORY,
        target=member,
        patient=patient,
        changes={"provider": provider.pk, "relationship": relationship},
    )
    return member


@transaction.atomic
def member_end(*, member: CareTeamMember, by: User) -> CareTeamMember:
    """Take a clinician off the patient's care team (kept on record with the letters they received)."""
    _require(by, "care_team.change_careteammember")
    locked = CareTeamMember.objects.select_for_update().select_related("patient").get(pk=member.pk)
    if locked.ended_at is not None:
        return locked
    locked.ended_at = timezone.now()
    locked.ended_by = by
    locked.save(update_fields=["ended_at", "ended_by"])
    audit.record(
        actor=by,
        action="care_team.member.ended",
        verb=Verb.UPDATE,
        category=DIRECTORY,
        target=locked,
        patient=locked.patient,
    )
    return locked


@transaction.atomic
def authorisation_record(
    *, member: CareTeamMember, by: User, scope: str, signed_on: date | None, expires_on: date | None
) -> SharingAuthorisation:
    """Record the patient's signed authorisation to share their treatment with ``member``."""
    _require(by, "care_team.add_sharingauthorisation")
    today = timezone.localdate()
    problems: dict[str, str] = {}
    if scope not in SharingScope.values:
        problems["scope"] = "Choose what the patient agreed to share."
    if signed_on is None:
        problems["signed_on"] = "Give the day the patient signed the authorisation."
    elif signed_on > today:
        problems["signed_on"] = "The patient cannot have signed it in the future."
    if expires_on is not None and signed_on is not None and expires_on < signed_on:
        problems["expires_on"] = "It cannot expire before it was signed."
    if member.ended_at is not None:
        problems["member"] = "This clinician is no longer on the patient's care team."
    if problems or signed_on is None:
        raise ValidationError(problems)
    authorisation = SharingAuthorisation.objects.create(
        patient_id=member.patient_id,
        member=member,
        scope=scope,
        signed_on=signed_on,
        expires_on=expires_on,
        recorded_by=by,
        recorded_at=timezone.now(),
    )
    audit.record(
        actor=by,
        action="care_team.authorisation.recorded",
        verb=Verb.CREATE,
        category=CLINICAL,
        target=authorisation,
        patient=member.patient,
        changes={"member": member.pk, "scope": scope, "signed_on": signed_on, "expires_on": expires_on},
    )
    return authorisation


@transaction.atomic
def authorisation_revoke(*, authorisation: SharingAuthorisation, by: User, reason: str) -> SharingAuthorisation:
    """The patient withdraws the authorisation: from now on no letter under it is drafted, signed
    or released (already-released copies are outside the clinic's reach; the accounting lists them)."""
    _require(by, "care_team.change_sharingauthorisation")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say how the patient withdrew it (e.g. signed revocation form)."})
    if len(reason) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."})
    locked = SharingAuthorisation.objects.select_for_update().select_related("patient").get(pk=authorisation.pk)
    if locked.revoked_at is not None:
        raise ValidationError({"reason": "This authorisation is already revoked."})
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.revoke_reason = reason
    locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        actor=by,
        action="care_team.authorisation.revoked",
        verb=Verb.UPDATE,
        category=CLINICAL,
        target=locked,
        patient=locked.patient,
        changes={"revoked": True},
    )
    return locked


# --- Progress letters ----------------------------------------------------------------------


def _create_letter(
    *, member: CareTeamMember, plan, milestone: str, sessions: int, by: User | None
) -> ProgressLetter | None:
    authorisation = selectors.current_authorisation(member)
    today = timezone.localdate()
    if authorisation is None or authorisation.state(today) != rules.AuthorisationState.ACTIVE:
        return None
    return ProgressLetter.objects.create(
        patient_id=member.patient_id,
        plan=plan,
        recipient=member,
        authorisation=authorisation,
        milestone=milestone,
        sessions_at_milestone=sessions,
        drafted_by=by,
        drafted_at=timezone.now(),
    )


@transaction.atomic
def letter_draft(*, member: CareTeamMember, by: User) -> ProgressLetter:
    """A letter to ``member`` about the patient's current course, asked for by a clinician."""
    _require(by, "care_team.add_progressletter")
    if member.ended_at is not None:
        raise ValidationError("This clinician is no longer on the patient's care team.")
    plan = selectors.course_plan(member.patient_id)
    if plan is None:
        raise ValidationError("The patient has no treatment plan to report on.")
    authorisation = selectors.current_authorisation(member)
    state = authorisation.state(timezone.localdate()) if authorisation is not None else ""
    if why := rules.refusal(state):
        raise ValidationError(why)
    completed = selectors.completed_sessions(plan)
    letter = _create_letter(member=member, plan=plan, milestone=Milestone.REQUESTED, sessions=completed, by=by)
    if letter is None:  # the authorisation was checked above; kept for the type checker
        raise ValidationError(rules.refusal(""))
    _audit_letter(letter, by=by, action="care_team.letter.drafted", verb=Verb.CREATE)
    return letter


@transaction.atomic
def letters_draft_at_milestone(*, plan_id: int) -> list[ProgressLetter]:
    """After a session of the course is signed: if the course reached a milestone (clinic policy),
    draft one letter for each care-team member the patient authorises, once."""
    plan = selectors.plan_for_letters(plan_id)
    if plan is None:
        return []
    policy = policy_current()
    reached = rules.milestone_reached(
        completed=selectors.completed_sessions(plan),
        planned=plan.sessions_planned,
        at_induction_end=policy.letter_at_induction_end,
        every_boosters=policy.letter_every_boosters,
    )
    if reached is None:
        return []
    drafted = []
    for member in selectors.current_members(plan.patient_id):
        exists = ProgressLetter.objects.filter(
            plan=plan, recipient=member, milestone=reached.milestone, sessions_at_milestone=reached.sessions
        ).exists()
        if exists:
            continue
        letter = _create_letter(
            member=member, plan=plan, milestone=reached.milestone, sessions=reached.sessions, by=None
        )
        if letter is not None:
            _audit_letter(letter, by=None, action="care_team.letter.drafted", verb=Verb.CREATE)
            drafted.append(letter)
    return drafted


def draft_after_signing(session, by) -> None:
    """The infusions app's "session signed" hook: draft the milestone's letters, never failing the
    signature (already committed) if drafting goes wrong."""
    try:
        letters_draft_at_milestone(plan_id=session.plan_id)
    except Exception:
        logger.exception("care_team: drafting progress letters after session %s failed", session.pk)


def _audit_letter(letter: ProgressLetter, *, by: User | None, action: str, verb: Verb, **changes: Any) -> None:
    audit.record(
        actor=by,
        action=action,
        verb=verb,
        category=CLINICAL,
        target=letter,
        patient=letter.patient,
        changes={"recipient": letter.recipient_id, "milestone": letter.milestone, **changes},
    )


def _lock_draft(letter: ProgressLetter) -> ProgressLetter:
    locked = (
        ProgressLetter.objects.select_for_update(of=("self",))
        .select_related("patient", "recipient__provider", "authorisation", "plan")
        .get(pk=letter.pk)
    )
    if locked.is_signed:
        raise ValidationError("This letter is signed; it cannot change.")
    return locked


@transaction.atomic
def letter_save(*, letter: ProgressLetter, by: User, plan_text: str) -> ProgressLetter:
    _require(by, "care_team.change_progressletter")
    locked = _lock_draft(letter)
    plan_text = (plan_text or "").strip()
    if len(plan_text) > 4000:
        raise ValidationError({"plan_text": "Keep the plan under 4,000 characters."})
    if plan_text != locked.plan_text:
        locked.plan_text = plan_text
        locked.save(update_fields=["plan_text"])
        _audit_letter(locked, by=by, action="care_team.letter.edited", verb=Verb.UPDATE)
    return locked


def release_refusal(letter: ProgressLetter, *, today: date) -> str:
    """Why this letter may not be signed or released on ``today`` ("" when it may)."""
    authorisation = letter.authorisation
    state = authorisation.state(today)
    return rules.refusal(state)


@transaction.atomic
def letter_sign(*, letter: ProgressLetter, by: User, plan_text: str | None = None) -> ProgressLetter:
    """A prescriber signs the letter: its PDF is issued through the documents app (rendered after
    commit), ready to download for the recipient, each download a disclosure."""
    _require(by, "care_team.sign_progressletter")
    locked = _lock_draft(letter)
    if plan_text is not None:
        locked.plan_text = plan_text.strip()
    if why := release_refusal(locked, today=timezone.localdate()):
        raise ValidationError(why)
    if not locked.plan_text:
        raise ValidationError({"plan_text": "Write the plan before signing: the recipient reads it."})
    locked.signed_at = timezone.now()
    locked.signed_by = by
    document = document_services.issue(kind=DocumentKind.PROGRESS_LETTER, subject=locked, by=by)
    locked.document = document
    locked.status = ProgressLetter.Status.SIGNED
    locked.save(update_fields=["plan_text", "signed_at", "signed_by", "document", "status"])
    _audit_letter(locked, by=by, action="care_team.letter.signed", verb=Verb.SIGN, document=document.pk)
    return locked


def letter_viewed(*, letter: ProgressLetter, by: User) -> None:
    audit.record_read(
        actor=by, action="care_team.letter.viewed", target=letter, patient=letter.patient, category=CLINICAL
    )


# --- Adjunct visits ------------------------------------------------------------------------


def adjunct_type() -> AppointmentType:
    """The integration/psychotherapy appointment type: a consult room, not a chair; seeded by a
    migration, made here with its defaults if an administrator removed it."""
    found, _ = AppointmentType.objects.get_or_create(
        code=AppointmentType.Code.ADJUNCT,
        defaults={
            "name": "Integration or psychotherapy session",
            "default_minutes": policy_current().adjunct_minutes,
            "resource_kind": AppointmentType.NeedsResource.ROOM,
            "clinician_exclusive": True,
            "colour": AppointmentType.Colour.TEAL,
        },
    )
    return found


def adjunct_book(
    *, patient, location: Location, start: datetime, by: User, clinician=None, note: str = ""
) -> Appointment:
    """Book an integration or psychotherapy visit: the scheduling service takes a free consult
    room and enforces the room, patient and clinician exclusion constraints."""
    kind = adjunct_type()
    return appointment_book(
        patient=patient,
        appointment_type=kind,
        location=location,
        start=start,
        minutes=kind.default_minutes,
        clinician=clinician,
        note=note,
        by=by,
    )


def _require_adjunct(appointment: Appointment) -> None:
    if appointment.appointment_type.code != AppointmentType.Code.ADJUNCT:
        raise ValidationError("Only an integration or psychotherapy visit has this note.")


@transaction.atomic
def adjunct_note_save(*, appointment: Appointment, by: User, text: str) -> AdjunctNote:
    """Write (or rewrite) the draft note of an adjunct visit."""
    _require(by, "care_team.add_adjunctnote")
    _require_adjunct(appointment)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the note."})
    if len(text) > 4000:
        raise ValidationError({"text": "Keep the note under 4,000 characters."})
    note = AdjunctNote.objects.select_for_update().filter(appointment=appointment).first()
    if note is None:
        note = AdjunctNote.objects.create(
            patient_id=appointment.patient_id, appointment=appointment, text=text, author=by, created_at=timezone.now()
        )
        action, verb = "care_team.adjunct_note.created", Verb.CREATE
    elif note.is_signed:
        raise ValidationError("This note is signed; add an amendment instead.")
    else:
        note.text = text
        note.save(update_fields=["text"])
        action, verb = "care_team.adjunct_note.edited", Verb.UPDATE
    audit.record(actor=by, action=action, verb=verb, category=CLINICAL, target=note, patient=appointment.patient)
    return note


@transaction.atomic
def adjunct_note_sign(*, note: AdjunctNote, by: User, at: datetime | None = None) -> AdjunctNote:
    _require(by, "care_team.sign_adjunctnote")
    locked = (
        AdjunctNote.objects.select_for_update(of=("self",)).select_related("appointment", "patient").get(pk=note.pk)
    )
    if locked.is_signed:
        raise ValidationError("This note is already signed.")
    at = at or timezone.now()
    if at < locked.appointment.start:
        raise ValidationError("A visit's note is signed once the visit has started.")
    locked.signed_at = at
    locked.signed_by = by
    locked.content_sha256 = content_sha256(
        {"note": locked.pk, "appointment": locked.appointment_id, "text": locked.text, "signed_at": at.isoformat()}
    )
    locked.save(update_fields=["signed_at", "signed_by", "content_sha256"])
    audit.record(
        actor=by,
        action="care_team.adjunct_note.signed",
        verb=Verb.SIGN,
        category=CLINICAL,
        target=locked,
        patient=locked.patient,
        changes={"content_sha256": locked.content_sha256},
    )
    return locked


@transaction.atomic
def adjunct_note_amend(*, note: AdjunctNote, by: User, reason: str, text: str) -> AdjunctNoteAmendment:
    _require(by, "care_team.add_adjunctnoteamendment")
    return amend(
        note,
        model=AdjunctNoteAmendment,
        link="note",
        by=by,
        reason=reason,
        text=text,
        content=lambda reason, text, at: {"note": note.pk, "reason": reason, "text": text, "at": at.isoformat()},
        on_created=lambda amendment: audit.record(
            actor=by,
            action="care_team.adjunct_note.amended",
            verb=Verb.CREATE,
            category=CLINICAL,
            target=amendment,
            patient=note.patient,
        ),
        unsigned="Edit the draft directly; amendments are for signed notes.",
        missing={"reason": "Say why the note is amended.", "text": "Write the amendment."},
    )
