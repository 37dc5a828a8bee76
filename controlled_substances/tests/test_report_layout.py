"""The ledger's PDF reports in the compact landscape layout: a month of dispensing prints on
a few dozen pages, not a hundred and more (each page read back from the PDF)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.utils import timezone
from pypdf import PdfReader

from controlled_substances.reports import Table, dispensing
from controlled_substances.views import report_pdf_bytes

pytestmark = pytest.mark.django_db


def _month_of_dispensing(rows: int) -> Table:
    # The real report's title and columns (no dispensing in the database), then a month of rows.
    table = dispensing(registration=None, start=date(2026, 1, 1), end=date(2026, 1, 31))
    for i in range(rows):
        table.rows.append(
            [
                "01/15/2026 10:45 a.m.",
                f"Alexandra Montgomery-{i}",
                "1234 Willow Creek Road, Apt 5B, Springfield, IL 62704",
                "Ketamine HCl, injection, 50 mg/mL",
                f"KET-2026-{i:05d}",
                "1.50",
                "75.00",
                "5.00",
                "70.00",
                "70.00",
                "Dr. Jonathan Whitaker, MD",
                "JW",
                "Nurse Patricia Gonzalez, RN",
                "Signed",
            ]
        )
    return table


def test_five_hundred_dispensing_rows_fit_on_far_fewer_pages():
    pdf = report_pdf_bytes(
        [_month_of_dispensing(500)], registration=None, user="tester", printed_at=timezone.localtime()
    )
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    assert pages <= 50  # 101 in the previous layout (wide, 9.5 pt type, roomy cells)
