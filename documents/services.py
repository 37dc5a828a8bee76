"""Writes for documents: issue a version, render it, record a disclosure.

``document_issue`` snapshots the record and stores a pending row; the PDF is
rendered after commit by a Celery task (``documents.render``), or synchronously
by the first download if the worker has not got to it yet. Issuing again with
an unchanged snapshot returns the current version; a changed snapshot (e.g.
after an amendment) becomes a new version that supersedes the old one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, User
from core import csv_export, pdf
from core.audit import Category
from documents import charts, registry, snapshots
from documents.models import Disclosure, Document, DocumentKind, RenderStatus

logger = logging.getLogger(__name__)

# The Celery task that renders a pending version (documents/tasks.py), enqueued by name:
# tasks call services, never the reverse.
RENDER_TASK = "documents.render"
EXPORT_TASK = "documents.export"
CLINICAL_KINDS = frozenset(
    {
        DocumentKind.CONSULTATION_SUMMARY,
        DocumentKind.INFUSION_RECORD,
        DocumentKind.COURSE_SUMMARY,
        DocumentKind.CONTROLLED_SUBSTANCE_REPORT,
        DocumentKind.PROGRESS_LETTER,
    }
)
STORAGE_ALIAS = "documents"  # configure settings.STORAGES["documents"] (e.g. django-storages S3) to keep PDFs there


def _category(kind: str, snapshot: Any = None) -> Category:
    if kind == DocumentKind.DATA_EXPORT:
        entry = registry.export(snapshot.get("export") if isinstance(snapshot, dict) else None)
        return entry.category if entry is not None else AuditEvent.Category.AUDIT
    if kind == DocumentKind.CONTROLLED_SUBSTANCE_REPORT:
        return AuditEvent.Category.CONTROLLED_SUBSTANCE
    return AuditEvent.Category.CLINICAL if kind in CLINICAL_KINDS else AuditEvent.Category.DEMOGRAPHICS


class DocumentError(Exception):
    """A document cannot be issued or rendered (shown to the user)."""


def current_version(*, kind: str, subject) -> Document | None:
    ct = ContentType.objects.get_for_model(subject)
    return (
        Document.objects.filter(kind=kind, subject_type=ct, subject_id=subject.pk, superseded_by__isnull=True)
        .defer("pdf")
        .first()
    )


def _title(kind: str, snapshot: dict[str, Any]) -> str:
    name = snapshot.get("patient", {}).get("name", "")
    return f"{DocumentKind(kind).label} – {name}" if name else DocumentKind(kind).label


@transaction.atomic
def document_issue(*, kind: str, subject, patient, snapshot: dict[str, Any], by: User, title: str = "") -> Document:
    """Store ``snapshot`` as the current version of (kind, subject) unless it already is."""
    ct = ContentType.objects.get_for_model(subject)
    # Serialise issuers of the same subject (also the very first one, when there is no row to
    # lock yet) so that two clicks make one version, not two.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"documents:{kind}:{ct.pk}:{subject.pk}"])
    locked = list(
        Document.objects.filter(kind=kind, subject_type=ct, subject_id=subject.pk)
        .only("id", "version", "snapshot_sha256")
        .order_by("-version")[:1]
    )
    digest = snapshots.sha256(snapshot)
    previous = locked[0] if locked else None
    if previous is not None and previous.snapshot_sha256 == digest:
        return Document.objects.defer("pdf").get(pk=previous.pk)
    document = Document.objects.create(
        kind=kind,
        patient=patient,
        subject_type=ct,
        subject_id=subject.pk,
        version=previous.version + 1 if previous else 1,
        supersedes=previous,
        title=title or _title(kind, snapshot),
        snapshot=snapshot,
        snapshot_sha256=digest,
        issued_by=by,
        issued_at=timezone.now(),
    )
    return _issued(document, by=by, supersedes=getattr(previous, "pk", None))


def _issued(document: Document, *, by: User, supersedes: int | None = None) -> Document:
    """Audit a new pending version and have the worker render it once the transaction commits."""
    audit.record(
        actor=by,
        action="documents.document.issued",
        verb=AuditEvent.Verb.CREATE,
        category=document_category(document),
        target=document,
        patient=document.patient,
        changes={"kind": document.kind, "version": document.version, "supersedes": supersedes},
    )
    task = EXPORT_TASK if document.kind == DocumentKind.DATA_EXPORT else RENDER_TASK
    transaction.on_commit(partial(_enqueue, document.pk, task))
    return document


@transaction.atomic
def export_issue(*, kind: str, snapshot: dict[str, Any], by: User, title: str) -> Document:
    """Store a report about no single patient (a ledger report over a period) as a pending
    document for the worker to render; the user downloads it from its status panel once issued.

    Each request is its own document (no subject, so no versions): a report is as of the moment
    it was asked for, and it is kept like every other issued document (rows are never deleted).
    """
    entry = registry.get(kind)
    if entry is None or not entry.download_perms:
        raise DocumentError("This report cannot be prepared here.")
    snapshot = snapshots.jsonable(snapshot)
    document = Document.objects.create(
        kind=kind,
        title=title[:200] or DocumentKind(kind).label,
        snapshot=snapshot,
        snapshot_sha256=snapshots.sha256(snapshot),
        issued_by=by,
        issued_at=timezone.now(),
    )
    return _issued(document, by=by)


def document_category(document: Document) -> Category:
    """The audit trail's data category of what ``document`` holds."""
    return _category(document.kind, document.snapshot)


