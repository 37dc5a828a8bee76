"""Pure rules of informed consent: the state of one consent kind for one patient, the limits of
a signature and of a scanned paper consent. No database, no clock: values in, values out."""

from __future__ import annotations

import base64
import binascii

from django.db import models

# Clinic policy, configurable in the consent policy: how long a signing link opens.
LINK_EXPIRY_HOURS_DEFAULT = 72
LINK_EXPIRY_HOURS_BOUNDS = (1, 336)
# Clinic policy: wrong dates of birth before a link locks (as the questionnaire links).
MAX_DOB_FAILURES = 5
# Not clinical: the most a drawn signature (PNG from a 600 x 200 canvas) and a scanned paper consent
# may weigh, so a hostile upload cannot fill the database.
SIGNATURE_MAX_BYTES = 200_000
SCAN_MAX_BYTES = 10 * 1024 * 1024
SCAN_TYPES = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
PNG_MAGIC = SCAN_TYPES["image/png"]
DATA_URL_PREFIX = "data:image/png;base64,"


class ConsentState(models.TextChoices):
    CURRENT = "current", "Signed (current version)"
    OUTDATED = "outdated", "Signed an earlier version: sign again"
    MISSING = "missing", "Not signed"
    WITHDRAWN = "withdrawn", "Withdrawn"
    NONE_PUBLISHED = "none_published", "No version published yet"


# The states that stand in the way of an infusion when the kind is required.
BLOCKING = frozenset({ConsentState.MISSING, ConsentState.OUTDATED, ConsentState.WITHDRAWN})


def consent_state(*, latest_version_id: int | None, signed_version_id: int | None, withdrawn: bool) -> ConsentState:
    """The patient's standing for one kind: the latest signature (by time signed) decides.

    Current: it is on the latest published version. Outdated: a newer version was published since,
    which asks the patient to sign again before the next infusion. Withdrawn: the patient withdrew
    it. Nothing published: the clinic has no version to sign, so nothing can be required."""
    if latest_version_id is None:
        return ConsentState.NONE_PUBLISHED
    if signed_version_id is None:
        return ConsentState.MISSING
    if withdrawn:
        return ConsentState.WITHDRAWN
    return ConsentState.CURRENT if signed_version_id == latest_version_id else ConsentState.OUTDATED


def blocks(state: str) -> bool:
    return state in BLOCKING


def refusal(*, label: str, state: str) -> str:
    """Why an infusion may not start, in words the nurse acts on."""
    if state == ConsentState.OUTDATED:
        return f"{label} consent: a new version was published since the patient signed; they must sign it first"
    if state == ConsentState.WITHDRAWN:
        return f"{label} consent was withdrawn by the patient; a new signed consent is needed first"
    return f"{label} consent is not signed; the patient signs it (or staff record the paper consent) first"


def signature_png(data_url: str) -> bytes:
    """The PNG bytes of a canvas's data URL (empty text: no drawing). Raises ValueError naming
    what is wrong: not a PNG data URL, not base64, too large, or not a PNG inside."""
    data_url = (data_url or "").strip()
    if not data_url:
        return b""
    if not data_url.startswith(DATA_URL_PREFIX):
        raise ValueError("The drawn signature is not a PNG image.")
    encoded = data_url[len(DATA_URL_PREFIX) :]
    if len(encoded) > SIGNATURE_MAX_BYTES * 4 // 3 + 4:
        raise ValueError("The drawn signature is too large.")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("The drawn signature could not be read.") from None
    if not raw.startswith(PNG_MAGIC):
        raise ValueError("The drawn signature is not a PNG image.")
    return raw


def scan_problem(*, size_bytes: int, content_type: str, head: bytes) -> str:
    """Why an uploaded paper consent cannot be kept ("" when it can): a PDF, PNG or JPEG up to
    the size limit, whose first bytes agree with its declared type."""
    if size_bytes <= 0:
        return "The file is empty."
    if size_bytes > SCAN_MAX_BYTES:
        return f"The file is larger than {SCAN_MAX_BYTES // (1024 * 1024)} MB."
    magic = SCAN_TYPES.get(content_type)
    if magic is None:
        return "Upload a PDF, PNG or JPEG scan."
    if not head.startswith(magic):
        return "The file's content is not the type its name says (upload a PDF, PNG or JPEG scan)."
    return ""


def typed_name_problem(*, typed: str, last_name: str) -> str:
    """Why a typed full name does not serve as the patient's signature ("" when it does): it must
    be given and contain the patient's legal last name (case, spacing and punctuation aside)."""

    def words(text: str) -> list[str]:
        return "".join(ch if ch.isalnum() else " " for ch in text.casefold()).split()

    typed_words = words(typed)
    if not typed_words:
        return "Type your full name to sign."
    last = words(last_name)
    if last and not all(word in typed_words for word in last):
        return "Type your full legal name, as the clinic has it, to sign."
    return ""
