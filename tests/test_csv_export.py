"""The one CSV writer every export uses: spreadsheet formulas are written as text."""

import io

import pytest

from core import csv_export


@pytest.mark.parametrize(
    "cell",
    [
        '=HYPERLINK("http://evil.example","Open")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "-cmd|calc",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_csv_formula_injection_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(cell):
    assert csv_export.neutralise(cell) == "'" + cell


@pytest.mark.parametrize(
    ("value", "text"),
    [("Smith, Ann", "Smith, Ann"), ("-1.50", "-1.50"), ("-3", "-3"), (None, ""), (12, "12"), ("a=b", "a=b")],
)
def test_ordinary_cells_and_negative_numbers_are_written_as_they_are(value, text):
    assert csv_export.neutralise(value) == text


def test_the_writer_neutralises_every_cell_of_every_row():
    out = io.StringIO()
    writer = csv_export.writer(out)
    writer.writerow(["Patient", "=1+1"])
    writer.writerows([["@x", -2]])
    assert out.getvalue().splitlines() == ["Patient,'=1+1", "'@x,-2"]
