"""Who registered each API client, and when it was retired; the exports and their files.

The client itself is django-oauth-toolkit's ``Application`` (its secret stored hashed); this row
keeps what the toolkit has no place for. A client is retired, never deleted, so the audit trail's
references to its tokens' reads keep their meaning."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class ClientRegistration(models.Model):
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="registration"
    )
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField()
    purpose = models.CharField(max_length=300, help_text="What the client is for, in a sentence.")
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retired_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-registered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retired_at__isnull=True, retired_by__isnull=True, retired_reason="")
                | models.Q(retired_at__isnull=False, retired_by__isnull=False) & ~models.Q(retired_reason=""),
                name="clientregistration_retired_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.application.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class ExportKind(models.TextChoices):
    BULK = "bulk", "FHIR bulk export"
    RECORD = "record", "A patient's whole record"


class ExportLevel(models.TextChoices):
    SYSTEM = "system", "Every patient and resource"
    PATIENT = "patient", "Every patient"
    GROUP = "group", "A group of patients"
    ONE_PATIENT = "one_patient", "One patient"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Being written"
    COMPLETED = "completed", "Ready"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Export(models.Model):
    """One export request: a bulk ``$export`` (NDJSON files) or one patient's record (a zip).

    Built by the worker; its files are kept like the issued documents (in PostgreSQL, or in the
    "documents" storage when one is configured). The id is random, since it is a URL a client polls."""

    Kind = ExportKind
    Level = ExportLevel
    Status = ExportStatus

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=ExportKind.choices)
    level = models.CharField(max_length=12, choices=ExportLevel.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    # The API client and scope a bulk export was asked with ("" for an export from the chart).
    client = models.CharField(max_length=200, blank=True)
    scope = models.CharField(max_length=500, blank=True)
    request_url = models.CharField(max_length=1000, blank=True)
    group = models.ForeignKey("scheduling.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="record_exports"
    )
    resource_types = models.JSONField(default=list)
    since = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    # When the worker started reading: the manifest's transactionTime (the next _since).
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    patient_count = models.PositiveIntegerField(null=True, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        permissions = [
            ("bulk_export", "Can export every patient's record over FHIR (bulk export)"),
            ("export_patient_record", "Can export one patient's whole record from the chart"),
        ]
        indexes = [models.Index(fields=["patient", "-requested_at"], name="export_patient")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=ExportKind.values), name="export_kind_known"),
            models.CheckConstraint(condition=models.Q(status__in=ExportStatus.values), name="export_status_known"),
            models.CheckConstraint(
                condition=~models.Q(level="group") | models.Q(group__isnull=False), name="export_group_named"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="record") | models.Q(patient__isnull=False, level="one_patient"),
                name="export_record_of_a_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}"

    @property
    def is_done(self) -> bool:
        return self.status in (ExportStatus.COMPLETED, ExportStatus.FAILED, ExportStatus.CANCELLED)


class ExportFile(models.Model):
    """One file of an export: the NDJSON of one resource type, or a record's zip."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=100)
    resource_type = models.CharField(max_length=60, blank=True)
    count = models.PositiveIntegerField(default=0)
    content = models.BinaryField(null=True, blank=True, editable=False)
    storage_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["export", "id"]
        constraints = [models.UniqueConstraint(fields=["export", "name"], name="exportfile_one_per_name")]

    def __str__(self) -> str:
        return self.name


class ImportedRecord(models.Model):
    """Which of our records a row of another system's export became.

    Keyed by the other system (``source``) and its own id for the row, so running the same import
    again updates or skips instead of registering everyone twice. Kept for good: the link is also
    where a record came from when someone asks later.
    """

    class Kind(models.TextChoices):
        PATIENT = "patient", "Patient"
        APPOINTMENT = "appointment", "Appointment"

    source = models.CharField(max_length=100, help_text="The system the data came from, as the operator named it.")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    external_id = models.CharField(max_length=200, help_text="The other system's id for the row.")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "kind", "external_id"], name="importedrecord_unique_per_source"),
            models.CheckConstraint(
                condition=models.Q(kind="patient", appointment__isnull=True)
                | models.Q(kind="appointment", appointment__isnull=False),
                name="importedrecord_kind_matches_target",
            ),
            models.CheckConstraint(
                condition=~models.Q(source="") & ~models.Q(external_id=""), name="importedrecord_ids_given"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.kind} {self.external_id}"


class PatientLaunch(models.Model):
    """A patient context chosen by a member of staff when authorising an app for ``patient/`` scopes.

    The authorisation code and then the one access token it is exchanged for read only this patient
    (and still no more than the member of staff may read). The rows stay after the code and token are
    gone, as the record of who opened which patient's record to which app."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    launched_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.PROTECT, related_name="patient_launches"
    )
    launched_at = models.DateTimeField()
    grant = models.OneToOneField(
        settings.OAUTH2_PROVIDER_GRANT_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_launch",
    )
    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="patient_launch",
    )

    class Meta:
        ordering = ["-launched_at", "-id"]

    def __str__(self) -> str:
        return f"Patient launch #{self.pk}"
