"""Reading another system's export: CSV bytes and a mapping in, one dict of our fields per row out.

No database here. Every problem names the row (the file's first row is the header, row 1, so the
numbers match what a spreadsheet shows) and the column as the file spells it, so an operator can
find and fix it; nothing raises past :func:`read_csv` except :class:`ImportFileError`, which
refuses the whole file (no header, a required column missing, a mapping that names no field).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

# Our columns: the field each one fills, whether a row must give it, and what it holds (the README's
# table is written from these).
PATIENT_COLUMNS: dict[str, tuple[bool, str]] = {
    "external_id": (True, "The other system's id for the patient; a re-run updates the patient it names."),
    "legal_first_name": (True, "Legal first name."),
    "legal_last_name": (True, "Legal last name."),
    "preferred_name": (False, "The name the patient goes by."),
    "date_of_birth": (True, "YYYY-MM-DD, or the mapping's date_format."),
    "sex_at_birth": (False, "female, male, intersex or unknown (empty: unknown)."),
    "gender_identity": (False, "As the patient describes it."),
    "pronouns": (False, "As the patient gives them."),
    "phone": (False, "A phone number (national numbers are read as the clinic's country)."),
    "email": (False, "An e-mail address."),
    "address_line1": (False, "Street address."),
    "address_line2": (False, "Second address line."),
    "city": (False, "City."),
    "state": (False, "State."),
    "postal_code": (False, "ZIP code."),
    "preferred_language": (False, "Language for contact (empty: English)."),
    "emergency_contact_name": (False, "Emergency contact's name."),
    "emergency_contact_phone": (False, "Emergency contact's phone."),
    "emergency_contact_relationship": (False, "Emergency contact's relationship to the patient."),
    "referring_provider": (False, "Who referred the patient."),
}

APPOINTMENT_COLUMNS: dict[str, tuple[bool, str]] = {
    "external_id": (True, "The other system's id for the appointment; a re-run skips it."),
    "patient_external_id": (False, "The patient's external_id from the patient import (this or patient_mrn)."),
    "patient_mrn": (False, "The patient's MRN here (this or patient_external_id)."),
    "appointment_type": (True, "The type's code or name (consultation, infusion, …)."),
    "location": (True, "The location's name."),
    "start": (
        True,
        "ISO 8601 (2027-03-01T09:00-05:00), or a local time YYYY-MM-DD HH:MM at the location (or the "
        "mapping's datetime_format).",
    ),
    "end": (False, "Same form as start; empty: minutes, or the type's usual length."),
    "minutes": (False, "Length in minutes, when end is not given."),
    "clinician": (False, "The clinician's user name here; required for the types a clinician sees alone."),
    "note": (False, "A note for the desk."),
    "status": (
        False,
        "A visit to come: booked (or empty) or confirmed. A past visit: its outcome, completed (or attended), "
        "no_show, cancelled or late_cancelled; another product's words through the mapping's values.",
    ),
}
# The status column's words: a booking to come, or a past visit's outcome (scheduling's HISTORY_OUTCOMES).
FUTURE_STATUSES = ("booked", "confirmed")
PAST_STATUSES = {
    "completed": "completed",
    "attended": "completed",
    "no_show": "no_show",
    "cancelled": "cancelled",
    "late_cancelled": "late_cancelled",
}


def status_of(value: str) -> str | None:
    """Our status word for a cell ("No-show" reads as no_show), "" for an empty one, None if unknown."""
    word = re.sub(r"[\s-]+", "_", value.strip().casefold())
    if word in ("", *FUTURE_STATUSES):
        return word
    return PAST_STATUSES.get(word)


# Text columns a value may run over lines in; everywhere else a line break is refused.
MULTILINE_COLUMNS = frozenset({"note"})
# Control characters no name, date or address carries (a NUL also cannot be stored by PostgreSQL).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A cell a spreadsheet would run as a formula (OWASP "CSV Injection"); a phone's "+1 …" is not one.
_FORMULA = re.compile(r"^\s*(?:[=@]|[+-]\s*[A-Za-z(])")
# Lone surrogates: the bytes that did not decode (read with ``surrogateescape``).
_UNDECODED = re.compile(r"[\udc80-\udcff]")
MAX_FIELD_CHARS = 10_000


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why and how to fix it."""


@dataclass
class Problem:
    row: int
    column: str
    message: str


@dataclass
class Mapping:
    """How another product's export reads as ours: its column → our column, and its values → ours."""

    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    date_format: str = "%Y-%m-%d"
    datetime_format: str = ""
    source: str = ""


@dataclass
class Row:
    number: int
    raw: dict[str, str]
    values: dict[str, str]
    problems: list[Problem]


