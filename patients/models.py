from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", "Verbal (recorded by staff)"
    WRITTEN = "written", "Written form"
    PORTAL = "portal", "Patient portal"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Patient(models.Model):
    """A person in the clinic's registry: demographics and contact details only.

    Clinical data lives in the later-stage apps, so front desk can see and edit
    this model without ever touching a clinical note.
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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "id"]
        permissions = [("view_clinical_record", "Can view clinical records")]
        indexes = [
            models.Index(fields=["date_of_birth"], name="patient_dob"),
            models.Index(fields=["phone"], name="patient_phone"),
            models.Index(fields=["legal_last_name", "legal_first_name"], name="patient_name"),
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
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        first = self.preferred_name or self.legal_first_name
        return f"{self.legal_last_name}, {first}"

    @property
    def initials(self) -> str:
        return f"{self.legal_first_name[:1]}{self.legal_last_name[:1]}".upper()