def _enqueue(document_id: int, task: str = RENDER_TASK) -> None:
    try:
        current_app.tasks[task].delay(document_id)
    except Exception:  # the broker is down: the first download renders a PDF synchronously instead
        logger.warning("documents: could not enqueue %s of document %s", task, document_id, exc_info=True)


# --- Data exports (CSV written by the worker) ------------------------------------------

# How often the worker writes its progress to the row (the status page polls every 2 s).
EXPORT_PROGRESS_EVERY = 1000


def export_background_rows() -> int:
    """Clinic policy, bounded: a CSV export reading more rows than this is written by the
    documents worker, not the web worker (settings.EXPORT_BACKGROUND_ROWS, 50..5,000)."""
    return max(50, min(int(getattr(settings, "EXPORT_BACKGROUND_ROWS", 300)), 5000))


def data_export_start(
    *, export: str, params: dict[str, Any], by: User, title: str, filename: str, back: str = ""
) -> Document | None:
    """Issue ``export`` as a document for the worker when it reads more than the threshold's rows
    (one capped count in the request, never the export's own query); None when it is short enough
    to write in the request."""
    entry = registry.export(export)
    if entry is None:
        raise DocumentError("This export cannot be prepared here.")
    limit = export_background_rows()
    if entry.count(params, limit) <= limit:
        return None
    return data_export_issue(export=export, params=params, by=by, title=title, filename=filename, back=back)


@transaction.atomic
def data_export_issue(
    *, export: str, params: dict[str, Any], by: User, title: str, filename: str, back: str = ""
) -> Document:
    """A pending data export: what to write (the export's name and filters), never the rows."""
    if registry.export(export) is None:
        raise DocumentError("This export cannot be prepared here.")
    snapshot = snapshots.jsonable(
        {"export": export, "params": params, "filename": filename, "back": back, "format": "csv"}
    )
    document = Document.objects.create(
        kind=DocumentKind.DATA_EXPORT,
        title=title[:200] or DocumentKind.DATA_EXPORT.label,
        snapshot=snapshot,
        snapshot_sha256=snapshots.sha256(snapshot),
        issued_by=by,
        issued_at=timezone.now(),
        rows_done=0,
    )
    return _issued(document, by=by)


