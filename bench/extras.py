"""Benchmarks that are not a page: PDF rendering, reminder dispatch, ...

Each entry of EXTRAS is a callable ``extra(ctx) -> list[dict]``. It runs in the bench process after the
page timings, with Django set up against the ``grace_bench`` database (``ctx.args`` holds the command
line). Each returned dict is one row of the "Other benchmarks" table:

- ``name``: what was measured, e.g. ``"session record PDF"``;
- ``value``: the measurement as a number, and ``unit``: e.g. ``"ms"``, ``"reminders/s"``;
- ``reference`` (optional): the same measurement for the in-run reference (e.g. WeasyPrint alone);
- ``goal`` (optional): the goal as text, e.g. ``"≤ 1.25× reference"``, and ``ok``: ``True``/``False``.

Raise ``bench.pages.SkipPage("why")`` to skip the whole entry. This module is imported after
``django.setup()``.
"""

from __future__ import annotations

from bench.documents_pdf import documents_pdf
from bench.fhir_search import fhir_patient_search
from bench.reminders import reminder_dispatch

EXTRAS: list = [
    reminder_dispatch,  # due reminders through the real broker vs no-op tasks (--reminders N)
    documents_pdf,  # each PDF for a 12-session course vs WeasyPrint alone on the same HTML
    fhir_patient_search,  # FHIR Patient search by name, birthdate and identifier vs the baseline page
]
