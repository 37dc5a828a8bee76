"""Stored administrations of the validated instruments in ``assessments.instruments``.

A response is a clinical document: once saved it never changes (a database trigger
refuses UPDATE and DELETE). A correction is a new response that ``supersedes`` the
old one and says why; the current answer is the one nothing supersedes. Totals, bands
and flags are computed only by ``assessments.services.response_record`` through
``instruments.score``, so every stage stores what the pure scorer says.

The optional ``subject`` link (content type + id) ties a response to what it was
administered for (an intake consultation, an infusion session, a follow-up) without
this cross-stage app importing any stage app.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from assessments.instruments import INSTRUMENTS
from core.triggers import append_only


class ResponseContext(models.TextChoices):
    BASELINE = "baseline", "Baseline (intake)"
    PRE_INFUSION = "pre_infusion", "Before an infusion"
    POST_INFUSION = "post_infusion", "After an infusion"
    FOLLOW_UP = "follow_up", "Follow-up"


class ResponseSource(models.TextChoices):
    CLINICIAN = "clinician", "Entered by a clinician"
    PATIENT = "patient", "Entered by the patient"


INSTRUMENT_CHOICES = [(code, inst.name) for code, inst in INSTRUMENTS.items()]


# Insert events only: the row itself is immutable, so there is nothing else to track.
@pghistory.track(pghistory.InsertEvent())
class InstrumentResponse(models.Model):
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="instrument_responses")
    instrument = models.CharField(max_length=20, choices=INSTRUMENT_CHOICES)
    instrument_version = models.CharField(max_length=10)
    # Items in published order (ints), or for the C-SSRS screener a mapping of key → bool.
    answers = models.JSONField()
    total = models.SmallIntegerField()
    band = models.CharField(max_length=30, blank=True)
    flags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    context = models.CharField(max_length=20, choices=ResponseContext.choices)
    source = models.CharField(max_length=10, choices=ResponseSource.choices, default=ResponseSource.CLINICIAN)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    administered_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    subject_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    correction_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-administered_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "instrument", "-administered_at"], name="response_patient_instrument"),
            models.Index(fields=["subject_type", "subject_id"], name="response_subject"),
            # "Scores in the last 30 days" (the worklist's worsened PHQ-9s) stays a range scan as the
            # years of scores pile up.
            models.Index(fields=["instrument", "administered_at"], name="response_instrument_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(context__in=ResponseContext.values), name="instrumentresponse_context_known"
            ),
            models.CheckConstraint(
                condition=Q(source__in=ResponseSource.values), name="instrumentresponse_source_known"
            ),
            models.CheckConstraint(
                condition=Q(instrument__in=list(INSTRUMENTS)), name="instrumentresponse_instrument_known"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="instrumentresponse_total_not_negative"),
            # A correction always says why; an original never pretends to be one.
            models.CheckConstraint(
                condition=Q(supersedes__isnull=True, correction_reason="")
                | (Q(supersedes__isnull=False) & ~Q(correction_reason="")),
                name="instrumentresponse_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(subject_type__isnull=True, subject_id__isnull=True)
                | Q(subject_type__isnull=False, subject_id__isnull=False),
                name="instrumentresponse_subject_complete",
            ),
            models.CheckConstraint(
                condition=Q(source=ResponseSource.PATIENT) | Q(entered_by__isnull=False),
                name="instrumentresponse_clinician_entry_has_author",
            ),
        ]
        triggers = [
            append_only("instrumentresponse_append_only"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total} ({self.get_context_display()})"

    @property
    def definition(self):
        return INSTRUMENTS[self.instrument]

    @property
    def short_name(self) -> str:
        name = self.definition.name
        return name[name.rfind("(") + 1 : -1] if name.endswith(")") else name

    def item_rows(self) -> list[tuple[int, str, object, str]]:
        """(number, item text, value, answer label) for display, in published order."""
        inst = self.definition
        if inst.answer_keys:
            return [
                (n, text, self.answers.get(key), "Yes" if self.answers.get(key) else "No")
                for n, (key, text) in enumerate(zip(inst.answer_keys, inst.items, strict=True), start=1)
            ]
        rows = []
        for n, (text, value) in enumerate(zip(inst.items, self.answers, strict=False), start=1):
            labels = inst.item_answer_labels[n - 1] if inst.item_answer_labels else inst.answer_labels
            label = labels[value] if labels and 0 <= value < len(labels) else ""
            rows.append((n, text, value, label))
        return rows