def data_export_run(*, document_id: int) -> Document:
    """Write a pending data export's CSV (the worker's task; idempotent): count, then write the
    rows, saving the progress every ``EXPORT_PROGRESS_EVERY`` rows in its own statement so the
    status page sees it; then store the file with its SHA-256 under the row's lock. A failure
    marks the row "failed" and raises DocumentError."""
    document = Document.objects.defer("pdf").get(pk=document_id)
    if document.status == RenderStatus.RENDERED:
        return document
    try:
        return _export_write(document)
    except Exception as exc:
        raise _failed(document_id, exc, "The export could not be written; the error was logged.") from exc


def _export_write(document: Document) -> Document:
    snapshot = document.snapshot if isinstance(document.snapshot, dict) else {}
    entry = registry.export(snapshot.get("export"))
    if entry is None:
        raise DocumentError("This export is no longer registered; it cannot be written.")
    params = snapshot.get("params") or {}
    started = time.perf_counter()
    total = entry.count(params, None)
    Document.objects.filter(pk=document.pk).update(rows_total=total, rows_done=0)
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as raw:  # a long export goes to disk, not the worker's memory
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv_export.writer(text)
        done = 0
        for done, row in enumerate(entry.rows(params), start=1):  # noqa: B007 - the count is kept
            writer.writerow(row)
            if done % EXPORT_PROGRESS_EVERY == 0:
                Document.objects.filter(pk=document.pk).update(rows_done=min(done, total))
        text.flush()
        text.detach()
        size = raw.tell()
        raw.seek(0)
        for chunk in iter(partial(raw.read, 1 << 20), b""):
            digest.update(chunk)
        raw.seek(0)
        return _export_store(document.pk, raw, size=size, sha256=digest.hexdigest(), rows=total, started=started)


@transaction.atomic
def _export_store(document_id: int, raw, *, size: int, sha256: str, rows: int, started: float) -> Document:
    document = Document.objects.select_for_update().defer("pdf").get(pk=document_id)
    if document.status == RenderStatus.RENDERED:  # a redelivered task finished first
        return document
    document.pdf_sha256 = sha256
    document.size_bytes = size
    document.rows_done = document.rows_total = rows
    document.rendered_at = timezone.now()
    document.render_ms = round((time.perf_counter() - started) * 1000)
    document.status = RenderStatus.RENDERED
    document.render_error = ""
    fields = ["pdf_sha256", "size_bytes", "rows_done", "rows_total", "rendered_at", "render_ms", "status"]
    fields.append("render_error")
    if STORAGE_ALIAS in settings.STORAGES:
        name = f"documents/{document.pk}-{sha256[:16]}.csv"
        document.storage_name = storages[STORAGE_ALIAS].save(name, File(raw))
        fields.append("storage_name")
    else:
        # Appended a slice at a time, never the whole file in one parameter: a million audit
        # rows are about 150 MB, which as one value took the worker to 600 MiB.
        with connection.cursor() as cursor:
            cursor.execute(_START_FILE, [b"", document.pk])
            for chunk in iter(partial(raw.read, FILE_SLICE), b""):
                cursor.execute(_APPEND_FILE, [chunk, document.pk])
    document.save(update_fields=fields)
    return document


# A stored file is read and written this many bytes at a time (a data export can be 150 MB).
FILE_SLICE = 16 * 2**20
# The file column in slices (the table is Document's, named in its app's migration).
_START_FILE = "UPDATE documents_document SET pdf = %s WHERE id = %s"
_APPEND_FILE = "UPDATE documents_document SET pdf = pdf || %s WHERE id = %s"
_READ_FILE = "SELECT substring(pdf FROM %s FOR %s) FROM documents_document WHERE id = %s"


