from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from phonenumber_field.modelfields import PhoneNumberField

from patients.expressions import DMetaphone, name_key


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", "Verbal (recorded by staff)"
    WRITTEN = "written", "Written form"
    PORTAL = "portal", "Patient portal"
    # The person ticked the channel on the public inquiry form, whose wording asks for it.
    INQUIRY = "inquiry", "Online inquiry form (by the person)"


# The search keys are derived from the names, so the history leaves them out.
NAME_KEY_FIELDS = ["last_name_key", "first_name_key", "preferred_name_key"]
# What a clinical page's header shows of the patient (display_name, __str__, the audit's MRN).
HEADER_FIELDS = ("id", "mrn", "legal_first_name", "legal_last_name", "preferred_name")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), exclude=NAME_KEY_FIELDS)
class Patient(models.Model):
    """A person in the clinic's registry: demographics and contact details only.

    Clinical data lives in the later-stage apps, so front desk can see and edit
    this model without ever touching a clinical note. Patients are never
    deleted: the status moves to inactive or deceased (``patient_change_status``).
    """

    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Not recorded"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"
        DECEASED = "deceased", "Deceased"

    mrn = models.CharField("MRN", max_length=12, unique=True, editable=False)
    legal_first_name = models.CharField(max_length=100)
    legal_last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    gender_identity = models.CharField(max_length=60, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(blank=True)
    address_line1 = models.CharField("Address", max_length=200, blank=True)
    address_line2 = models.CharField("Address line 2", max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=12, blank=True)
    preferred_language = models.CharField(max_length=40, default="English")
    emergency_contact_name = models.CharField(max_length=150, blank=True)
    emergency_contact_phone = PhoneNumberField(blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    escort_name = models.CharField("Default escort / driver", max_length=150, blank=True)
    escort_phone = PhoneNumberField("Escort phone", blank=True)
    escort_relationship = models.CharField("Escort relationship", max_length=60, blank=True)
    referring_provider = models.CharField(max_length=200, blank=True)
    sms_opt_in = models.BooleanField("SMS reminders", default=False)
    sms_consent_at = models.DateTimeField(null=True, blank=True)
    sms_consent_method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    email_opt_in = models.BooleanField("E-mail reminders", default=False)
    email_consent_at = models.DateTimeField(null=True, blank=True)
    email_consent_method = models.CharField(max_length=10, choices=ConsentMethod.choices, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=200, blank=True)
    # Optimistic locking (security-reference R2/E2): the edit form carries the
    # version it was loaded at; a save against an older version is refused.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Accent- and case-folded names for search (patients/search.py), computed
    # and stored by PostgreSQL. Stored rather than indexed as expressions: a
    # trigram index is lossy, so every candidate row is re-checked, and calling
    # the unaccent wrapper there cost ~3 µs a call (100 ms for a common surname
    # on 20,000 patients); reading a stored column costs nothing.
    last_name_key = models.GeneratedField(
        expression=name_key(F("legal_last_name")), output_field=models.TextField(), db_persist=True
    )
    first_name_key = models.GeneratedField(
        expression=name_key(F("legal_first_name")), output_field=models.TextField(), db_persist=True
    )
    preferred_name_key = models.GeneratedField(
        expression=name_key(F("preferred_name")), output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "id"]
        permissions = [("view_clinical_record", "Can view clinical records")]
        indexes = [
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["phone"], name="patient_phone"),
            # The list order, so any page of the list is an index range (id breaks ties).
            models.Index(fields=["legal_last_name", "legal_first_name", "id"], name="patient_name"),
            # Search (patients/search.py): trigram indexes on the folded names
            # serve prefix/word LIKE and the % similarity operator, the phonetic
            # keys catch sound-alike typos that trigrams miss ("Jonsen" /
            # "Johnson"), and the phone trigram index serves "ends with these digits".
            GinIndex(fields=["last_name_key"], opclasses=["gin_trgm_ops"], name="patient_last_trgm"),
            GinIndex(fields=["first_name_key"], opclasses=["gin_trgm_ops"], name="patient_first_trgm"),
            GinIndex(fields=["preferred_name_key"], opclasses=["gin_trgm_ops"], name="patient_preferred_trgm"),
            models.Index(DMetaphone("last_name_key"), name="patient_last_phonetic"),
            models.Index(DMetaphone("first_name_key"), name="patient_first_phonetic"),
            GinIndex(OpClass(F("phone"), name="gin_trgm_ops"), name="patient_phone_trgm"),
            models.Index(Lower("email"), name="patient_email_lower"),
        ]
        constraints = [
            # Consent to be contacted is only meaningful with when and how it was given.
            models.CheckConstraint(
                condition=Q(sms_opt_in=False) | (Q(sms_consent_at__isnull=False) & ~Q(sms_consent_method="")),
                name="patient_sms_consent_recorded",
            ),
            models.CheckConstraint(
                condition=Q(email_opt_in=False) | (Q(email_consent_at__isnull=False) & ~Q(email_consent_method="")),
                name="patient_email_consent_recorded",
            ),
            # A withdrawn consent leaves no stale "when/how" behind (the history keeps it).
            models.CheckConstraint(
                condition=Q(sms_opt_in=True) | (Q(sms_consent_at__isnull=True) & Q(sms_consent_method="")),
                name="patient_sms_consent_cleared",
            ),
            models.CheckConstraint(
                condition=Q(email_opt_in=True) | (Q(email_consent_at__isnull=True) & Q(email_consent_method="")),
                name="patient_email_consent_cleared",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "inactive", "deceased"]), name="patient_status_known"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="patient_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        return self.name_of(self.legal_last_name, self.legal_first_name, self.preferred_name)

    @staticmethod
    def name_of(legal_last_name: str, legal_first_name: str, preferred_name: str) -> str:
        """The display name from the three columns, for lists that read them without a model instance."""
        return f"{legal_last_name}, {preferred_name or legal_first_name}"

    @property
    def initials(self) -> str:
        return f"{self.legal_first_name[:1]}{self.legal_last_name[:1]}".upper()

    @property
    def is_active(self) -> bool:
        """May be booked and contacted: neither inactive nor deceased."""
        return self.status == self.Status.ACTIVE

    @property
    def has_reminder_consent(self) -> bool:
        return self.sms_opt_in or self.email_opt_in

    @property
    def has_escort(self) -> bool:
        return bool(self.escort_name.strip())


def beyond_header(path: str = "patient") -> list[str]:
    """Patient columns a page that shows only the name and MRN leaves in the database (for ``defer``):
    lists of 50 patients otherwise read 40 columns each and parse three phone numbers per row."""
    return [f"{path}__{f.name}" for f in Patient._meta.concrete_fields if f.name not in HEADER_FIELDS]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ContactLogEntry(models.Model):
    """One contact with (or attempt to reach) a patient: a call, a text, a visit to the desk.

    Non-clinical by design (front desk writes here). ``by`` is empty for
    messages the system sent itself (appointment reminders append here).
    """

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        SMS = "sms", "SMS"
        EMAIL = "email", "E-mail"
        IN_PERSON = "in_person", "In person"
        OTHER = "other", "Other"

    class Direction(models.TextChoices):
        OUTBOUND = "out", "Outgoing (we contacted them)"
        INBOUND = "in", "Incoming (they contacted us)"

    # CASCADE only matters to test and demo resets: the app has no way to delete a patient.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_log")
    at = models.DateTimeField(help_text="When the contact happened.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "contact log entry"
        verbose_name_plural = "contact log entries"
        indexes = [models.Index(fields=["patient", "-at", "-id"], name="contactlog_patient_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["phone", "sms", "email", "in_person", "other"]),
                name="contactlog_channel_known",
            ),
            models.CheckConstraint(condition=Q(direction__in=["in", "out"]), name="contactlog_direction_known"),
            models.CheckConstraint(condition=~Q(summary=""), name="contactlog_summary_given"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} ({self.direction}) at {self.at:%Y-%m-%d %H:%M}"
