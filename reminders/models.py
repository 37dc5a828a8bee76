"""Reminder rules (administrator-configured) and one row per reminder to send.

The database is the source of truth (security-reference R5/R6): a row per
(appointment, rule, channel) with a unique idempotency key, its due instant in
UTC and a status. A periodic dispatcher claims due rows; nothing waits in the
broker with an ETA. The tables keep the names they had when these models
belonged to the scheduling app (``db_table``), so moving them moved no data.
"""

from __future__ import annotations

from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from reminders.rules import template_problems


class ReminderKind(models.TextChoices):
    APPOINTMENT_REMINDER = "appointment_reminder", "Appointment reminder"
    PRE_INFUSION_INSTRUCTIONS = "pre_infusion_instructions", "Pre-visit instructions (fasting, escort)"
    # Placeholder: the follow-up issue fills in the questionnaire link.
    QUESTIONNAIRE_INVITATION = "questionnaire_invitation", "Questionnaire invitation"
    FOLLOW_UP_DUE = "follow_up_due", "Follow-up due"


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    EMAIL = "email", "E-mail"


class OffsetMode(models.TextChoices):
    HOURS_BEFORE = "hours_before", "N hours before the appointment instant"
    DAY_BEFORE_AT = "day_before_at", "The day before at a local time"


class ReminderRule(models.Model):
    """When and how to remind, per location (or every location when blank)."""

    name = models.CharField(max_length=80)
    location = models.ForeignKey(
        "scheduling.Location",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reminder_rules",
        help_text="Blank: applies to every location.",
    )
    kind = models.CharField(max_length=30, choices=ReminderKind.choices)
    appointment_types = models.ManyToManyField("scheduling.AppointmentType", related_name="+", blank=False)
    send_sms = models.BooleanField("SMS", default=True)
    send_email = models.BooleanField("E-mail", default=True)
    offset_mode = models.CharField(max_length=20, choices=OffsetMode.choices, default=OffsetMode.HOURS_BEFORE)
    hours_before = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(24 * 30)]
    )
    local_time = models.TimeField(null=True, blank=True, help_text="For 'the day before at': local wall time.")
    quiet_start = models.TimeField(default=time(21, 0), help_text="No messages from this local time…")
    quiet_end = models.TimeField(default=time(8, 0), help_text="…until this local time (next allowed time).")
    subject = models.CharField(max_length=120, default="Your appointment at {clinic}")
    text = models.TextField(
        help_text="Placeholders: {clinic} {date} {time} {location} {address} {link}. "
        "Never the treatment, drug or diagnosis."
    )
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "scheduling_reminderrule"
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(offset_mode="hours_before") & Q(hours_before__isnull=False))
                | (Q(offset_mode="day_before_at") & Q(local_time__isnull=False)),
                name="reminderrule_offset_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        for field in ("text", "subject"):
            problems = template_problems(getattr(self, field) or "")
            if problems:
                errors[field] = problems
        if self.offset_mode == OffsetMode.HOURS_BEFORE and self.hours_before is None:
            errors["hours_before"] = ["Give the number of hours."]
        if self.offset_mode == OffsetMode.DAY_BEFORE_AT and self.local_time is None:
            errors["local_time"] = ["Give the local time."]
        if not (self.send_sms or self.send_email):
            errors["send_sms"] = ["Choose at least one channel."]
        if errors:
            raise ValidationError(errors)

    @property
    def channels(self) -> list[str]:
        return [c for c, on in ((Channel.SMS, self.send_sms), (Channel.EMAIL, self.send_email)) if on]


class ReminderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    VOID = "void", "Void (not needed any more)"


class Reminder(models.Model):
    """One message to one patient about one appointment on one channel."""

    Status = ReminderStatus

    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.CASCADE, related_name="reminders")
    rule = models.ForeignKey(ReminderRule, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=30, choices=ReminderKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    idempotency_key = models.CharField(max_length=80, unique=True)
    # The start the due time was computed for: a send re-checks it (the visit was not moved).
    appointment_start = models.DateTimeField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_message_id = models.CharField(max_length=120, blank=True)
    # Operational only (exception class, HTTP status): never the text or the number.
    last_error = models.CharField(max_length=200, blank=True)
    # When administrators were told this reminder was overdue and still unsent (once per row).
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "scheduling_reminder"
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="reminder_status_due")]
        constraints = [
            models.UniqueConstraint(fields=["appointment", "rule", "channel"], name="reminder_one_per_rule_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.channel}) #{self.pk}"


class LinkAction(models.TextChoices):
    CONFIRM = "confirm", "Confirmed"
    CANCEL = "cancel", "Cancelled"


class ReminderLink(models.Model):
    """The confirm/cancel link in one reminder (security-reference A9 shape).

    Only a SHA-256 of the 256-bit token is stored. The link is bound to its appointment at the
    start it was sent for (a moved or cancelled visit makes it useless), expires at that start,
    and is single use: the first confirm or cancel spends it. Resending the reminder (a retry)
    replaces the token, so only the last text's link works.
    """

    Action = LinkAction

    reminder = models.OneToOneField(Reminder, on_delete=models.CASCADE, related_name="link")
    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.CASCADE, related_name="reminder_links")
    appointment_start = models.DateTimeField()
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=LinkAction.choices, blank=True)

    class Meta:
        db_table = "scheduling_reminderlink"
        indexes = [models.Index(fields=["used_at"], name="reminderlink_used_at")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(used_at__isnull=True) & Q(action="")) | (Q(used_at__isnull=False) & ~Q(action="")),
                name="reminderlink_used_has_action",
            ),
        ]

    def __str__(self) -> str:
        return f"Link of reminder #{self.reminder_id}"