def file_chunks(document: Document, *, size: int = FILE_SLICE) -> Iterator[bytes]:
    """A stored file a slice at a time, so that serving a long export never holds it whole in the
    web worker (the PDF column read with substring, or the configured storage's file)."""
    return stored_chunks(storage_name=document.storage_name, read_sql=_READ_FILE, pk=document.pk, size=size)


def stored_chunks(*, storage_name: str, read_sql: str, pk: Any, size: int = FILE_SLICE) -> Iterator[bytes]:
    """A file kept like the documents, a slice at a time: in the "documents" storage under
    ``storage_name`` when it has one, else in a bytea column that ``read_sql`` reads a slice of
    (``SELECT substring(<column> FROM %s FOR %s) FROM <table> WHERE id = %s``)."""
    if storage_name:
        with storages[STORAGE_ALIAS].open(storage_name, "rb") as handle:
            yield from iter(partial(handle.read, size), b"")
        return
    offset = 1
    while True:
        with connection.cursor() as cursor:
            cursor.execute(read_sql, [offset, size, pk])
            row = cursor.fetchone()
        chunk = bytes(row[0]) if row and row[0] is not None else b""
        if not chunk:
            return
        yield chunk
        offset += len(chunk)


def render_context(document: Document) -> dict[str, Any]:
    """The template context of a version: its snapshot, its metadata and its charts."""
    snap = document.snapshot
    entry = registry.get(document.kind)
    if entry is not None and entry.expand is not None and isinstance(snap, dict):
        snap = entry.expand(snap)
    supersedes_version = document.version - 1 if document.supersedes_id else None
    return {
        **snap,
        "snap": snap,
        "charts": charts.for_snapshot(snap),
        "meta": {
            "version": document.version,
            "supersedes_version": supersedes_version,
            "issued_at": snapshots.local_text(document.issued_at),
            "issued_by": str(document.issued_by) if document.issued_by_id else "",
        },
    }


def document_html(document: Document) -> str:
    entry = registry.get(document.kind)
    if entry is None:  # a kind no app registers any more: say so rather than fail on None
        raise DocumentError("This kind of document is no longer registered; it cannot be rendered.")
    context = {"letterhead": snapshots.letterhead(), **render_context(document)}
    return pdf.render_html(entry.template, context, title=document.title)


def document_render(*, document_id: int) -> Document:
    """Render a pending version's PDF and store it with its SHA-256 (idempotent).

    The row is locked while rendering so the Celery task and a first download never
    both store a PDF; whoever comes second finds it issued and returns it. A failure
    marks the row "failed" (a later attempt may still render it) and raises DocumentError.
    """
    try:
        return _render_locked(document_id)
    except Exception as exc:
        raise _failed(document_id, exc, "The PDF could not be rendered; the error was logged.") from exc


def _failed(document_id: int, exc: Exception, message: str) -> DocumentError:
    """Log the failure, mark the row "failed" (a later attempt may still succeed) and say so."""
    logger.exception("documents: preparing document %s failed", document_id, exc_info=exc)
    Document.objects.filter(pk=document_id).exclude(status=RenderStatus.RENDERED).update(
        status=RenderStatus.FAILED, render_error=type(exc).__name__[:300]
    )
    return DocumentError(message)


@transaction.atomic
def _render_locked(document_id: int) -> Document:
    document = Document.objects.select_for_update().select_related("issued_by").get(pk=document_id)
    if document.status == RenderStatus.RENDERED:
        return document
    started = time.perf_counter()
    body, pages = pdf.html_to_pdf(document_html(document))
    document.pdf_sha256 = hashlib.sha256(body).hexdigest()
    document.size_bytes = len(body)
    document.page_count = pages
    document.render_ms = round((time.perf_counter() - started) * 1000)
    document.rendered_at = timezone.now()
    document.status = RenderStatus.RENDERED
    document.render_error = ""
    fields = ["pdf_sha256", "size_bytes", "page_count", "render_ms", "rendered_at", "status", "render_error"]
    if STORAGE_ALIAS in settings.STORAGES:
        name = f"documents/{document.pk}-v{document.version}-{document.pdf_sha256[:16]}.pdf"
        document.storage_name = storages[STORAGE_ALIAS].save(name, ContentFile(body))
        fields.append("storage_name")
    else:
        document.pdf = body
        fields.append("pdf")
    document.save(update_fields=fields)
    return document


