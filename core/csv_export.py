"""One CSV writer for every export (reports, the ledger's reports, the audit trail).

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(and a leading tab or carriage return can hide one): a patient name typed as
``=HYPERLINK("https://…")`` would become a live link, or worse, on the workstation of whoever opens
the export. Every such cell is written with a leading apostrophe, which spreadsheets show as text
(OWASP "CSV Injection"). A plain negative number (a ledger's ``-1.50``) is a number, not a formula,
and is left as it is so that the column still adds up.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d+)?")


def neutralise(value: Any) -> str:
    """The text of one cell as it is safe to hand a spreadsheet (``None`` is an empty cell)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


class Writer:
    """``csv.writer`` whose every cell goes through :func:`neutralise`; ``writerow`` returns what
    the underlying file's ``write`` returned (so a pass-through buffer can stream the rows)."""

    def __init__(self, out):
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(out) -> Writer:
    return Writer(out)
