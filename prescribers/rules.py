"""Pure checks of a prescriber's identifiers and whether their credentials are current.

No database, no clock: callers pass ``today``. Each refusal names the field and says what
was expected, so a form can show it at that field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

# Credentials that may prescribe ketamine in this clinic (clinical-reference 5.1: physician,
# NP, PA). Nursing credentials are not here: a nurse is never a prescriber.
PHYSICIAN_CREDENTIALS: Final = ("MD", "DO")
MID_LEVEL_CREDENTIALS: Final = ("NP", "PA")
CREDENTIALS: Final = (*PHYSICIAN_CREDENTIALS, *MID_LEVEL_CREDENTIALS)

# The NPI's check digit is the Luhn digit of the nine identifier digits prefixed with 80840,
# the card-issuer prefix for US health identifiers (CMS, "Requirements for NPI check digit").
NPI_LUHN_PREFIX: Final = "80840"
_NPI = re.compile(r"^\d{10}$")

# A DEA registration number: two letters and seven digits. The first letter is the kind of
# registrant: A, B, F or G for practitioners (physicians), M for mid-level practitioners
# (NPs and PAs); the second is usually the registrant's surname initial (9 for some firms).
# The seventh digit is the last digit of (d1 + d3 + d5) + 2 x (d2 + d4 + d6).
_DEA = re.compile(r"^([A-Z])([A-Z9])(\d{7})$")
PHYSICIAN_DEA_LETTERS: Final = frozenset("ABFG")
MID_LEVEL_DEA_LETTERS: Final = frozenset("M")

# USPS codes of the states, DC and the territories that issue medical licences.
_STATE_CODES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY AS GU MP PR VI"
)
STATES: Final = frozenset(_STATE_CODES.split(" "))
_LICENCE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9./-]{1,29}$")


@dataclass(frozen=True, slots=True)
class CredentialError(ValueError):
    """``field`` is the form field the ``message`` belongs to."""

    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10): from the right, every second digit doubled (minus 9 over 9); sum % 10 == 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalise_npi(npi: str) -> str:
    """The NPI as ten digits, or CredentialError naming ``npi``."""
    value = re.sub(r"[\s-]", "", npi or "")
    if not _NPI.match(value):
        raise CredentialError("npi", "An NPI is 10 digits.")
    if not luhn_valid(NPI_LUHN_PREFIX + value):
        raise CredentialError(
            "npi", "This NPI's check digit does not match (Luhn with the 80840 prefix): check for a typo."
        )
    return value


def dea_check_digit(six_digits: str) -> int:
    d = [int(c) for c in six_digits]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10


def normalise_dea(number: str, *, credential: str = "") -> str:
    """The DEA registration number in capitals, or CredentialError naming ``dea_number``.

    With ``credential`` the registrant letter must fit it: a physician's number starts with
    A, B, F or G, an NP's or PA's with M.
    """
    value = re.sub(r"[\s-]", "", number or "").upper()
    match = _DEA.match(value)
    if not match:
        raise CredentialError(
            "dea_number", "A DEA registration number is two letters and seven digits, e.g. AB1234563."
        )
    letter, _, digits = match.groups()
    if dea_check_digit(digits[:6]) != int(digits[6]):
        raise CredentialError("dea_number", "This DEA number's check digit does not match: check for a typo.")
    if credential in PHYSICIAN_CREDENTIALS and letter not in PHYSICIAN_DEA_LETTERS:
        raise CredentialError("dea_number", "A physician's DEA number starts with A, B, F or G.")
    if credential in MID_LEVEL_CREDENTIALS and letter not in MID_LEVEL_DEA_LETTERS:
        raise CredentialError("dea_number", "An NP's or PA's DEA number starts with M (mid-level practitioner).")
    return value


def normalise_state(state: str) -> str:
    value = (state or "").strip().upper()
    if value not in STATES:
        raise CredentialError("state", "Give the licensing state's two-letter code, e.g. NY.")
    return value


def normalise_licence_number(number: str) -> str:
    value = (number or "").strip().upper()
    if not _LICENCE_NUMBER.match(value):
        raise CredentialError(
            "number", "A licence number is 2 to 30 letters and digits (dots, dashes and slashes allowed)."
        )
    return value


def check_credential(credential: str) -> str:
    if credential not in CREDENTIALS:
        raise CredentialError("credential", "A prescriber is a physician (MD, DO), an NP or a PA.")
    return credential


@dataclass(frozen=True, slots=True)
class Held:
    """One licence or registration as the check needs it: what, where, until when."""

    kind: str  # "licence" or "registration"
    where: str  # the state (licence) or the location's name (registration)
    number: str
    expires_on: date


def credential_problems(*, licences: list[Held], registrations: list[Held], today: date) -> list[str]:
    """Why this prescriber may not act today, or [] when they may.

    A prescriber needs a current state licence and a current DEA registration for the place
    where they act (ketamine is Schedule III: each place of administration has its own
    registration, clinical-reference 4 [S108]). The caller passes the licences and the
    registrations that apply (the location's registration when the action has one). An
    expiry date is the last valid day.
    """
    problems = []
    if not licences:
        problems.append("No state licence is on file: ask an administrator to record it.")
    elif all(h.expires_on < today for h in licences):
        latest = max(licences, key=lambda h: h.expires_on)
        problems.append(f"Your {latest.where} licence {latest.number} expired on {latest.expires_on:%d %b %Y}.")
    if not registrations:
        problems.append("No DEA registration is on file for this location: ask an administrator to record it.")
    elif all(h.expires_on < today for h in registrations):
        latest = max(registrations, key=lambda h: h.expires_on)
        problems.append(
            f"Your DEA registration {latest.number} ({latest.where}) expired on {latest.expires_on:%d %b %Y}."
        )
    return problems