def pdf_bytes(document: Document) -> bytes:
    if document.storage_name:
        with storages[STORAGE_ALIAS].open(document.storage_name, "rb") as handle:
            return handle.read()
    if document.pdf is None:
        raise DocumentError("This version has no PDF yet.")
    return bytes(document.pdf)


@transaction.atomic
def document_disclose(
    *, document: Document, by: User, recipient: str, purpose: str, channel: str = Disclosure.Channel.DOWNLOAD
) -> Disclosure:
    """Account for one disclosure (download or send) and audit it, in one transaction."""
    if document.status != RenderStatus.RENDERED:
        raise DocumentError("Only an issued document can be disclosed.")
    disclosure = Disclosure.objects.create(
        document=document,
        patient_id=document.patient_id,
        at=timezone.now(),
        by=by,
        recipient=recipient[:200] or "unspecified",
        purpose=purpose,
        channel=channel,
        pdf_sha256=document.pdf_sha256,
    )
    audit.record(
        actor=by,
        action=f"documents.document.{channel}",
        verb=AuditEvent.Verb.EXPORT if channel != Disclosure.Channel.PRINT else AuditEvent.Verb.PRINT,
        category=document_category(document),
        target=document,
        patient=document.patient,
        changes={"recipient": disclosure.recipient, "purpose": purpose, "version": document.version},
    )
    return disclosure


# --- Issuing a kind ----------------------------------------------------------------


def issue(*, kind: str, subject, by: User) -> Document:
    """Issue (or find current) the version of ``kind`` about ``subject``, built by the app that
    registered the kind (see documents.registry)."""
    entry = registry.get(kind)
    if entry is None:
        raise DocumentError("This document cannot be issued here.")
    if entry.refuse is not None and (why := entry.refuse(subject)):
        raise DocumentError(why)
    return document_issue(
        kind=kind, subject=subject, patient=entry.patient_of(subject), snapshot=snapshots.build(kind, subject), by=by
    )


def issue_for_patient(*, kind: str, patient, subject_id: int | None, by: User) -> Document:
    """Resolve what ``subject_id`` names for this patient (never another patient's row) and issue."""
    entry = registry.get(kind)
    if entry is None or entry.find is None:
        raise DocumentError("This document cannot be issued here.")
    subject = entry.find(patient, subject_id)
    if subject is None:
        raise DocumentError(entry.not_found)
    return issue(kind=kind, subject=subject, by=by)


def release_refusal(document: Document) -> str:
    """Why this version may not be disclosed now ("" when it may): the registering app decides
    (a progress letter whose recipient's sharing authorisation was revoked or has expired)."""
    entry = registry.get(document.kind)
    if entry is None or entry.refuse_release is None:
        return ""
    return entry.refuse_release(document)


def disclosure_defaults(document: Document, *, by: User) -> tuple[str, str]:
    """(purpose, recipient) assumed for a plain download of this kind."""
    if document.kind == DocumentKind.DISCHARGE_INSTRUCTIONS:
        return Disclosure.Purpose.PATIENT_COPY, "the patient"
    if document.kind in (DocumentKind.COURSE_SUMMARY, DocumentKind.PROGRESS_LETTER):
        recipient = document.snapshot.get("recipient") or "referring provider"
        return Disclosure.Purpose.REFERRAL, recipient
    if document.patient_id is None:  # a report over many patients, kept by the clinic
        return Disclosure.Purpose.OPERATIONS, f"clinic staff ({by})"
    return Disclosure.Purpose.TREATMENT, f"clinic staff ({by})"
