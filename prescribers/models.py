"""A prescriber's credentials: who they are licensed as, where, and until when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from prescribers import rules


class Credential(models.TextChoices):
    MD = "MD", "Physician (MD)"
    DO = "DO", "Physician (DO)"
    NP = "NP", "Nurse practitioner (NP)"
    PA = "PA", "Physician assistant (PA)"


if tuple(Credential.values) != rules.CREDENTIALS:  # the choices and the rules must name the same credentials
    raise ImportError("prescribers.models.Credential differs from prescribers.rules.CREDENTIALS")


class PrescriberProfile(models.Model):
    """One per prescriber. Without it (or with every licence expired) the prescriber's
    decisions are refused with a sentence saying what is missing."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="prescriber_profile")
    credential = models.CharField(max_length=2, choices=Credential.choices)
    npi = models.CharField("NPI", max_length=10, unique=True, help_text="National Provider Identifier, 10 digits.")
    medical_director = models.BooleanField(
        default=False, help_text="Signs off changes to the clinic's clinical policies (dosing, screening, follow-up)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.CheckConstraint(condition=Q(credential__in=rules.CREDENTIALS), name="prescriber_credential_known"),
            models.CheckConstraint(condition=Q(npi__regex=r"^[0-9]{10}$"), name="prescriber_npi_ten_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.user} (NPI {self.npi})"


class StateLicence(models.Model):
    profile = models.ForeignKey(PrescriberProfile, on_delete=models.CASCADE, related_name="licences")
    state = models.CharField(max_length=2, help_text="Two-letter code, e.g. NY.")
    number = models.CharField(max_length=30)
    expires_on = models.DateField(help_text="The last day the licence is valid.")

    class Meta:
        ordering = ["state"]
        constraints = [
            models.UniqueConstraint(fields=["profile", "state"], name="licence_one_per_state"),
            models.CheckConstraint(condition=Q(state__regex=r"^[A-Z]{2}$"), name="licence_state_code"),
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.number} (until {self.expires_on:%Y-%m-%d})"


class DEARegistration(models.Model):
    """A practitioner's DEA registration for one clinic location (each place where ketamine
    is administered needs its own registration, clinical-reference 4 [S108]).

    The prescriber's personal registration: it gates their decisions at that location
    (``accounts.prescribing.require_prescriber`` with a location). The location's own
    registration, under which the stock is held, counted and logged, is
    ``controlled_substances.Registration``, the source of truth for the location; an expired
    one blocks receipts, draws and transfers there whatever the prescribers hold."""

    profile = models.ForeignKey(PrescriberProfile, on_delete=models.CASCADE, related_name="registrations")
    location = models.ForeignKey("scheduling.Location", on_delete=models.PROTECT, related_name="+")
    number = models.CharField("DEA number", max_length=9)
    expires_on = models.DateField(help_text="The last day the registration is valid.")

    class Meta:
        ordering = ["location__name"]
        verbose_name = "DEA registration"
        constraints = [
            models.UniqueConstraint(fields=["profile", "location"], name="dea_one_per_location"),
            models.CheckConstraint(condition=Q(number__regex=r"^[A-Z][A-Z9][0-9]{7}$"), name="dea_number_format"),
        ]

    def __str__(self) -> str:
        return f"{self.number} at {self.location} (until {self.expires_on:%Y-%m-%d})"


class PolicyChange(models.Model):
    """A proposed change to a clinical policy (a singleton row of another app), with each
    field's before and after; applied only on the medical director's sign-off."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting sign-off"
        APPLIED = "applied", "Signed off and applied"
        DECLINED = "declined", "Declined"

    policy_model = models.CharField(max_length=100, help_text='e.g. "infusions.infusionpolicy"')
    policy_id = models.PositiveIntegerField()
    policy_label = models.CharField(max_length=100)
    # {field: {"label": …, "before": …, "after": …}}
    changes = models.JSONField()
    # Every setting of the row when proposed: the sign-off applies only onto that same row.
    baseline = models.JSONField(default=dict)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        permissions = [("sign_off_policy", "Can sign off clinical policy changes (with the medical director flag)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "applied", "declined"]), name="policychange_status"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_by__isnull=False, decided_at__isnull=False)),
                name="policychange_decided_consistently",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_label} change #{self.pk} ({self.get_status_display().lower()})"
