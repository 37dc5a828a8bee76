"""``manage.py import_fhir_bundle FILE --by USER``: patients from a FHIR R4 Bundle (README: Importing)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from interop import import_services, importing
from interop.import_services import ImportReport
from interop.management.import_command import ImportCommand


class Command(ImportCommand):
    help = "Register the Patients of a FHIR R4 Bundle (validated by fhir.resources); re-runs go by identifier."
    perms = ("patients.add_patient", "patients.change_patient")
    takes_mapping = False

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--duplicates", choices=import_services.DUPLICATE_POLICIES, default="refuse")

    def run(
        self, *, data: bytes, by: Any, mapping: importing.Mapping, source: str, options: dict[str, Any]
    ) -> tuple[list[str], ImportReport]:
        return import_services.import_patient_bundle(
            data=data, by=by, dry_run=options["dry_run"], duplicates=options["duplicates"]
        )
