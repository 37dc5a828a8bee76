"""An inquiry: someone who reached out through the public form (``/start/``), or whom a clinician
referred, before they are a patient. The desk works it through a queue (new, contacted, booked,
closed) and turns it into a patient, or links it to one already registered.

Kept apart from the registry on purpose: an inquiry is unverified and typed by a stranger, so
nothing from it reaches a chart until a member of staff converts or links it. Never deleted (a
trigger refuses it); every change is kept in its history (pghistory) and audited by the services.
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from core.triggers import append_only
from inquiries import rules
from scheduling.models import places_patient


class Reason(models.TextChoices):
    DEPRESSION = rules.Reason.DEPRESSION, rules.REASON_LABELS[rules.Reason.DEPRESSION]
    ANXIETY = rules.Reason.ANXIETY, rules.REASON_LABELS[rules.Reason.ANXIETY]
    PTSD = rules.Reason.PTSD, rules.REASON_LABELS[rules.Reason.PTSD]
    CHRONIC_PAIN = rules.Reason.CHRONIC_PAIN, rules.REASON_LABELS[rules.Reason.CHRONIC_PAIN]
    NOT_SURE = rules.Reason.NOT_SURE, rules.REASON_LABELS[rules.Reason.NOT_SURE]


class Who(models.TextChoices):
    SELF = rules.Who.SELF, rules.WHO_LABELS[rules.Who.SELF]
    REFERRER = rules.Who.REFERRER, rules.WHO_LABELS[rules.Who.REFERRER]


class InquiryStatus(models.TextChoices):
    NEW = rules.Status.NEW, rules.STATUS_LABELS[rules.Status.NEW]
    CONTACTED = rules.Status.CONTACTED, rules.STATUS_LABELS[rules.Status.CONTACTED]
    BOOKED = rules.Status.BOOKED, rules.STATUS_LABELS[rules.Status.BOOKED]
    CLOSED = rules.Status.CLOSED, rules.STATUS_LABELS[rules.Status.CLOSED]


class CloseReason(models.TextChoices):
    NOT_INTERESTED = rules.CloseReason.NOT_INTERESTED, rules.CLOSE_REASON_LABELS[rules.CloseReason.NOT_INTERESTED]
    UNREACHABLE = rules.CloseReason.UNREACHABLE, rules.CLOSE_REASON_LABELS[rules.CloseReason.UNREACHABLE]
    NOT_SUITABLE = rules.CloseReason.NOT_SUITABLE, rules.CLOSE_REASON_LABELS[rules.CloseReason.NOT_SUITABLE]
    REFERRED_ELSEWHERE = (
        rules.CloseReason.REFERRED_ELSEWHERE,
        rules.CLOSE_REASON_LABELS[rules.CloseReason.REFERRED_ELSEWHERE],
    )
    DUPLICATE = rules.CloseReason.DUPLICATE, rules.CLOSE_REASON_LABELS[rules.CloseReason.DUPLICATE]
    NOT_GENUINE = rules.CloseReason.NOT_GENUINE, rules.CLOSE_REASON_LABELS[rules.CloseReason.NOT_GENUINE]
    OTHER = rules.CloseReason.OTHER, rules.CLOSE_REASON_LABELS[rules.CloseReason.OTHER]


class Channel(models.TextChoices):
    PHONE = rules.Channel.PHONE, rules.CHANNEL_LABELS[rules.Channel.PHONE]
    SMS = rules.Channel.SMS, rules.CHANNEL_LABELS[rules.Channel.SMS]
    EMAIL = rules.Channel.EMAIL, rules.CHANNEL_LABELS[rules.Channel.EMAIL]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Inquiry(models.Model):
    Reason = Reason
    Who = Who
    Status = InquiryStatus
    CloseReason = CloseReason

    who = models.CharField("Who is asking", max_length=10, choices=Who.choices, default=Who.SELF)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    phone = PhoneNumberField(blank=True)
    email = models.EmailField(max_length=254, blank=True)
    # Consent to be contacted about this inquiry, and how (not consent to reminders: that is
    # asked again when the person is registered).
    contact_by_phone = models.BooleanField("May call", default=False)
    contact_by_sms = models.BooleanField("May text", default=False)
    contact_by_email = models.BooleanField("May e-mail", default=False)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    referrer_name = models.CharField("Referring provider", max_length=150, blank=True)
    referrer_npi = models.CharField("Referring provider's NPI", max_length=10, blank=True)
    referrer_phone = PhoneNumberField("Referring provider's phone", blank=True)
    preferred_location = models.ForeignKey(
        "scheduling.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=InquiryStatus.choices, default=InquiryStatus.NEW)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    close_note = models.CharField(max_length=200, blank=True)
    # The registered patient this inquiry became (converted) or turned out to be (linked).
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="inquiries"
    )
    linked_at = models.DateTimeField(null=True, blank=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name_plural = "inquiries"
        indexes = [
            models.Index(fields=["status", "-submitted_at", "-id"], name="inquiry_queue"),
            models.Index(fields=["submitted_at"], name="inquiry_submitted"),
            models.Index(fields=["patient"], name="inquiry_patient"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=InquiryStatus.values), name="inquiry_status_known"),
            models.CheckConstraint(condition=Q(reason__in=Reason.values), name="inquiry_reason_known"),
            models.CheckConstraint(condition=Q(who__in=Who.values), name="inquiry_who_known"),
            models.CheckConstraint(
                condition=Q(contact_by_phone=True) | Q(contact_by_sms=True) | Q(contact_by_email=True),
                name="inquiry_contact_consent_given",
            ),
            models.CheckConstraint(condition=~Q(phone="") | ~Q(email=""), name="inquiry_contact_given"),
            # Closed: with a reason ("other" with a note); otherwise no reason left behind.
            models.CheckConstraint(
                condition=(Q(status="closed") & ~Q(close_reason="") & (~Q(close_reason="other") | ~Q(close_note="")))
                | (~Q(status="closed") & Q(close_reason="")),
                name="inquiry_closed_with_reason",
            ),
            # Booked: only for a registered patient.
            models.CheckConstraint(
                condition=~Q(status="booked") | Q(patient__isnull=False), name="inquiry_booked_has_patient"
            ),
            models.CheckConstraint(
                condition=Q(patient__isnull=True) | Q(linked_at__isnull=False), name="inquiry_link_recorded"
            ),
            models.CheckConstraint(
                condition=Q(referrer_npi="") | Q(referrer_npi__regex=r"^[0-9]{10}$"), name="inquiry_npi_digits"
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="inquiry_never_deleted", operation=pgtrigger.Delete),
            # A registered patient whose inquiry named a location belongs to that location's desk.
            places_patient("inquiry_places_patient", location="preferred_location_id"),
        ]

    def __str__(self) -> str:
        return f"Inquiry #{self.pk}"

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"

    @property
    def channels(self) -> list[str]:
        """The ways the person agreed to be contacted, in the form's order."""
        chosen = (
            (Channel.PHONE, self.contact_by_phone),
            (Channel.SMS, self.contact_by_sms),
            (Channel.EMAIL, self.contact_by_email),
        )
        return [c.value for c, on in chosen if on]

    @property
    def channels_text(self) -> str:
        return ", ".join(rules.CHANNEL_LABELS[c] for c in self.channels)

    @property
    def reason_short(self) -> str:
        return rules.REASON_SHORT.get(self.reason, self.reason)

    @property
    def is_open(self) -> bool:
        return self.status in rules.OPEN_STATUSES


@pghistory.track(pghistory.InsertEvent())
class InquiryContact(models.Model):
    """One attempt to reach the person (a call, a text, an e-mail) while the inquiry is worked.

    The patient's contact log (``patients.ContactLogEntry``) needs a patient; until there is one
    the attempts are kept here, and they are copied into the patient's log when the inquiry is
    converted or linked (attempts after that go to both)."""

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        MESSAGE = "message", "Left a message"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number or address"

    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="contacts")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["inquiry", "-at", "-id"], name="inquirycontact_at")]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="inquirycontact_channel_known"),
            models.CheckConstraint(
                condition=Q(outcome__in=["reached", "message", "no_answer", "wrong_number"]),
                name="inquirycontact_outcome_known",
            ),
        ]
        triggers = [append_only("inquirycontact_append_only")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} ({self.get_outcome_display()})"

    @property
    def log_summary(self) -> str:
        """The patient's contact-log line for this attempt."""
        text = f"Inquiry #{self.inquiry_id}: {self.get_outcome_display().lower()}"
        return f"{text}. {self.note}" if self.note else text
