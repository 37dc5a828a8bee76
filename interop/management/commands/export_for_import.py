"""``manage.py export_for_import patients|appointments FILE --by USER``: the import's own CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core import csv_export
from interop import csv_exports, import_services


class Command(BaseCommand):
    help = (
        "Write active patients, or bookings still to come and past visits with their outcome, in the columns "
        "import_patients / import_appointments read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["patients", "appointments"])
        parser.add_argument("file")
        parser.add_argument("--by", required=True, help="User name of the member of staff making the export.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            by = import_services.operator(options["by"], "patients.view_patient")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        rows = (
            csv_exports.patient_rows()
            if options["what"] == "patients"
            else csv_exports.appointment_rows(after=timezone.now())
        )
        count = -1  # the header
        try:
            with Path(options["file"]).open("w", newline="", encoding="utf-8") as handle:
                writer = csv_export.writer(handle)
                for row in rows:
                    writer.writerow(row)
                    count += 1
        except OSError as exc:
            raise CommandError(f"Cannot write {options['file']}: {exc.strerror}.") from None
        csv_exports.export_recorded(by=by, what=options["what"], rows=count)
        self.stdout.write(f"{count} {options['what']} written to {options['file']}.")
