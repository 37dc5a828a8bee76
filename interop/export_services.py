"""Writes for exports: ask for one, build it in the worker, cancel it, hand its files out.

A bulk ``$export`` writes one NDJSON file per resource type; a patient's record is one zip (a FHIR
Bundle of everything about the patient, every PDF issued for them, the accounting of disclosures
and an index page). Both are built by the worker (``interop.export``) from the resource registry,
a chunk of rows at a time into a temporary file, and stored like the issued documents: in
PostgreSQL a slice at a time, or in the "documents" storage when one is configured.

Every patient an export includes gets an ``export`` event in the audit trail before its files can
be downloaded (fail closed), and every download is audited too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import partial
from typing import IO, Any

from celery import current_app
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import storages
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, User
from core.audit import Category, Verb
from core.site import site_url
from documents import services as documents
from documents.models import Disclosure, Document
from interop import bulk, resources, selectors
from interop.models import Export, ExportFile
from patients.models import Patient
from scheduling.access import patient_ids_for

logger = logging.getLogger(__name__)

EXPORT_TASK = "interop.export"
EXPORT_ACTION = "fhir.$export"
RECORD_ACTION = "interop.patient_record.exported"
RECORD_DOWNLOAD_ACTION = "interop.patient_record.downloaded"
ERROR_TYPE = "OperationOutcome"  # the manifest's error file: one OperationOutcome per type that failed
PROGRESS_EVERY = 5000  # resources between two progress notes (the status endpoint reads them)
AUDIT_BATCH = 1000
# A type's resources go into files of about this size: each stored file is appended to its row a
# slice at a time, and appending to a large bytea value rewrites it, so the parts stay small.
PART_BYTES = 16 * 2**20
# A part in eight appends. The driver sends a slice as an escaped literal, several times its size
# in the worker's memory, so slices stay small (8 MiB slices cost the worker about 70 MiB).
STORE_SLICE = 2 * 2**20


class ExportError(Exception):
    """An export cannot be asked for or built (the message is shown to the user or the client)."""


def _category(type_names: Iterable[str]) -> Category:
    types = [selectors.RESOURCE_TYPES[name] for name in type_names if name in selectors.RESOURCE_TYPES]
    return Category.CLINICAL if any(t.clinical for t in types) else Category.DEMOGRAPHICS


def _enqueue(export_id: str) -> None:
    try:
        current_app.tasks[EXPORT_TASK].delay(export_id)
    except Exception:  # the broker is down: the export stays queued, and says so when polled
        logger.warning("interop: could not enqueue export %s", export_id, exc_info=True)


# Asking ----------------------------------------------------------------------------------------


@transaction.atomic
def bulk_export_request(
    *,
    level: str,
    resource_types: list[str],
    since: datetime | None,
    by: User,
    client: str,
    scope: str,
    request_url: str,
    group=None,
) -> Export:
    """A queued bulk export (the caller has checked the token and its types)."""
    export = Export.objects.create(
        kind=Export.Kind.BULK,
        level=level,
        requested_by=by,
        requested_at=timezone.now(),
        client=client[:200],
        scope=scope[:500],
        request_url=request_url[:1000],
        group=group,
        resource_types=resource_types,
        since=since,
    )
    audit.record(
        actor=by,
        action=f"{EXPORT_ACTION}.requested",
        verb=Verb.QUERY,
        category=_category(resource_types),
        target=export,
        changes={"client": client, "level": level, "types": resource_types, "since": since},
    )
    transaction.on_commit(partial(_enqueue, str(export.pk)))
    return export


@transaction.atomic
def record_export_request(*, patient: Patient, by: User) -> Export:
    """A queued export of one patient's whole record (the caller has checked the chart)."""
    export = Export.objects.create(
        kind=Export.Kind.RECORD,
        level=Export.Level.ONE_PATIENT,
        requested_by=by,
        requested_at=timezone.now(),
        patient=patient,
        resource_types=[name for name, t in selectors.RESOURCE_TYPES.items() if t.visible_to(by)],
    )
    audit.record(
        actor=by,
        action="interop.patient_record.requested",
        verb=Verb.CREATE,
        category=Category.CLINICAL,
        target=export,
        patient=patient,
    )
    transaction.on_commit(partial(_enqueue, str(export.pk)))
    return export


@transaction.atomic
def export_cancel(*, export: Export, by: User) -> Export:
    """Stop an export (the worker stops at its next chunk) and delete its files."""
    export = Export.objects.select_for_update().get(pk=export.pk)
    if export.status == Export.Status.CANCELLED:
        raise ExportError("This export was already cancelled.")
    export.status = Export.Status.CANCELLED
    export.finished_at = export.finished_at or timezone.now()
    export.save(update_fields=["status", "finished_at"])
    removed = _delete_files(export)
    audit.record(
        actor=by,
        action=f"{EXPORT_ACTION}.cancelled" if export.kind == Export.Kind.BULK else "interop.patient_record.cancelled",
        verb=Verb.DELETE,
        category=_category(export.resource_types),
        target=export,
        patient=export.patient,
        changes={"files_deleted": removed},
    )
    return export


