"""Issued documents (immutable PDF snapshots) and the accounting of disclosures.

Modelled on pretix's invoices: a document row copies what it shows at issue time
(``snapshot``), the PDF is rendered from that snapshot after commit, and a
correction is a new version that ``supersedes`` the old one; both stay listed.
Immutability is the database's job: once rendered a row never changes, and no
row is ever deleted (pgtrigger). Every download or send writes a ``Disclosure``.
"""

from __future__ import annotations

import functools
import operator

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from core.triggers import append_only


class DocumentKind(models.TextChoices):
    CONSULTATION_SUMMARY = "consultation_summary", "Consultation summary"
    INFUSION_RECORD = "infusion_record", "Infusion session record"
    DISCHARGE_INSTRUCTIONS = "discharge_instructions", "Discharge instructions"
    COURSE_SUMMARY = "course_summary", "Course-of-treatment summary"
    CONTROLLED_SUBSTANCE_REPORT = "controlled_substance_report", "Controlled-substance report"
    SIGNED_CONSENT = "signed_consent", "Signed consent"
    INVOICE = "invoice", "Invoice"
    SUPERBILL = "superbill", "Superbill"
    # A CSV export too long to write in the request (a ledger report, a report's table, the audit
    # trail): its snapshot names the registered export and its filters; the worker runs the query.
    DATA_EXPORT = "data_export", "Data export (CSV)"
    PROGRESS_LETTER = "progress_letter", "Progress letter to another clinician"


class RenderStatus(models.TextChoices):
    PENDING = "pending", "Rendering"
    RENDERED = "rendered", "Issued"
    FAILED = "failed", "Rendering failed"


# What identifies a version and what it shows: never changes after insert.
_FIXED_FIELDS = (
    "kind",
    "patient_id",
    "subject_type_id",
    "subject_id",
    "version",
    "supersedes_id",
    "title",
    "snapshot",
    "snapshot_sha256",
    "issued_by_id",
    "issued_at",
)


def _any_changed(names: tuple[str, ...]) -> pgtrigger.Q:
    return functools.reduce(
        operator.or_, (pgtrigger.Q(**{f"old__{name}__df": pgtrigger.F(f"new__{name}")}) for name in names)
    )


