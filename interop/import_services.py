"""Bringing patients and appointments in from another system, row by row, through the desk's services.

A patient is registered by ``patient_create`` (the same duplicate check as the registration form)
and an appointment booked by ``appointment_book`` (the same opening hours, clashes and exclusion
constraints as the calendar), so an import can do nothing the front desk could not. A past visit
(history, with its outcome) goes through ``appointment_import_history``: the same clashes and
constraints, none of today's booking rules, and no listener told (nothing sent or charged). Each row is its
own transaction: a refused row leaves nothing behind and the rows before it stay imported, so a run
stopped halfway is finished by running it again (the external id says what is already here). A dry
run does the same work inside one transaction that is rolled back at the end, so it refuses exactly
what the real run would, duplicates within the file included.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pghistory
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from core.periods import FIRST_DAY, LAST_DAY
from interop import fhir_import, importing
from interop.importing import Problem, Row
from interop.models import ImportedRecord
from patients.models import Patient
from patients.services import DEMOGRAPHIC_FIELDS, PossibleDuplicates, patient_create, patient_update
from scheduling import rules as scheduling_rules
from scheduling.models import AppointmentType, Location
from scheduling.rules import AppointmentStatus
from scheduling.services import SchedulingError, appointment_book, appointment_import_history, appointment_transition

logger = logging.getLogger(__name__)

DUPLICATE_POLICIES = ("refuse", "link")
KIND_PATIENT = ImportedRecord.Kind.PATIENT
# Blank in the file means "not recorded"; these fields have a default that blank must not override.
_DEFAULT_WHEN_BLANK = {"sex_at_birth": Patient.Sex.UNKNOWN, "preferred_language": "English"}


class RowRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        self.problems = problems


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    linked: int = 0
    skipped: int = 0
    refused: list[tuple[Row, list[Problem]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "linked": self.linked,
            "skipped": self.skipped,
            "refused": len(self.refused),
        }


def _problems_from(exc: ValidationError, row: int, column_for: Callable[[str], str]) -> list[Problem]:
    if not hasattr(exc, "error_dict"):
        return [Problem(row, "", message) for message in exc.messages]
    out: list[Problem] = []
    for name, errors in exc.message_dict.items():
        column = "" if name == NON_FIELD_ERRORS else column_for(name)
        out.extend(Problem(row, column, message) for message in errors)
    return out


@contextlib.contextmanager
def _import_run(*, by: User, command: str, dry_run: bool) -> Iterator[None]:
    """The history's context for every row (who ran which import), and the dry run's rollback."""
    with pghistory.context(user=by.pk, url=f"manage.py {command}"):
        if not dry_run:
            yield
            return
        with transaction.atomic():
            yield
            transaction.set_rollback(True)


def _run_rows(
    report: ImportReport, rows: Iterable[Row], one: Callable[[Row], str], column_for: Callable[[str], str]
) -> None:
    for row in rows:
        if row.problems:
            report.refused.append((row, row.problems))
            continue
        try:
            with transaction.atomic():
                outcome = one(row)
        except RowRefused as exc:
            report.refused.append((row, exc.problems))
            continue
        except ValidationError as exc:
            report.refused.append((row, _problems_from(exc, row.number, column_for)))
            continue
        except (DatabaseError, ValueError, TypeError) as exc:
            # The database's own constraints are the last word; name the failure, never the data.
            logger.warning("import row %s refused: %s", row.number, type(exc).__name__)
            report.refused.append(
                (row, [Problem(row.number, "", f"The database refused this row ({type(exc).__name__}).")])
            )
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)


def _imported(source: str, kind: str, external_id: str) -> ImportedRecord | None:
    return (
        ImportedRecord.objects.select_related("patient")
        .filter(source=source, kind=kind, external_id=external_id)
        .first()
    )


def _record_import(
    *, source: str, kind: str, external_id: str, patient: Patient, by: User, how: str, appointment: Any = None
) -> None:
    """Keep the external id (except on an update: it is already kept) and audit the import as such."""
    if how != "updated":
        ImportedRecord.objects.create(
            source=source,
            kind=kind,
            external_id=external_id,
            patient=patient,
            appointment=appointment,
            imported_by=by,
            imported_at=timezone.now(),
        )
    audit.record(
        actor=by,
        action=f"interop.{kind}.{'linked' if how == 'linked' else 'imported'}",
        verb=Verb.CREATE if how == "created" else Verb.UPDATE,
        category=Category.DEMOGRAPHICS if kind == ImportedRecord.Kind.PATIENT else Category.SCHEDULING,
        target=appointment or patient,
        patient=patient,
        changes={"source": source, "external_id": external_id, "outcome": how},
    )


# Patients ----------------------------------------------------------------------------------------


def patient_import_one(
    *, fields: dict[str, Any], source: str, external_id: str, by: User, duplicates: str, row: int
) -> str:
    """Register, update or link one patient; the outcome's name ('created', 'updated', …).

    ``fields`` are the registry's demographic fields, already converted. Raises ValidationError
    (keyed by field) or RowRefused.
    """
    existing = _imported(source, KIND_PATIENT, external_id)
    if existing is not None:
        before = existing.patient.version
        patient = patient_update(patient=existing.patient, by=by, **fields)
        if patient.version == before:
            return "skipped"
        _record_import(source=source, kind=KIND_PATIENT, external_id=external_id, patient=patient, by=by, how="updated")
        return "updated"
    try:
        patient = patient_create(by=by, **fields)
    except PossibleDuplicates as exc:
        found = ", ".join(f"{m.patient.mrn} ({'; '.join(m.reasons)})" for m in exc.matches)
        if duplicates != "link" or len(exc.matches) != 1:
            why = "link it (--duplicates link) or" if duplicates != "link" else "more than one match:"
            raise RowRefused(
                [Problem(row, "", f"Probably already registered as {found}; {why} check and register at the desk.")]
            ) from exc
        patient = exc.matches[0].patient
        _record_import(source=source, kind=KIND_PATIENT, external_id=external_id, patient=patient, by=by, how="linked")
        return "linked"
    _record_import(source=source, kind=KIND_PATIENT, external_id=external_id, patient=patient, by=by, how="created")
    return "created"


def _patient_fields(row: Row, mapping: importing.Mapping, column_for: Callable[[str], str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in row.values.items():
        if name not in DEMOGRAPHIC_FIELDS:
            continue
        if name == "date_of_birth":
            try:
                fields[name] = importing.parse_date(value, date_format=mapping.date_format) if value else None
            except ValueError as exc:
                raise RowRefused([Problem(row.number, column_for(name), str(exc))]) from None
            if fields[name] is None:
                raise RowRefused([Problem(row.number, column_for(name), "This field is required.")])
            continue
        fields[name] = value or _DEFAULT_WHEN_BLANK.get(name, "")
    return fields


def import_patients(
    *,
    data: bytes,
    source: str,
    by: User,
    mapping: importing.Mapping | None = None,
    encoding: str = "utf-8",
    dry_run: bool = False,
    duplicates: str = "refuse",
) -> tuple[list[str], ImportReport]:
    """Import a patients CSV (columns: ``importing.PATIENT_COLUMNS``). Raises ImportFileError."""
    mapping = mapping or importing.Mapping()
    header, rows = importing.read_csv(data, columns=importing.PATIENT_COLUMNS, mapping=mapping, encoding=encoding)
    report = ImportReport(kind="patients", dry_run=dry_run)

    def column_for(name: str) -> str:
        return importing.column_of(name, header, mapping)

    def one(row: Row) -> str:
        external_id = row.values.get("external_id", "")
        if not external_id:
            raise RowRefused([Problem(row.number, column_for("external_id"), "This field is required.")])
        return patient_import_one(
            fields=_patient_fields(row, mapping, column_for),
            source=source,
            external_id=external_id,
            by=by,
            duplicates=duplicates,
            row=row.number,
        )

    with _import_run(by=by, command="import_patients", dry_run=dry_run):
        _run_rows(report, rows, one, column_for)
    return header, report


def import_patient_bundle(
    *, data: bytes, by: User, dry_run: bool = False, duplicates: str = "refuse"
) -> tuple[list[str], ImportReport]:
    """Import a FHIR Bundle of Patients; the source is each patient's identifier system, so a re-run
    (or another export of the same system) finds them by identifier. Raises BundleError."""
    entries = fhir_import.read_bundle(data)
    report = ImportReport(kind="patients", dry_run=dry_run)
    header = ["identifier_system", "identifier_value"]
    rows = []
    by_number = {}
    for entry in entries:
        raw = {"identifier_system": entry.source, "identifier_value": entry.external_id}
        problems = [Problem(entry.number, path, message) for path, message in entry.problems]
        rows.append(Row(entry.number, raw, {}, problems))
        by_number[entry.number] = entry

    def one(row: Row) -> str:
        entry = by_number[row.number]
        return patient_import_one(
            fields=entry.fields,
            source=entry.source,
            external_id=entry.external_id,
            by=by,
            duplicates=duplicates,
            row=row.number,
        )

    with _import_run(by=by, command="import_fhir_bundle", dry_run=dry_run):
        _run_rows(report, rows, one, lambda name: f"Patient ({name})")
    return header, report


# Appointments ------------------------------------------------------------------------------------


class _Lookups:
    """The calendar's types, locations and clinicians, read once per import instead of once per row."""

    def __init__(self) -> None:
        self.types: dict[str, AppointmentType] = {}
        for t in AppointmentType.objects.all():
            self.types[t.code.casefold()] = t
            self.types.setdefault(t.name.casefold(), t)
        self.locations = {loc.name.casefold(): loc for loc in Location.objects.all()}
        self.clinicians: dict[str, User | None] = {}

    def clinician(self, username: str) -> User | None:
        key = username.casefold()
        if key not in self.clinicians:
            self.clinicians[key] = User.objects.filter(username__iexact=username, is_active=True).first()
        return self.clinicians[key]