def _delete_files(export: Export, *, resource_type: str | None = None) -> int:
    files = ExportFile.objects.filter(export=export)
    if resource_type is not None:
        files = files.filter(resource_type=resource_type)
    found = list(files.only("id", "storage_name"))
    for f in found:
        if f.storage_name:
            storages[documents.STORAGE_ALIAS].delete(f.storage_name)
    files.delete()
    return len(found)


# Building (the worker) -------------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def export_run(*, export_id: str) -> Export:
    """Build a queued export (the worker's task). Idempotent: a second delivery of the task finds
    the export claimed and does nothing. A failure marks the export failed, with a message."""
    with transaction.atomic():
        export = Export.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status != Export.Status.QUEUED:
            return export  # type: ignore[return-value]  # None only for an id that never existed
        export.status = Export.Status.RUNNING
        export.started_at = timezone.now()
        export.save(update_fields=["status", "started_at"])
    started = time.perf_counter()
    try:
        patients = _bulk_write(export) if export.kind == Export.Kind.BULK else _record_write(export)
        return _complete(export, patients, started)
    except _Cancelled:
        _delete_files(export)
        return Export.objects.get(pk=export.pk)
    except Exception as exc:
        logger.exception("interop: export %s failed", export.pk, exc_info=exc)
        _delete_files(export)
        Export.objects.filter(pk=export.pk).exclude(status=Export.Status.CANCELLED).update(
            status=Export.Status.FAILED,
            finished_at=timezone.now(),
            error=f"The export could not be written ({type(exc).__name__}); the error was logged.",
        )
        return Export.objects.get(pk=export.pk)


@transaction.atomic
def _complete(export: Export, patients: set[int], started: float) -> Export:
    export = Export.objects.select_for_update().get(pk=export.pk)
    if export.status == Export.Status.CANCELLED:
        raise _Cancelled
    _audit_included(export, patients)  # before the files can be fetched: fail closed
    export.status = Export.Status.COMPLETED
    export.finished_at = timezone.now()
    export.patient_count = len(patients)
    export.elapsed_ms = round((time.perf_counter() - started) * 1000)
    export.progress = "Done."
    export.save(update_fields=["status", "finished_at", "patient_count", "elapsed_ms", "progress"])
    return export


def _check(export: Export, progress: str) -> None:
    """Note the progress; stop if the export was cancelled meanwhile."""
    if Export.objects.filter(pk=export.pk, status=Export.Status.CANCELLED).exists():
        raise _Cancelled
    Export.objects.filter(pk=export.pk).update(progress=progress[:200])


def _audit_included(export: Export, patient_ids: set[int]) -> None:
    if export.kind == Export.Kind.BULK:
        action = EXPORT_ACTION
        detail = {"export": str(export.pk), "client": export.client, "types": export.resource_types}
    else:
        action = RECORD_ACTION
        detail = {"export": str(export.pk), "recipient": "prepared for the patient"}
    category = _category(export.resource_types)
    ordered = sorted(patient_ids)
    for at in range(0, len(ordered), AUDIT_BATCH):
        batch = Patient.objects.filter(pk__in=ordered[at : at + AUDIT_BATCH]).only("id", "mrn").order_by("id")
        audit.record_many(
            [
                {
                    "actor": export.requested_by,
                    "action": action,
                    "verb": Verb.EXPORT,
                    "category": category,
                    "target": export,
                    "patient": p,
                    "changes": detail,
                }
                for p in batch
            ]
        )


def _scope(export: Export) -> bulk.Scope:
    """Whose resources the export holds: of the requesting user's locations' patients only, for a
    user scoped to some locations (read when the worker runs, so a user moved since then exports
    what they may read now); a whole-system export of theirs still carries the shared resources."""
    within = patient_ids_for(export.requested_by)
    if export.level == Export.Level.SYSTEM:
        if within is None:
            return bulk.Scope(None, export.since)
        return bulk.Scope(within, export.since, with_shared=True)
    if export.level == Export.Level.GROUP and export.group_id is not None:  # the table holds a group's id
        group = bulk.group_patients(export.group_id)
        return bulk.Scope(group if within is None else group.filter(patient_id__in=within), export.since)
    if export.level == Export.Level.ONE_PATIENT:  # the chart's own export: its access was checked
        return bulk.Scope(Patient.objects.filter(record_exports=export).values("pk"), None, with_shared=True)
    everyone = Patient.objects.values("pk")
    return bulk.Scope(everyone if within is None else everyone.filter(pk__in=within), export.since)