class Document(models.Model):
    Kind = DocumentKind
    Status = RenderStatus

    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    # NULL only for documents about no single patient (a controlled-substance report for a period).
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    # What the document is about (a consultation, a plan, an appointment, a session): content type + id,
    # so this app needs no foreign key into every stage.
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    title = models.CharField(max_length=200)
    # Everything the PDF shows, as plain JSON, copied at issue time.
    snapshot = models.JSONField()
    snapshot_sha256 = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField()

    status = models.CharField(max_length=10, choices=RenderStatus.choices, default=RenderStatus.PENDING)
    # The PDF lives in PostgreSQL (every web node reads it) unless a "documents" storage is
    # configured in settings.STORAGES (e.g. S3 through django-storages): then ``storage_name``.
    pdf = models.BinaryField(null=True, blank=True, editable=False)
    storage_name = models.CharField(max_length=200, blank=True)
    pdf_sha256 = models.CharField("PDF SHA-256", max_length=64, blank=True)
    size_bytes = models.PositiveIntegerField(null=True, blank=True)
    page_count = models.PositiveSmallIntegerField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    render_error = models.CharField(max_length=300, blank=True)
    # A data export's progress, written by the worker as it goes (the status page shows it).
    rows_done = models.PositiveIntegerField(null=True, blank=True)
    rows_total = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "subject_type", "subject_id", "-version"]
        permissions = [
            ("download_clinical_document", "Can download clinical documents (summaries, session records)"),
            ("download_patient_document", "Can download patient hand-outs (discharge instructions)"),
            ("issue_clinical_document", "Can issue clinical documents"),
            ("issue_patient_document", "Can issue patient hand-outs"),
        ]
        indexes = [
            models.Index(fields=["patient", "kind", "-issued_at"], name="document_patient_kind"),
            models.Index(fields=["subject_type", "subject_id", "kind"], name="document_subject"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=DocumentKind.values), name="document_kind_known"),
            models.CheckConstraint(condition=Q(status__in=RenderStatus.values), name="document_status_known"),
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "version"], name="document_one_per_version"
            ),
            # Version 1 supersedes nothing; every later version supersedes its predecessor.
            models.CheckConstraint(
                condition=Q(version=1, supersedes__isnull=True) | Q(version__gt=1, supersedes__isnull=False),
                name="document_version_chain",
            ),
            models.CheckConstraint(
                condition=Q(subject_type__isnull=True, subject_id__isnull=True)
                | Q(subject_type__isnull=False, subject_id__isnull=False),
                name="document_subject_complete",
            ),
            # Issued means: PDF (in the row or in storage) with its hash and size.
            models.CheckConstraint(
                condition=~Q(status="rendered")
                | (
                    (Q(pdf__isnull=False) | ~Q(storage_name=""))
                    & ~Q(pdf_sha256="")
                    & Q(size_bytes__isnull=False, rendered_at__isnull=False)
                ),
                name="document_rendered_complete",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="document_never_deleted", operation=pgtrigger.Delete),
            pgtrigger.Protect(
                name="document_issued_locked", operation=pgtrigger.Update, condition=pgtrigger.Q(old__status="rendered")
            ),
            pgtrigger.Protect(
                name="document_snapshot_fixed", operation=pgtrigger.Update, condition=_any_changed(_FIXED_FIELDS)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    @property
    def is_issued(self) -> bool:
        return self.status == RenderStatus.RENDERED

    @property
    def is_data_export(self) -> bool:
        return self.kind == DocumentKind.DATA_EXPORT

    @property
    def content_type(self) -> str:
        # A data export's file is kept in the same column as a PDF (``pdf``): one store, one hash.
        return "text/csv; charset=utf-8" if self.is_data_export else "application/pdf"

    @property
    def filename(self) -> str:
        if isinstance(self.snapshot, dict) and self.snapshot.get("filename"):  # a report names its own file
            return str(self.snapshot["filename"])
        mrn = (self.snapshot or {}).get("patient", {}).get("mrn", "") if isinstance(self.snapshot, dict) else ""
        stem = "-".join(part for part in (self.kind.replace("_", "-"), mrn, f"v{self.version}") if part)
        return f"{stem}.pdf"


class DisclosurePurpose(models.TextChoices):
    PATIENT_COPY = "patient_copy", "Copy for the patient"
    TREATMENT = "treatment", "Treatment (clinic staff)"
    REFERRAL = "referral", "Referring or treating provider"
    OPERATIONS = "operations", "Health-care operations (audit, quality)"
    REGULATORY = "regulatory", "Regulatory or legal requirement"


class DisclosureChannel(models.TextChoices):
    DOWNLOAD = "download", "Downloaded"
    EMAIL = "email", "Sent by e-mail"
    PRINT = "print", "Printed"


class Disclosure(models.Model):
    """Accounting of disclosures: one row per download or send of a document (append-only)."""

    Purpose = DisclosurePurpose
    Channel = DisclosureChannel

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="disclosures")
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="disclosures"
    )
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recipient = models.CharField(max_length=200)
    purpose = models.CharField(max_length=20, choices=DisclosurePurpose.choices)
    channel = models.CharField(max_length=10, choices=DisclosureChannel.choices, default=DisclosureChannel.DOWNLOAD)
    pdf_sha256 = models.CharField("PDF SHA-256 disclosed", max_length=64)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"], name="disclosure_patient")]
        constraints = [
            models.CheckConstraint(condition=Q(purpose__in=DisclosurePurpose.values), name="disclosure_purpose_known"),
            models.CheckConstraint(condition=Q(channel__in=DisclosureChannel.values), name="disclosure_channel_known"),
            models.CheckConstraint(condition=~Q(recipient=""), name="disclosure_recipient_given"),
        ]
        triggers = [
            append_only("disclosure_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.document} → {self.recipient} ({self.at:%Y-%m-%d})"
