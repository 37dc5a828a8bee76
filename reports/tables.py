"""What a report hands the template: sections, each with a chart, the table behind it,
and a definition for every figure. The CSV of a section is written from the same
rows and columns as its HTML table, so the two cannot drift apart."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.safestring import SafeString

from core import csv_export


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = True


@dataclass
class Section:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict]
    definitions: list[tuple[str, str]]
    chart: SafeString | str = ""
    note: str = ""
    links: list[tuple[str, str]] = field(default_factory=list)

    def cells(self) -> list[list[object]]:
        return [[row.get(c.key) for c in self.columns] for row in self.rows]

    def display_rows(self) -> list[list[tuple[str, bool]]]:
        return [[(display(v), c.numeric) for c, v in zip(self.columns, cells, strict=True)] for cells in self.cells()]

    def csv_lines(self) -> Iterator[list[str]]:
        yield [c.label for c in self.columns]
        for cells in self.cells():
            yield [display(v) for v in cells]

    def csv_text(self) -> str:
        out = io.StringIO()
        csv_export.writer(out).writerows(self.csv_lines())
        return out.getvalue()


def rate(numerator: int | Decimal | None, denominator: int | Decimal | None) -> Decimal | None:
    """Percentage to one decimal place, or None (shown "—") when the denominator is 0."""
    if not denominator:
        return None
    return (Decimal(numerator or 0) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def per_100(numerator: int | None, denominator: int | None) -> Decimal | None:
    return rate(numerator, denominator)


def one_decimal(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def display(value: object) -> str:
    """How a cell reads in the table and in the CSV: blanks are an em dash, never 0."""
    if value is None:
        return "—"
    return str(value)