def _resources(
    export: Export, scope: bulk.Scope, rtype: selectors.ResourceType, patients: set[int], done: list[int]
) -> Iterator[resources.Resource]:
    for row in bulk.rows(rtype, scope):
        if row.patient_id is not None:
            patients.add(row.patient_id)
        for resource in row.resources:
            done[0] += 1
            if done[0] % PROGRESS_EVERY == 0:
                _check(export, f"{rtype.name}: {done[0]} resources written so far.")
            yield resource


class _Part:
    """One NDJSON file being written, on disk (never the whole file in memory)."""

    def __init__(self) -> None:
        self.raw: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by store() or the writer's finally
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, resource: resources.Resource) -> None:
        line = json.dumps(resource, separators=(",", ":"), default=str).encode() + b"\n"
        self.digest.update(line)
        self.raw.write(line)
        self.count += 1

    def store(self, export: Export, rtype: str, number: int) -> None:
        name = f"{rtype}.ndjson" if number == 1 else f"{rtype}.{number}.ndjson"
        with self.raw:
            if self.count:  # the Bulk Data spec: a type with no resources has no file
                _store(export, name, self.raw, resource_type=rtype, count=self.count, sha256=self.digest.hexdigest())


def _bulk_write(export: Export) -> set[int]:
    """Every type's files; a type that fails is left out whole and reported in the manifest's
    ``error`` file (an OperationOutcome per type), and the others are still written."""
    scope = _scope(export)
    patients: set[int] = set()
    errors = _Part()
    done = [0]
    try:
        for position, name in enumerate(export.resource_types, start=1):
            rtype = selectors.RESOURCE_TYPES.get(name)
            if rtype is None:  # no longer served since the request: nothing to write
                continue
            _check(export, f"Resource type {position} of {len(export.resource_types)} ({name}).")
            included: set[int] = set()
            try:
                _write_type(export, scope, rtype, included, done)
            except _Cancelled:
                raise
            except Exception as exc:
                logger.exception("interop: export %s failed on %s", export.pk, name, exc_info=exc)
                _delete_files(export, resource_type=name)
                errors.write(
                    resources.operation_outcome(
                        "error", "exception", f"The {name} resources could not be exported; the error was logged."
                    )
                )
                continue
            patients |= included  # only the patients whose resources did go out
        errors.store(export, ERROR_TYPE, 1)
    finally:
        errors.raw.close()
    return patients


def _write_type(
    export: Export, scope: bulk.Scope, rtype: selectors.ResourceType, patients: set[int], done: list[int]
) -> None:
    number, part = 1, _Part()
    try:
        for resource in _resources(export, scope, rtype, patients, done):
            part.write(resource)
            if part.raw.tell() >= PART_BYTES:  # the spec allows several files per type
                part.store(export, rtype.name, number)
                number, part = number + 1, _Part()
        part.store(export, rtype.name, number)
    finally:
        part.raw.close()


def _record_write(export: Export) -> set[int]:
    patient = Patient.objects.get(record_exports=export)
    scope = _scope(export)
    base = f"{site_url()}/fhir/r4"
    entries: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    done = [0]
    for name in export.resource_types:
        rtype = selectors.RESOURCE_TYPES.get(name)
        if rtype is None:
            continue
        for resource in _resources(export, scope, rtype, set(), done):
            entries.append({"fullUrl": f"{base}/{name}/{resource['id']}", "resource": resource})
            counts[name] = counts.get(name, 0) + 1
    _check(export, "The documents and the accounting of disclosures.")
    stamp = timezone.now()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": stamp.isoformat(),
        "entry": entries,
    }
    pdfs, unrendered = _issued_pdfs(patient)
    disclosures = record_disclosures(patient)
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as raw:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("record.fhir.json", json.dumps(bundle, indent=1, default=str))
            names = []
            for document in pdfs:
                name = f"documents/{document.pk}-{document.filename}"
                with archive.open(name, "w") as out:
                    for chunk in documents.file_chunks(document):
                        out.write(chunk)
                names.append((name, document))
            archive.writestr("disclosures.csv", _disclosures_csv(disclosures))
            archive.writestr(
                "index.html",
                render_to_string(
                    "interop/record_index.html",
                    {
                        "patient": patient,
                        "prepared_at": stamp,
                        "prepared_by": export.requested_by,
                        "counts": sorted(counts.items()),
                        "documents": names,
                        "unrendered": unrendered,
                        "disclosures": disclosures,
                        "clinic": settings.CLINIC_NAME,
                    },
                ),
            )
        raw.seek(0)
        for chunk in iter(partial(raw.read, 1 << 20), b""):
            digest.update(chunk)
        _store(
            export, f"record-{patient.mrn}.zip", raw, resource_type="", count=len(entries), sha256=digest.hexdigest()
        )
    return {patient.pk}


