"""What each document shows, copied into plain JSON at issue time (reads only).

A snapshot is the whole content of one version: the PDF is rendered from it and
from nothing else, so re-rendering gives the same words, and a later change to
the record (an amendment, a new score) shows only in a new version. Texts are
kept as typed; the templates escape them (hostile text prints literally).

The content of each kind is built by the app that owns its record (its
``documents.py``, registered in ``documents.registry``); this module holds the
parts every kind shares (patient, letterhead, dates) and assembles a snapshot.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import formats, timezone

from documents import registry

LOGO_STATIC_NAMES = ("documents/letterhead-logo.svg", "documents/letterhead-logo.png")


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def sha256(snapshot: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def build(kind: str, subject: Any) -> dict[str, Any]:
    """Everything a version of ``kind`` about ``subject`` shows: the registered builder's
    content plus the parts other apps add to it, as plain JSON."""
    entry = registry.get(kind)
    if entry is None:
        raise LookupError(f"no document builder is registered for {kind!r}")
    content = {**entry.build(subject), "kind": kind}
    for name, part in registry.parts(kind):
        content[name] = part(subject)
    return jsonable(content)


def local_text(value: datetime | None, fmt: str = "SHORT_DATETIME_FORMAT") -> str:
    """``value`` in clinic time, written as every page writes it (``fmt`` is a Django date
    format or the name of one: the clinic's time of day comes from its format settings)."""
    return formats.date_format(timezone.localtime(value), fmt) if value else ""


def date_text(value: date | None) -> str:
    return value.strftime("%m/%d/%Y") if value else ""


def yes_no(value: bool | None) -> str:
    return "not recorded" if value is None else ("yes" if value else "no")


def user_text(user) -> str:
    return str(user) if user is not None else ""


# --- Shared parts ----------------------------------------------------------------


def patient_part(patient) -> dict[str, Any]:
    return {
        "id": patient.pk,
        "name": f"{patient.legal_first_name} {patient.legal_last_name}",
        "preferred_name": patient.preferred_name,
        "date_of_birth": date_text(patient.date_of_birth),
        "mrn": patient.mrn,
        "referring_provider": patient.referring_provider,
        "preferred_language": patient.preferred_language,
    }


def letterhead(location=None) -> dict[str, Any]:
    """The clinic's letterhead from a location (name, address, phone; by default the one the
    scheduling app registers) and CLINIC_NAME; a logo at static/documents/letterhead-logo.(svg|png)
    when present."""
    if location is None:
        location = registry.default_location()
    logo = next((found for name in LOGO_STATIC_NAMES if (found := finders.find(name))), None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "location_name": getattr(location, "name", ""),
        "address": getattr(location, "address", ""),
        "phone": location.phone.as_national if location is not None and location.phone else "",
        "logo_url": f"file://{logo}" if logo else "",
    }
