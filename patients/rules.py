"""Pure registry rules: no ORM, no request, no clock."""

from __future__ import annotations

MRN_PREFIX = "GM"


def luhn_check_digit(number: str) -> int:
    """Luhn mod-10 check digit, so a mistyped MRN digit is caught at the desk."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def format_mrn(sequence_value: int) -> str:
    digits = str(sequence_value)
    return f"{MRN_PREFIX}{digits}{luhn_check_digit(digits)}"


def mrn_is_valid(mrn: str) -> bool:
    mrn = mrn.strip().upper()
    if not mrn.startswith(MRN_PREFIX) or not mrn[len(MRN_PREFIX) :].isdigit() or len(mrn) < 4:
        return False
    body = mrn[len(MRN_PREFIX) : -1]
    return luhn_check_digit(body) == int(mrn[-1])
