"""A FHIR R4 Bundle of Patients, read into the registry's fields.

Each entry is validated by ``fhir.resources`` (R4B, the version the API's tests check against) on its
own, so one malformed patient is refused with the element at fault while the others are read. The
reading is the inverse of ``interop.resources.patient``: a Bundle this API wrote comes back as the
same registry entries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir.resources.R4B.patient import Patient as FhirPatient
from pydantic import ValidationError as PydanticValidationError

from interop.resources import US_CORE

# The inverse of resources._GENDER and _BIRTH_SEX.
_SEX_FROM_GENDER = {"female": "female", "male": "male", "other": "intersex", "unknown": "unknown"}
_SEX_FROM_BIRTH_SEX = {"F": "female", "M": "male"}


class BundleError(Exception):
    """The file is not a Bundle at all; the message says why."""


@dataclass
class Entry:
    number: int  # 1-based position in Bundle.entry
    source: str = ""  # the identifier's system
    external_id: str = ""  # the identifier's value
    fields: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (FHIR path, message)


def read_bundle(data: bytes) -> list[Entry]:
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"The file is not JSON in UTF-8: {exc}.") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError('The file is not a FHIR Bundle (its "resourceType" must be "Bundle").')
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise BundleError('The Bundle\'s "entry" must be a list.')
    return [_entry(number, item) for number, item in enumerate(entries, start=1)]


def _entry(number: int, item: Any) -> Entry:
    entry = Entry(number)
    resource = item.get("resource") if isinstance(item, dict) else None
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        entry.problems.append(("resource", "Only Patient resources are imported."))
        return entry
    try:
        patient = FhirPatient.model_validate(resource)
    except PydanticValidationError as exc:
        for error in exc.errors()[:5]:
            path = ".".join(str(part) for part in error["loc"]) or "Patient"
            entry.problems.append((f"Patient.{path}", error["msg"]))
        return entry
    except ValueError as exc:
        entry.problems.append(("Patient", str(exc)))
        return entry
    identifier = next((i for i in patient.identifier or [] if i.system and i.value), None)
    if identifier is None:
        entry.problems.append(("Patient.identifier", "An identifier with a system and a value is required."))
    else:
        entry.source, entry.external_id = str(identifier.system)[:100], str(identifier.value)[:200]
    entry.fields = _fields(patient, entry)
    return entry


def _fields(p: FhirPatient, entry: Entry) -> dict[str, Any]:
    names = p.name or []
    official = next((n for n in names if n.use == "official"), names[0] if names else None)
    usual = next((n for n in names if n.use == "usual"), None)
    if official is None or not official.family or not official.given:
        entry.problems.append(("Patient.name", "A name with a family and a given name is required."))
    if p.birthDate is None:
        entry.problems.append(("Patient.birthDate", "A date of birth is required."))
    elif not isinstance(p.birthDate, date):
        entry.problems.append(("Patient.birthDate", "A full date of birth (year, month and day) is required."))
    # fhir.resources checks a code's syntax, not its value set (administrative-gender is required).
    if p.gender is not None and p.gender not in _SEX_FROM_GENDER:
        entry.problems.append(("Patient.gender", "Must be one of female, male, other or unknown."))
    sex = _SEX_FROM_GENDER.get(p.gender or "unknown", "unknown")
    for extension in p.extension or []:
        if extension.url == f"{US_CORE}/us-core-birthsex" and extension.valueCode in _SEX_FROM_BIRTH_SEX:
            sex = _SEX_FROM_BIRTH_SEX[extension.valueCode]
    telecom = p.telecom or []
    phone = next((t.value for t in telecom if t.system == "phone" and t.value), "")
    email = next((t.value for t in telecom if t.system == "email" and t.value), "")
    address = next(iter(p.address or []), None)
    lines = (address.line or []) if address else []
    contact = next(iter(p.contact or []), None)
    contact_phone = next((t.value for t in (contact.telecom or []) if t.value), "") if contact else ""
    relationship = next(iter(contact.relationship or []), None) if contact else None
    language = next(iter(p.communication or []), None)
    fields: dict[str, Any] = {
        "legal_first_name": official.given[0] if official and official.given else "",
        "legal_last_name": official.family if official and official.family else "",
        "preferred_name": usual.given[0] if usual and usual.given else "",
        "date_of_birth": p.birthDate if isinstance(p.birthDate, date) else None,
        "sex_at_birth": sex,
        "phone": phone,
        "email": email,
        "address_line1": lines[0] if lines else "",
        "address_line2": lines[1] if len(lines) > 1 else "",
        "city": (address.city or "") if address else "",
        "state": (address.state or "") if address else "",
        "postal_code": (address.postalCode or "") if address else "",
        "emergency_contact_name": (contact.name.text or "") if contact and contact.name else "",
        "emergency_contact_phone": contact_phone,
        "emergency_contact_relationship": (relationship.text or "") if relationship else "",
        "preferred_language": (language.language.text or "English") if language else "English",
    }
    if fields["emergency_contact_relationship"] == "Emergency contact":
        fields["emergency_contact_relationship"] = ""  # what the API writes when none was recorded
    return fields
