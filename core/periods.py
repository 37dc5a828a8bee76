"""The days a report's or a ledger report's period, or an imported visit, may name.

A period's bounds become instants a day or two either side (a UTC window around the clinic's
days) and a visit is shifted by its zone and its length, so the first and last days Python can
hold (0001-01-01, 9999-12-31) have no instant to stop at: they are refused at the field (or the
row's column), with the range a clinic's records can fall in.
"""

from __future__ import annotations

from datetime import date

from django.core.validators import MaxValueValidator, MinValueValidator

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
_MESSAGE = f"Choose a date between {FIRST_DAY:%Y} and {LAST_DAY:%Y}."

PERIOD_DAY_VALIDATORS = [MinValueValidator(FIRST_DAY, message=_MESSAGE), MaxValueValidator(LAST_DAY, message=_MESSAGE)]
