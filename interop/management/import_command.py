"""What the import commands share: the operator, the file, the report and the refused rows' CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core import csv_export
from interop import fhir_import, import_services, importing
from interop.import_services import ImportReport


class ImportCommand(BaseCommand):
    columns: dict[str, tuple[bool, str]] = {}
    perms: tuple[str, ...] = ()
    takes_mapping = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The file to import.")
        parser.add_argument("--by", required=True, help="User name of the member of staff running the import.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and report; save nothing.")
        parser.add_argument(
            "--refused",
            help="Where to write the refused rows as CSV (default: beside the file, ending .refused.csv).",
        )
        if self.takes_mapping:
            parser.add_argument("--source", help="The system the file comes from (the key of its external ids).")
            parser.add_argument("--mapping", help="A JSON mapping of another product's columns and values to ours.")
            parser.add_argument("--encoding", default="utf-8", help="The file's text encoding (default utf-8).")

    def run(
        self, *, data: bytes, by: Any, mapping: importing.Mapping, source: str, options: dict[str, Any]
    ) -> tuple[list[str], ImportReport]:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        by = self.operator(options["by"])
        mapping, source = self.mapping(options) if self.takes_mapping else (importing.Mapping(), "")
        data = self.read(options["file"])
        try:
            header, report = self.run(data=data, by=by, mapping=mapping, source=source, options=options)
        except (importing.ImportFileError, fhir_import.BundleError) as exc:
            raise CommandError(str(exc)) from None
        self.report(options["file"], header, report, options["refused"])

    def read(self, path: str) -> bytes:
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None

    def operator(self, username: str) -> Any:
        try:
            return import_services.operator(username, *self.perms)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

    def mapping(self, options: dict[str, Any]) -> tuple[importing.Mapping, str]:
        mapping = importing.Mapping()
        if options.get("mapping"):
            try:
                mapping = importing.load_mapping(
                    self.read(options["mapping"]).decode("utf-8-sig", errors="replace"), columns=self.columns
                )
            except importing.ImportFileError as exc:
                raise CommandError(str(exc)) from None
        source = (options.get("source") or mapping.source or "").strip()
        if not source:
            raise CommandError('Name the system the file comes from: --source, or "source" in the mapping.')
        if len(source) > 100:
            raise CommandError("The source's name is longer than 100 characters.")
        return mapping, source

    def report(self, path: str, header: list[str], report: ImportReport, refused_path: str | None) -> None:
        for row, problems in report.refused:
            for problem in problems:
                where = f"row {row.number}" + (f", column {problem.column!r}" if problem.column else "")
                self.stdout.write(f"{where}: {problem.message}")
        counts = ", ".join(f"{count} {name}" for name, count in report.counts.items())
        prefix = "Dry run, nothing saved: would have " if report.dry_run else ""
        self.stdout.write(f"{prefix}{report.kind}: {counts}.")
        if report.refused:
            out = Path(refused_path or f"{path}.refused.csv")
            # Undecodable bytes (kept as lone surrogates) are written as "?" rather than failing the report.
            try:
                with out.open("w", newline="", encoding="utf-8", errors="replace") as handle:
                    csv_export.writer(handle).writerows(importing.refused_rows_csv(header, report.refused))
            except OSError as exc:
                raise CommandError(f"Cannot write the refused rows to {out}: {exc.strerror}.") from None
            self.stdout.write(f"Refused rows, with the reason on each: {out}")