def _instant(value: str, *, location: Location, datetime_format: str) -> datetime:
    parsed = importing.parse_start(value, datetime_format=datetime_format)
    # A visit's time is shifted by its zone and its length: at the first or last days Python holds
    # that leaves the calendar, so only years a clinic's records can fall in are taken.
    if not FIRST_DAY <= parsed.date() <= LAST_DAY:
        raise ValueError(f"Give a date between {FIRST_DAY:%Y} and {LAST_DAY:%Y}.")
    if timezone.is_aware(parsed):
        return parsed
    return scheduling_rules.to_utc(parsed.date(), parsed.time(), location.time_zone)


def import_appointments(
    *,
    data: bytes,
    source: str,
    by: User,
    mapping: importing.Mapping | None = None,
    encoding: str = "utf-8",
    dry_run: bool = False,
) -> tuple[list[str], ImportReport]:
    """Import an appointments CSV (columns: ``importing.APPOINTMENT_COLUMNS``). Raises ImportFileError."""
    mapping = mapping or importing.Mapping()
    header, rows = importing.read_csv(data, columns=importing.APPOINTMENT_COLUMNS, mapping=mapping, encoding=encoding)
    report = ImportReport(kind="appointments", dry_run=dry_run)
    lookups = _Lookups()

    given = {mapping.columns.get(theirs, theirs) for theirs in header}

    def column_for(name: str) -> str:
        # The booking service's own field names: the chair is picked from the start time, and the
        # patient is whichever of the two columns the file gives.
        if name == "patient":
            name = (
                "patient_mrn"
                if "patient_external_id" not in given and "patient_mrn" in given
                else "patient_external_id"
            )
        name = {"resource": "start"}.get(name, name)
        return importing.column_of(name, header, mapping)

    def one(row: Row) -> str:
        values, n = row.values, row.number
        external_id = values.get("external_id", "")
        problems: list[Problem] = []

        def refuse(column: str, message: str) -> None:
            problems.append(Problem(n, column_for(column), message))

        if not external_id:
            refuse("external_id", "This field is required.")
        elif _imported(source, ImportedRecord.Kind.APPOINTMENT, external_id) is not None:
            return "skipped"
        patient = None
        if values.get("patient_external_id"):
            link = _imported(source, ImportedRecord.Kind.PATIENT, values["patient_external_id"])
            patient = link.patient if link else None
            if patient is None:
                refuse("patient_external_id", "No patient was imported from this source with this id.")
        elif values.get("patient_mrn"):
            patient = Patient.objects.filter(mrn=values["patient_mrn"].upper()).first()
            if patient is None:
                refuse("patient_mrn", "No patient has this MRN.")
        else:
            refuse("patient_external_id", "Give the patient (patient_external_id or patient_mrn).")
        appointment_type = lookups.types.get(values.get("appointment_type", "").casefold())
        if appointment_type is None:
            refuse("appointment_type", "No appointment type has this code or name.")
        location = lookups.locations.get(values.get("location", "").casefold())
        if location is None:
            refuse("location", "No location has this name.")
        clinician = None
        if values.get("clinician"):
            clinician = lookups.clinician(values["clinician"])
            if clinician is None:
                refuse("clinician", "No active user has this user name.")
        start = end = None
        minutes = None
        if location is not None:
            for name in ("start", "end"):
                if not values.get(name):
                    continue
                try:
                    instant = _instant(values[name], location=location, datetime_format=mapping.datetime_format)
                except ValueError as exc:
                    refuse(name, str(exc))
                    continue
                if name == "start":
                    start = instant
                else:
                    end = instant
            if not values.get("start"):
                refuse("start", "This field is required.")
        if values.get("minutes"):
            try:
                minutes = int(values["minutes"])
                if not 1 <= minutes <= 12 * 60:
                    raise ValueError
            except ValueError:
                refuse("minutes", "Give the length as a whole number of minutes, at most 720.")
        status = importing.status_of(values.get("status", ""))
        if status is None:
            refuse(
                "status",
                f"{values['status']!r} is not a status this import knows: booked, confirmed, or for a past visit "
                "completed, attended, no_show, cancelled, late_cancelled (map other words in the mapping file).",
            )
        if (
            problems
            or patient is None
            or appointment_type is None
            or location is None
            or start is None
            or status is None
        ):
            raise RowRefused(problems)
        if end is None and minutes is not None:
            end = start + timedelta(minutes=minutes)
        past = start < timezone.now()
        if past and status in ("", *importing.FUTURE_STATUSES):
            raise RowRefused(
                [
                    Problem(
                        n,
                        column_for("start"),
                        "That time has already passed: a past visit is imported with its outcome in the status "
                        "column (completed, no_show, cancelled or late_cancelled).",
                    )
                ]
            )
        if not past and status not in ("", *importing.FUTURE_STATUSES):
            raise RowRefused(
                [
                    Problem(
                        n,
                        column_for("status"),
                        f"A visit still to come can only be booked or confirmed; {values['status']!r} is the "
                        "outcome of a past visit.",
                    )
                ]
            )
        try:
            if past:
                appointment = appointment_import_history(
                    patient=patient,
                    appointment_type=appointment_type,
                    location=location,
                    start=start,
                    end=end or start + timedelta(minutes=appointment_type.minutes),
                    outcome=status,
                    clinician=clinician,
                    note=values.get("note", ""),
                    by=by,
                    source=source,
                )
            else:
                appointment = appointment_book(
                    patient=patient,
                    appointment_type=appointment_type,
                    location=location,
                    start=start,
                    end=end,
                    clinician=clinician,
                    note=values.get("note", ""),
                    by=by,
                )
                if status == "confirmed":
                    appointment = appointment_transition(
                        appointment=appointment, to_status=AppointmentStatus.CONFIRMED, by=by
                    )
        except SchedulingError as exc:
            raise RowRefused(_problems_from(exc, n, column_for)) from None
        except PermissionDenied:
            raise RowRefused([Problem(n, column_for("status"), f"{by} may not confirm bookings.")]) from None
        _record_import(
            source=source,
            kind=ImportedRecord.Kind.APPOINTMENT,
            external_id=external_id,
            patient=patient,
            by=by,
            how="created",
            appointment=appointment,
        )
        return "created"

    with _import_run(by=by, command="import_appointments", dry_run=dry_run):
        _run_rows(report, rows, one, column_for)
    return header, report


def operator(username: str, *perms: str) -> User:
    """The member of staff an import runs as; every record and audit entry names them."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"by": f"No active user is called {username!r}."})
    missing = [perm for perm in perms if not user.has_perm(perm)]
    if missing:
        raise ValidationError({"by": f"{username} may not do this import (lacks {', '.join(missing)})."})
    return user
