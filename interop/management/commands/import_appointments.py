"""``manage.py import_appointments FILE --by USER --source NAME``: bookings and past visits from a CSV
(README: Importing)."""

from __future__ import annotations

from typing import Any

from interop import import_services, importing
from interop.import_services import ImportReport
from interop.management.import_command import ImportCommand


class Command(ImportCommand):
    help = (
        "Book appointments from a CSV through the calendar's rules, and bring past visits in with their outcome; "
        "re-runs skip what is already imported."
    )
    columns = importing.APPOINTMENT_COLUMNS
    perms = ("scheduling.add_appointment",)

    def run(
        self, *, data: bytes, by: Any, mapping: importing.Mapping, source: str, options: dict[str, Any]
    ) -> tuple[list[str], ImportReport]:
        return import_services.import_appointments(
            data=data, source=source, by=by, mapping=mapping, encoding=options["encoding"], dry_run=options["dry_run"]
        )
