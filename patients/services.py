"""Writes to the registry. Each one is atomic, validates, and writes its audit entry.

History: pghistory triggers copy every insert and update of Patient and
ContactLogEntry (with the request's user as context); the audit trail keeps
who changed what from what to what.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from patients import rules
from patients.access import place_registered_patient
from patients.models import NAME_KEY_FIELDS, ContactLogEntry, Patient
from patients.selectors import PossibleDuplicate, patient_as_of_version, possible_duplicates

AUDIT_CATEGORY = Category.DEMOGRAPHICS

# What the desk may set through patient_create / patient_update. The MRN,
# version, consent times, status and bookkeeping columns are the services' own.
DEMOGRAPHIC_FIELDS = (
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "pronouns",
    "phone",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "preferred_language",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
    "escort_name",
    "escort_phone",
    "escort_relationship",
    "referring_provider",
)
CONSENT_FIELDS = ("sms_opt_in", "sms_consent_method", "email_opt_in", "email_consent_method")
EDITABLE_FIELDS = DEMOGRAPHIC_FIELDS + CONSENT_FIELDS
# Consent prefix, the contact field it needs, and what to say when that is missing.
CHANNELS = (
    ("sms", "phone", "SMS reminders need a phone number."),
    ("email", "email", "E-mail reminders need an e-mail address."),
)

# A contact logged a few minutes "in the future" is clock skew between devices, not an error.
CONTACT_CLOCK_SKEW = timedelta(minutes=5)


class PossibleDuplicates(ValidationError):
    """Registering would likely create a second record for someone already registered."""

    def __init__(self, matches: list[PossibleDuplicate]):
        self.matches = matches
        super().__init__(
            {
                "duplicate_reason": "This person may already be registered. Open the existing record, "
                "or give a reason to register anyway."
            }
        )


class StaleEdit(ValidationError):
    """Someone else saved this patient after the form was loaded.

    ``current`` is the saved record; ``loaded`` the values the editor started
    from (a history snapshot, or None when the history has no such version).
    """

    def __init__(self, current: Patient, loaded=None):
        self.current = current
        self.loaded = loaded
        super().__init__(
            "Someone else saved changes to this patient while you were editing, so nothing was saved. "
            "Check their changes above, then save again to keep your version.",
            code="stale",
        )


def _next_mrn() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('patients_mrn_seq')")
        (value,) = cursor.fetchone()
    return rules.format_mrn(value)


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable through the registry services: {sorted(unknown)}")


def _validate(patient: Patient, *, today) -> None:
    errors: dict[str, list[str]] = {}
    if patient.date_of_birth and (problem := rules.date_of_birth_problem(patient.date_of_birth, today=today)):
        errors["date_of_birth"] = [problem]
    for prefix, contact, missing in CHANNELS:
        if getattr(patient, f"{prefix}_opt_in"):
            if not getattr(patient, f"{prefix}_consent_method"):
                errors[f"{prefix}_consent_method"] = ["Say how the patient gave consent."]
            if not getattr(patient, contact):
                errors[f"{prefix}_opt_in"] = [missing]
    for name in ("legal_first_name", "legal_last_name"):
        if not str(getattr(patient, name)).strip():
            errors[name] = ["This field is required."]
    # Field checks (lengths, choices, phone and e-mail syntax); the database
    # enforces the constraints, so they cost no extra queries here.
    try:
        patient.clean_fields(exclude=["mrn", "created_by", *NAME_KEY_FIELDS, *errors])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def _stamp_consents(patient: Patient, before: dict[str, Any], *, at: datetime) -> None:
    """Set when consent was given (now) or clear it (opt-out), per rules.record_consent."""
    for prefix, _contact, _missing in CHANNELS:
        old = rules.Consent(
            opted_in=bool(before.get(f"{prefix}_opt_in")),
            at=before.get(f"{prefix}_consent_at"),
            method=before.get(f"{prefix}_consent_method") or "",
        )
        opted_in = bool(getattr(patient, f"{prefix}_opt_in"))
        method = getattr(patient, f"{prefix}_consent_method") or ""
        if opted_in and not method:
            continue  # _validate reports it at the field
        new = rules.record_consent(before=old, opted_in=opted_in, method=method, at=at)
        setattr(patient, f"{prefix}_opt_in", new.opted_in)
        setattr(patient, f"{prefix}_consent_at", new.at)
        setattr(patient, f"{prefix}_consent_method", new.method)


def _create_changes(patient: Patient) -> dict[str, list]:
    names = [*EDITABLE_FIELDS, "sms_consent_at", "email_consent_at", "status", "mrn"]
    return {name: [None, getattr(patient, name)] for name in names if getattr(patient, name) not in ("", None, False)}


@transaction.atomic
def patient_create(
    *, by: User | None, duplicate_reason: str = "", consent_given_at: datetime | None = None, **fields: Any
) -> Patient:
    """Register a patient. Raises PossibleDuplicates unless ``duplicate_reason`` explains why
    a likely duplicate is a different person (the reason is kept in the audit entry). ``by`` is
    None only when the person registers themselves (booking online from the inquiry form).
    ``consent_given_at``: when the contact consents in ``fields`` were given, if before now (the
    inquiry form's submission)."""
    _check_fields(fields)
    now = timezone.now()
    patient = Patient(**fields, created_by=by)
    _stamp_consents(patient, {}, at=min(consent_given_at or now, now))
    _validate(patient, today=timezone.localdate(now))
    matches = possible_duplicates(
        legal_first_name=patient.legal_first_name,
        legal_last_name=patient.legal_last_name,
        date_of_birth=patient.date_of_birth,
        phone=str(patient.phone or ""),
        email=patient.email,
    )
    duplicate_reason = duplicate_reason.strip()
    if matches and not duplicate_reason:
        raise PossibleDuplicates(matches)
    patient.mrn = _next_mrn()
    patient.save(force_insert=True)
    place_registered_patient(patient, by)
    changes = _create_changes(patient)
    if matches:
        changes["possible_duplicates"] = [None, [m.patient.mrn for m in matches]]
        changes["duplicate_reason"] = [None, duplicate_reason]
    audit.record(
        actor=by,
        action="patients.patient.created",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=patient,
        patient=patient,
        changes=changes,
    )
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by: User, expected_version: int | None = None, **fields: Any) -> Patient:
    """Change demographics and contact preferences.

    ``expected_version`` is the version the editor loaded; if someone saved in
    between, StaleEdit is raised and nothing changes (optimistic locking).
    """
    _check_fields(fields)
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleEdit(locked, patient_as_of_version(patient_id=locked.pk, version=expected_version))
    watched = [*fields, "sms_consent_at", "email_consent_at", "sms_consent_method", "email_consent_method"]
    before = {name: getattr(locked, name) for name in [*watched, "sms_opt_in", "email_opt_in"]}
    for name, value in fields.items():
        setattr(locked, name, value)
    now = timezone.now()
    _stamp_consents(locked, before, at=now)
    changes = audit.diff(locked, before, list(dict.fromkeys([*watched, "sms_opt_in", "email_opt_in"])))
    if not changes:
        return locked
    _validate(locked, today=timezone.localdate(now))
    locked.version += 1
    locked.save(update_fields=[*changes, "version", "updated_at"])
    audit.record(
        actor=by,
        action="patients.patient.updated",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked,
        changes=changes,
    )
    return locked


