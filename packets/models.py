"""The pre-visit packet: a secure link the patient opens to fill in their forms before the intake
consultation, and what they reported, kept apart from the clinical record until a clinician
accepts it item by item."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from packets import rules


class PacketReason(models.TextChoices):
    """What the visit is about, as the front desk knows it: decides the extra questionnaires."""

    DEPRESSION = "depression", "Depression"
    ANXIETY = "anxiety", "Anxiety"
    PTSD = "ptsd", "Post-traumatic stress"
    FIBROMYALGIA = "fibromyalgia", "Fibromyalgia"
    CRPS = "crps", "Complex regional pain syndrome"
    NOT_SURE = "not_sure", "Not sure yet"


class Packet(models.Model):
    """One pre-visit packet link: hashed token, expiry, date-of-birth failures, and each step's
    completion time (the front desk sees these, never the answers)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="packets")
    # The intake consultation it prepares; NULL when the desk sends it before booking.
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="packets"
    )
    # Who a safety alert from its questionnaires goes to first (the booked clinician).
    clinician = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(max_length=20, choices=PacketReason.choices, default=PacketReason.NOT_SURE)
    instruments = ArrayField(models.CharField(max_length=20), default=list)
    token_sha256 = models.CharField(max_length=64, unique=True)
    # NULL: sent automatically when the consultation was booked.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    sent_channels = models.CharField(max_length=20, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    dob_failures = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Each step's completion: a step is submitted once and then closed to the link.
    details_at = models.DateTimeField(null=True, blank=True)
    history_at = models.DateTimeField(null=True, blank=True)
    questionnaires_at = models.DateTimeField(null=True, blank=True)
    instructions_at = models.DateTimeField(null=True, blank=True)
    consent_at = models.DateTimeField(null=True, blank=True)
    # The details and contacts as the patient confirmed or corrected them (for the desk to apply).
    reported_details = models.JSONField(default=dict, blank=True)
    details_changed = models.BooleanField(default=False)
    # The desk's decision on each corrected field: {field: {"decision": "applied" | "dismissed",
    # "by": user id, "at": ISO time}}. Applying goes through the patient record's own service.
    details_decisions = models.JSONField(default=dict, blank=True)
    # The fasting and escort instructions the patient acknowledged, as shown to them.
    instructions_text = models.TextField(blank=True)
    escort_name = models.CharField(max_length=150, blank=True)
    escort_phone = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="packet_patient"),
            models.Index(fields=["appointment"], name="packet_appointment"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(reason__in=PacketReason.values), name="packet_reason_known"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="packet_expires_later"),
            models.CheckConstraint(
                condition=Q(instructions_at__isnull=True) | ~Q(escort_name=""), name="packet_instructions_name_escort"
            ),
        ]

    def __str__(self) -> str:
        return f"Pre-visit packet #{self.pk}"

    def done_steps(self) -> list[str]:
        return [step for step in rules.STEPS if getattr(self, f"{step}_at") is not None]


class ReportedFact(models.Model):
    """One yes / no / not sure answer to a question the intake asks (``field`` is the intake's
    column). Never part of the record on its own: ``accepted_at`` says a clinician took it in."""

    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="facts")
    field = models.CharField(max_length=60)
    answer = models.BooleanField(null=True, blank=True)  # NULL: "not sure"
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consultation = models.ForeignKey(
        "consultations.Consultation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["packet", "id"]
        constraints = [
            models.UniqueConstraint(fields=["packet", "field"], name="reportedfact_one_per_field"),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True, accepted_by__isnull=True, consultation__isnull=True)
                | Q(accepted_at__isnull=False, accepted_by__isnull=False, consultation__isnull=False),
                name="reportedfact_acceptance_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field} (patient-reported)"


class ReportedMedication(models.Model):
    """A medicine the patient says they take, as they typed it."""

    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="medications")
    name = models.CharField(max_length=120)
    dose = models.CharField("Dose and how often", max_length=120, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consultation = models.ForeignKey(
        "consultations.Consultation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["packet", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="reportedmedication_name_given"),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True, accepted_by__isnull=True, consultation__isnull=True)
                | Q(accepted_at__isnull=False, accepted_by__isnull=False, consultation__isnull=False),
                name="reportedmedication_acceptance_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (patient-reported)"
