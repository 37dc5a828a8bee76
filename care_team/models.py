"""The patient's other clinicians: a directory of outside providers, each patient's care team,
the patient's authorisations to share with them, the progress letters sent to them, and the
adjunct (integration or psychotherapy) visits booked around the infusions.

Nothing here is ever deleted (database triggers): a provider is retired, a care-team member
ends, an authorisation is revoked, a signed letter or note is fixed and corrected by an amendment.
Writes go through ``care_team.services``.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from care_team import rules
from core.models import AmendmentBase
from core.triggers import append_only, signed_record_locked


def _tracked():
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())


@_tracked()
class CareTeamPolicy(models.Model):
    """When progress letters are drafted: one row, edited by administrators (clinic policy)."""

    letter_at_induction_end = models.BooleanField(
        "Draft a progress letter when the induction series is complete",
        default=True,
        help_text="Clinic policy: the clinical reference sets no reporting schedule.",
    )
    letter_every_boosters = models.PositiveSmallIntegerField(
        "Then draft one after every N boosters",
        default=rules.LETTER_EVERY_BOOSTERS_DEFAULT,
        validators=[MinValueValidator(0), MaxValueValidator(rules.LETTER_EVERY_BOOSTERS_MAX)],
        help_text=f"Default {rules.LETTER_EVERY_BOOSTERS_DEFAULT}; 0 drafts none after the induction "
        f"(clinic policy, at most {rules.LETTER_EVERY_BOOSTERS_MAX}).",
    )
    adjunct_minutes = models.PositiveSmallIntegerField(
        "Length of an integration or psychotherapy visit (minutes)",
        default=rules.ADJUNCT_MINUTES_DEFAULT,
        validators=[MinValueValidator(15), MaxValueValidator(180)],
        help_text=f"Default {rules.ADJUNCT_MINUTES_DEFAULT} (clinic policy).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "care-team policy"
        verbose_name_plural = "care-team policy"
        permissions = [("manage_care_team_policy", "Can change when progress letters are drafted")]

    def __str__(self) -> str:
        return "Care-team policy"


class ProviderRole(models.TextChoices):
    PSYCHIATRIST = "psychiatrist", "Psychiatrist"
    THERAPIST = "therapist", "Psychotherapist or counsellor"
    PRIMARY_CARE = "primary_care", "Primary-care clinician"
    PRESCRIBER = "prescriber", "Other prescriber"
    OTHER = "other", "Other clinician"


@_tracked()
class OutsideProvider(models.Model):
    """A clinician outside the clinic. Fax and e-mail are kept as text for staff to use by hand:
    the application never sends anything to them."""

    Role = ProviderRole

    name = models.CharField(max_length=120)
    role = models.CharField(max_length=20, choices=ProviderRole.choices)
    npi = models.CharField("NPI", max_length=10, blank=True, help_text="Ten digits; the check digit is verified.")
    practice = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    secure_fax = models.CharField("Secure fax", max_length=40, blank=True)
    secure_email = models.CharField("Secure e-mail", max_length=254, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["retired_at", "name"], name="provider_live_name")]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="provider_name_given"),
            models.CheckConstraint(condition=Q(role__in=ProviderRole.values), name="provider_role_known"),
            models.CheckConstraint(condition=Q(npi="") | Q(npi__regex=r"^\d{10}$"), name="provider_npi_digits"),
            models.UniqueConstraint(fields=["npi"], condition=~Q(npi=""), name="provider_npi_unique"),
            models.CheckConstraint(
                condition=Q(retired_at__isnull=True, retired_by__isnull=True)
                | Q(retired_at__isnull=False, retired_by__isnull=False),
                name="provider_retired_complete",
            ),
        ]
        triggers = [pgtrigger.Protect(name="provider_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class CareRelationship(models.TextChoices):
    REFERRING = "referring", "Referring prescriber"
    PSYCHIATRIST = "psychiatrist", "Psychiatrist"
    THERAPIST = "therapist", "Therapist"
    PRIMARY_CARE = "primary_care", "Primary care"


@_tracked()
class CareTeamMember(models.Model):
    """One outside clinician in one patient's care team, in one relationship."""

    Relationship = CareRelationship

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="care_team")
    provider = models.ForeignKey(OutsideProvider, on_delete=models.PROTECT, related_name="memberships")
    relationship = models.CharField(max_length=20, choices=CareRelationship.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["patient", "relationship", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(relationship__in=CareRelationship.values), name="careteammember_relationship_known"
            ),
            models.UniqueConstraint(
                fields=["patient", "provider", "relationship"],
                condition=Q(ended_at__isnull=True),
                name="careteammember_once_while_current",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, ended_by__isnull=True)
                | Q(ended_at__isnull=False, ended_by__isnull=False),
                name="careteammember_ended_complete",
            ),
        ]
        triggers = [pgtrigger.Protect(name="careteammember_never_deleted", operation=pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.provider} ({self.get_relationship_display()})"


class SharingScope(models.TextChoices):
    PROGRESS = rules.Scope.PROGRESS, "Treatment progress: sessions, doses, questionnaire scores, adverse events, plan"
    ATTENDANCE = rules.Scope.ATTENDANCE, "Attendance and plan only: no doses, scores or adverse events"


@_tracked()
class SharingAuthorisation(models.Model):
    """The patient's authorisation to share their treatment with one care-team member: dated,
    scoped, revocable. Once revoked it never changes again (database trigger)."""

    Scope = SharingScope

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="sharing_authorisations")
    member = models.ForeignKey(CareTeamMember, on_delete=models.PROTECT, related_name="authorisations")
    scope = models.CharField(max_length=20, choices=SharingScope.choices, default=SharingScope.PROGRESS)
    signed_on = models.DateField("Signed by the patient on")
    expires_on = models.DateField("Expires on", null=True, blank=True, help_text="Blank: until revoked.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-signed_on", "-id"]
        indexes = [models.Index(fields=["member", "-signed_on"], name="sharing_member")]
        constraints = [
            models.CheckConstraint(condition=Q(scope__in=SharingScope.values), name="sharing_scope_known"),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gte=F("signed_on")),
                name="sharing_expires_after_signed",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True, revoked_by__isnull=True, revoke_reason="")
                | (Q(revoked_at__isnull=False, revoked_by__isnull=False) & ~Q(revoke_reason="")),
                name="sharing_revoked_complete",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="sharing_never_deleted", operation=pgtrigger.Delete),
            pgtrigger.Protect(
                name="sharing_revoked_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__revoked_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"Authorisation to share with {self.member}"

    def state(self, today) -> str:
        return rules.authorisation_state(
            signed_on=self.signed_on, expires_on=self.expires_on, revoked=self.revoked_at is not None, today=today
        )

    def state_label(self, today) -> str:
        return rules.STATE_LABELS[rules.AuthorisationState(self.state(today))]


class Milestone(models.TextChoices):
    INDUCTION = rules.Milestone.INDUCTION, rules.MILESTONE_LABELS[rules.Milestone.INDUCTION]
    BOOSTERS = rules.Milestone.BOOSTERS, rules.MILESTONE_LABELS[rules.Milestone.BOOSTERS]
    REQUESTED = rules.Milestone.REQUESTED, rules.MILESTONE_LABELS[rules.Milestone.REQUESTED]


class LetterStatus(models.TextChoices):
    DRAFT = "draft", "Draft, to review and sign"
    SIGNED = "signed", "Signed"


@_tracked()
class ProgressLetter(models.Model):
    """A letter to one care-team member about the course so far. Drafted at a course milestone
    (or on request), reviewed and signed by a prescriber; signing issues its PDF through the
    documents app, and each download of that PDF is a disclosure."""

    Milestone = Milestone
    Status = LetterStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="progress_letters")
    plan = models.ForeignKey("consultations.TreatmentPlan", on_delete=models.PROTECT, related_name="+")
    recipient = models.ForeignKey(CareTeamMember, on_delete=models.PROTECT, related_name="letters")
    authorisation = models.ForeignKey(SharingAuthorisation, on_delete=models.PROTECT, related_name="letters")
    milestone = models.CharField(max_length=12, choices=Milestone.choices)
    sessions_at_milestone = models.PositiveSmallIntegerField()
    plan_text = models.TextField(
        "Plan and comments",
        blank=True,
        help_text="What the clinic plans next and anything the recipient should know; printed in the letter.",
    )
    status = models.CharField(max_length=10, choices=LetterStatus.choices, default=LetterStatus.DRAFT)
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    drafted_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    document = models.OneToOneField(
        "documents.Document", null=True, blank=True, on_delete=models.PROTECT, related_name="progress_letter"
    )

    class Meta:
        ordering = ["-drafted_at", "-id"]
        permissions = [("sign_progressletter", "Can sign a progress letter to another clinician")]
        indexes = [
            models.Index(fields=["patient", "-drafted_at"], name="letter_patient"),
            models.Index(fields=["status", "-drafted_at"], name="letter_status"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(milestone__in=Milestone.values), name="letter_milestone_known"),
            models.CheckConstraint(
                condition=Q(status="draft", signed_at__isnull=True, signed_by__isnull=True, document__isnull=True)
                | Q(status="signed", signed_at__isnull=False, signed_by__isnull=False, document__isnull=False),
                name="letter_signed_complete",
            ),
            # A milestone drafts one letter per recipient, however often it is reached again.
            models.UniqueConstraint(
                fields=["plan", "recipient", "milestone", "sessions_at_milestone"],
                condition=~Q(milestone="requested"),
                name="letter_once_per_milestone",
            ),
        ]
        triggers = [signed_record_locked("letter_signed_locked")]

    def __str__(self) -> str:
        return f"Progress letter #{self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