def load_mapping(text: str, *, columns: dict[str, tuple[bool, str]]) -> Mapping:
    """A JSON mapping file, checked against our columns so a typo is caught before any row is read."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"The mapping file is not JSON: {exc.msg} at line {exc.lineno}.") from exc
    if not isinstance(data, dict):
        raise ImportFileError("The mapping file must hold one JSON object.")
    unknown_keys = set(data) - {"columns", "values", "date_format", "datetime_format", "source"}
    if unknown_keys:
        raise ImportFileError(
            f"The mapping file has keys this import does not know: {', '.join(sorted(unknown_keys))}."
        )
    mapped = data.get("columns", {})
    values = data.get("values", {})
    if not isinstance(mapped, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapped.items()):
        raise ImportFileError('"columns" must map each of their column names to one of ours.')
    if not isinstance(values, dict) or not all(
        isinstance(m, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in m.items())
        for m in values.values()
    ):
        raise ImportFileError('"values" must map each of our columns to an object of their value → ours.')
    for ours in [*mapped.values(), *values]:
        if ours not in columns and ours != "":  # "" leaves their column out
            raise ImportFileError(f'The mapping names "{ours}", which is not one of the columns: {", ".join(columns)}.')
    for key in ("date_format", "datetime_format", "source"):
        if not isinstance(data.get(key, ""), str):
            raise ImportFileError(f'"{key}" must be text.')
    return Mapping(
        columns=mapped,
        values={ours: {k.strip().casefold(): v for k, v in m.items()} for ours, m in values.items()},
        date_format=data.get("date_format") or "%Y-%m-%d",
        datetime_format=data.get("datetime_format", ""),
        source=data.get("source", "").strip(),
    )


def _cell_problem(column: str, value: str) -> str:
    if _UNDECODED.search(value):
        return "This value is not in the file's encoding (save the file as UTF-8, or give --encoding)."
    if _CONTROL.search(value):
        return "This value holds control characters."
    if column not in MULTILINE_COLUMNS and ("\n" in value or "\r" in value):
        return "This value runs over more than one line."
    if len(value) > MAX_FIELD_CHARS:
        return f"This value is longer than {MAX_FIELD_CHARS} characters."
    if _FORMULA.match(value):
        return "This value looks like a spreadsheet formula, not data."
    return ""


def read_csv(
    data: bytes, *, columns: dict[str, tuple[bool, str]], mapping: Mapping | None = None, encoding: str = "utf-8"
) -> tuple[list[str], Iterator[Row]]:
    """The file's header and its rows; each row's values keyed by our column names, each cell checked.

    Undecodable bytes are kept as lone surrogates so that the one bad cell is refused, not the file.
    """
    mapping = mapping or Mapping()
    try:
        text = data.decode(encoding, errors="surrogateescape")
    except LookupError as exc:
        raise ImportFileError(f"Unknown encoding: {encoding}.") from exc
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty: the first row must name the columns.") from None
    except csv.Error as exc:
        raise ImportFileError(f"Row 1 (the header) cannot be read as CSV: {exc}.") from exc
    header = [name.strip() for name in header]
    theirs_to_ours = {name: mapping.columns.get(name, name) for name in header}
    if problems := [name for name in header if _cell_problem("", name)]:
        raise ImportFileError(f"Row 1 (the header) has a column name that cannot be read: {problems[0]!r}.")
    seen: dict[str, str] = {}
    for theirs, ours in theirs_to_ours.items():
        if ours in columns and ours in seen:
            raise ImportFileError(f'Columns "{seen[ours]}" and "{theirs}" both give {ours}.')
        seen.setdefault(ours, theirs)
    if len(set(header)) != len(header):
        raise ImportFileError("Row 1 (the header) names a column twice.")
    missing = [name for name, (required, _help) in columns.items() if required and name not in seen]
    if missing:
        raise ImportFileError(f"Row 1 (the header) lacks the required column(s): {', '.join(missing)}.")

    def rows() -> Iterator[Row]:
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Row(number, {}, {}, [Problem(number, "", f"This row cannot be read as CSV: {exc}.")])
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            raw = dict(zip(header, cells, strict=False))
            row = Row(number, raw, {}, [])
            if len(cells) != len(header):
                row.problems.append(
                    Problem(number, "", f"This row has {len(cells)} cells; the header names {len(header)} columns.")
                )
                yield row
                continue
            for theirs, value in raw.items():
                ours = theirs_to_ours[theirs]
                if ours not in columns:
                    continue  # a column this import does not read
                value = value.strip()
                if problem := _cell_problem(ours, value):
                    row.problems.append(Problem(number, theirs, problem))
                    continue
                translate = mapping.values.get(ours)
                if translate and value.casefold() in translate:
                    value = translate[value.casefold()]
                row.values[ours] = value
            yield row

    return header, rows()


def column_of(ours: str, header: list[str], mapping: Mapping | None) -> str:
    """The file's own name for one of our columns (for a problem's report)."""
    for theirs in header:
        if (mapping.columns.get(theirs, theirs) if mapping else theirs) == ours:
            return theirs
    return ours


def parse_date(value: str, *, date_format: str) -> date:
    """Raises ValueError with a message for the operator."""
    try:
        return datetime.strptime(value, date_format).date()  # noqa: DTZ007 - a calendar date, no time zone
    except ValueError:
        shown = date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
        raise ValueError(f"{value!r} is not a date in the form {shown}.") from None


def parse_start(value: str, *, datetime_format: str) -> datetime:
    """An aware instant, or a naive wall time the caller places in the location's zone."""
    try:
        if datetime_format:
            return datetime.strptime(value, datetime_format)  # noqa: DTZ007 - placed in the location's zone
        return datetime.fromisoformat(value)
    except ValueError:
        shown = datetime_format or "YYYY-MM-DD HH:MM (or ISO 8601 with an offset)"
        raise ValueError(f"{value!r} is not a date and time in the form {shown}.") from None


def refused_rows_csv(header: list[str], refused: list[tuple[Row, list[Problem]]]) -> list[list[Any]]:
    """The rows to hand back for fixing: the row's own cells, then where and why it was refused."""
    out: list[list[Any]] = [["row", "column", "reason", *header]]
    for row, problems in refused:
        for problem in problems:
            out.append([row.number, problem.column, problem.message, *(row.raw.get(name, "") for name in header)])
    return out