def _issued_pdfs(patient: Patient) -> tuple[list[Document], list[Document]]:
    """Every document issued for the patient, rendered here if the documents worker has not got to
    it yet; and those that could not be rendered (listed in the index, not left out silently)."""
    rendered, unrendered = [], []
    for document in Document.objects.filter(patient=patient).defer("pdf").order_by("issued_at", "id"):
        if document.status != Document.Status.RENDERED:
            try:
                document = documents.document_render(document_id=document.pk)
            except documents.DocumentError:
                unrendered.append(document)
                continue
        rendered.append(document)
    return rendered, unrendered


def record_disclosures(patient: Patient) -> list[dict[str, Any]]:
    """The accounting of disclosures: every document disclosed, and every export that included
    the patient (the FHIR bulk exports and this record's earlier exports), newest first."""
    rows: list[dict[str, Any]] = [
        {
            "at": d.at,
            "by": str(d.by),
            "what": d.document.title,
            "recipient": d.recipient,
            "purpose": d.get_purpose_display(),
            "channel": d.get_channel_display(),
        }
        for d in Disclosure.objects.filter(patient=patient).select_related("by", "document").order_by("-at", "-id")
    ]
    exports = AuditEvent.objects.filter(
        patient_id=patient.pk,
        verb=Verb.EXPORT,
        action__in=[EXPORT_ACTION, RECORD_ACTION, RECORD_DOWNLOAD_ACTION],
    ).select_related("actor")
    for event in exports.order_by("-at", "-id"):
        changes = event.changes or {}
        rows.append(
            {
                "at": event.at,
                "by": str(event.actor) if event.actor_id else "",
                "what": "FHIR bulk export" if event.action == EXPORT_ACTION else "The whole record",
                "recipient": changes.get("client") or changes.get("recipient") or "",
                "purpose": "",
                "channel": "Downloaded" if event.action == RECORD_DOWNLOAD_ACTION else "Prepared",
            }
        )
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows


def _disclosures_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["When (UTC)", "By", "What", "Recipient", "Purpose", "How"])
    for r in rows:
        writer.writerow([r["at"].isoformat(), r["by"], r["what"], r["recipient"], r["purpose"], r["channel"]])
    return out.getvalue()


# Storing and reading the files -----------------------------------------------------------------

_START_FILE = "UPDATE interop_exportfile SET content = %s WHERE id = %s"
_APPEND_FILE = "UPDATE interop_exportfile SET content = content || %s WHERE id = %s"
_READ_FILE = "SELECT substring(content FROM %s FOR %s) FROM interop_exportfile WHERE id = %s"


def _store(export: Export, name: str, raw: IO[bytes], *, resource_type: str, count: int, sha256: str) -> ExportFile:
    size = raw.seek(0, io.SEEK_END)
    raw.seek(0)
    with transaction.atomic():
        stored = ExportFile.objects.create(
            export=export, name=name, resource_type=resource_type, count=count, sha256=sha256, size_bytes=size
        )
        if documents.STORAGE_ALIAS in settings.STORAGES:
            stored.storage_name = storages[documents.STORAGE_ALIAS].save(f"exports/{export.pk}/{name}", File(raw))
            stored.save(update_fields=["storage_name"])
        else:
            # A slice at a time: a whole population's observations would be one huge parameter.
            with connection.cursor() as cursor:
                cursor.execute(_START_FILE, [b"", stored.pk])
                for chunk in iter(partial(raw.read, STORE_SLICE), b""):
                    cursor.execute(_APPEND_FILE, [chunk, stored.pk])
    return stored


def file_chunks(stored: ExportFile) -> Iterator[bytes]:
    """A stored file a slice at a time, so that serving it never holds it whole."""
    return documents.stored_chunks(storage_name=stored.storage_name, read_sql=_READ_FILE, pk=stored.pk)


def bulk_file_downloaded(*, export: Export, stored: ExportFile, by: User, client: str) -> None:
    audit.record(
        actor=by,
        action=f"{EXPORT_ACTION}.downloaded",
        verb=Verb.EXPORT,
        category=_category([stored.resource_type]),
        target=export,
        changes={"file": stored.name, "resources": stored.count, "client": client},
    )


def record_downloaded(*, export: Export, by: User) -> None:
    """The record handed out: an export event on the patient's chart, listed in the accounting."""
    audit.record(
        actor=by,
        action=RECORD_DOWNLOAD_ACTION,
        verb=Verb.EXPORT,
        category=Category.CLINICAL,
        target=export,
        patient=export.patient,
        changes={"recipient": "the patient (copy of the record)", "export": str(export.pk)},
    )