@transaction.atomic
def patient_change_status(*, patient: Patient, by: User, status: str, reason: str) -> Patient:
    """Deactivate, reactivate or record a death (never delete), per rules.STATUS_TRANSITIONS."""
    reason = reason.strip()
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if status not in Patient.Status.values:
        raise ValidationError({"status": "Choose a status."})
    if not rules.status_change_allowed(locked.status, status):
        current, wanted = locked.get_status_display().lower(), Patient.Status(status).label.lower()
        raise ValidationError({"status": f"A patient who is {current} cannot be made {wanted}."})
    if not reason:
        raise ValidationError({"reason": "Give a reason for the change."})
    before = {"status": locked.status, "status_reason": locked.status_reason}
    locked.status = status
    locked.status_reason = reason[:200]
    locked.status_changed_at = timezone.now()
    locked.version += 1
    locked.save(update_fields=["status", "status_reason", "status_changed_at", "version", "updated_at"])
    audit.record(
        actor=by,
        action="patients.patient.status_changed",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked,
        changes=audit.diff(locked, before, ["status", "status_reason"]),
    )
    return locked


def patient_chart_opened(*, patient: Patient, by: User) -> None:
    """Every read of a chart is audited (ONC (d)(2)); a failed write fails the read."""
    audit.record_read(
        actor=by,
        action="patients.patient.viewed",
        target=patient,
        patient=patient,
        category=AUDIT_CATEGORY,
    )


