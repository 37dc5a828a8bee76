"""``manage.py import_patients FILE --by USER --source NAME``: patients from a CSV (README: Importing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from interop import import_services, importing
from interop.import_services import ImportReport
from interop.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Register patients from a CSV, through the desk's duplicate check; re-runs update by external id."
    columns = importing.PATIENT_COLUMNS
    perms = ("patients.add_patient", "patients.change_patient")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--duplicates",
            choices=import_services.DUPLICATE_POLICIES,
            default="refuse",
            help="A row that is probably someone already registered: refuse it (default), or link the "
            "external id to that one patient.",
        )

    def run(
        self, *, data: bytes, by: Any, mapping: importing.Mapping, source: str, options: dict[str, Any]
    ) -> tuple[list[str], ImportReport]:
        return import_services.import_patients(
            data=data,
            source=source,
            by=by,
            mapping=mapping,
            encoding=options["encoding"],
            dry_run=options["dry_run"],
            duplicates=options["duplicates"],
        )