@_tracked()
class AdjunctNote(models.Model):
    """The short clinical note of an integration or psychotherapy visit; signed, then fixed."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="adjunct_notes")
    appointment = models.OneToOneField("scheduling.Appointment", on_delete=models.PROTECT, related_name="adjunct_note")
    text = models.TextField("Note")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("sign_adjunctnote", "Can sign an integration or psychotherapy note")]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="adjunctnote_text_given"),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True, content_sha256="")
                | (Q(signed_at__isnull=False, signed_by__isnull=False) & ~Q(content_sha256="")),
                name="adjunctnote_signed_complete",
            ),
        ]
        triggers = [signed_record_locked("adjunctnote_signed_locked")]

    def __str__(self) -> str:
        return f"Adjunct note #{self.pk}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


@pghistory.track(pghistory.InsertEvent())
class AdjunctNoteAmendment(AmendmentBase):
    """A correction or addendum to a signed adjunct note, shown beside it."""

    note = models.ForeignKey(AdjunctNote, on_delete=models.PROTECT, related_name="amendments")

    class Meta:
        ordering = ["note", "at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="adjunctamendment_reason_given"),
            models.CheckConstraint(condition=~Q(text=""), name="adjunctamendment_text_given"),
        ]
        triggers = [append_only("adjunctamendment_append_only")]

    def __str__(self) -> str:
        return f"Amendment of {self.note}"