def contact_log_opened(*, patient: Patient, by: User) -> None:
    audit.record_read(
        actor=by,
        action="patients.contact_log.viewed",
        target=patient,
        patient=patient,
        category=AUDIT_CATEGORY,
    )


def patient_search_performed(*, by: User, query: str, result_count: int) -> None:
    """A registry search shows names and dates of birth: it is recorded like a read."""
    audit.record(
        actor=by,
        action="patients.patient.searched",
        verb=Verb.QUERY,
        category=AUDIT_CATEGORY,
        changes={"query": [None, query], "results": [None, result_count]},
    )


def patient_list_viewed(*, by: User, page: int) -> None:
    """The unfiltered list shows names and dates of birth too: one query event per page."""
    audit.record(
        actor=by,
        action="patients.patient_list.viewed",
        verb=Verb.QUERY,
        category=AUDIT_CATEGORY,
        changes={"page": page},
    )


def _contact_log_entry(
    *, patient: Patient, by: User | None, channel: str, direction: str, summary: str, at: datetime | None, now: datetime
) -> ContactLogEntry:
    """The validated, unsaved entry (summary whitespace collapsed)."""
    entry = ContactLogEntry(
        patient=patient,
        by=by,
        at=at or now,
        channel=channel,
        direction=direction,
        summary=" ".join(summary.split()),
    )
    if entry.at > now + CONTACT_CLOCK_SKEW:
        raise ValidationError({"at": "A contact cannot be logged in the future."})
    entry.clean_fields(exclude=["patient", "by"])
    return entry


def _contact_log_audit(entry: ContactLogEntry) -> dict[str, Any]:
    return {
        "actor": entry.by,
        "action": "patients.contact_log_entry.created",
        "verb": Verb.CREATE,
        "category": AUDIT_CATEGORY,
        "target": entry,
        "patient": entry.patient,
        "changes": {
            "at": [None, entry.at],
            "channel": [None, entry.channel],
            "direction": [None, entry.direction],
            "summary": [None, entry.summary],
        },
    }


@transaction.atomic
def contact_log_entry_create(
    *,
    patient: Patient,
    by: User | None,
    channel: str,
    direction: str,
    summary: str,
    at: datetime | None = None,
) -> ContactLogEntry:
    """Log one contact with a patient. ``by`` is None for messages the system sent.

    Other apps (appointment reminders) call this too, so their messages appear
    in the same log.
    """
    entry = _contact_log_entry(
        patient=patient, by=by, channel=channel, direction=direction, summary=summary, at=at, now=timezone.now()
    )
    entry.save(force_insert=True)
    audit.record(**_contact_log_audit(entry))
    return entry


@transaction.atomic
def contact_log_entries_create(*, entries: list[dict[str, Any]]) -> list[ContactLogEntry]:
    """Log several contacts at once (reminders sent in a batch): one INSERT, one audit append.

    Each item holds :func:`contact_log_entry_create`'s keyword arguments; every entry is validated
    the same way and one invalid entry refuses the whole batch.
    """
    now = timezone.now()
    rows = [_contact_log_entry(**{"at": None, **spec}, now=now) for spec in entries]
    if not rows:
        return []
    ContactLogEntry.objects.bulk_create(rows)  # pghistory's row triggers record each insert
    audit.record_many([_contact_log_audit(entry) for entry in rows])
    return rows
