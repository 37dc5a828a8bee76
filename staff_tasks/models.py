"""A task one member of staff leaves for another: a request for a prescriber, a call back,
a form to chase. Never deleted (a database trigger refuses it): a task is done or cancelled
with a reason, and every change is kept in its history (pghistory)."""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.roles import Role
from staff_tasks import rules


class TaskKind(models.TextChoices):
    PRESCRIBER_REQUEST = rules.Kind.PRESCRIBER_REQUEST, rules.KIND_LABELS[rules.Kind.PRESCRIBER_REQUEST]
    CALLBACK = rules.Kind.CALLBACK, rules.KIND_LABELS[rules.Kind.CALLBACK]
    FORM_TO_CHASE = rules.Kind.FORM_TO_CHASE, rules.KIND_LABELS[rules.Kind.FORM_TO_CHASE]
    OTHER = rules.Kind.OTHER, rules.KIND_LABELS[rules.Kind.OTHER]


class TaskStatus(models.TextChoices):
    OPEN = rules.Status.OPEN, rules.STATUS_LABELS[rules.Status.OPEN]
    DONE = rules.Status.DONE, rules.STATUS_LABELS[rules.Status.DONE]
    CANCELLED = rules.Status.CANCELLED, rules.STATUS_LABELS[rules.Status.CANCELLED]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class Task(models.Model):
    Kind = TaskKind
    Status = TaskStatus

    kind = models.CharField(max_length=20, choices=TaskKind.choices)
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="staff_tasks"
    )
    # For one person, or for whoever holds a role (exactly one of the two).
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_tasks"
    )
    assignee_role = models.CharField(max_length=20, choices=Role.choices, blank=True)
    summary = models.CharField(
        "What to do",
        max_length=200,
        help_text="Seen by whoever the task is for, the front desk included: no clinical detail here.",
    )
    clinical_note = models.TextField(
        blank=True, help_text="Only staff who may read the patient's clinical record see this."
    )
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    cancel_reason = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="task_assignee_open"),
            models.Index(fields=["assignee_role", "status", "due_at"], name="task_role_open"),
            models.Index(fields=["created_by", "status", "due_at"], name="task_creator_open"),
            models.Index(fields=["patient", "-due_at"], name="task_patient"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=TaskKind.values), name="task_kind_known"),
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_known"),
            models.CheckConstraint(
                condition=(Q(assignee__isnull=False) & Q(assignee_role=""))
                | (Q(assignee__isnull=True) & Q(assignee_role__in=Role.values)),
                name="task_one_assignee",
            ),
            models.CheckConstraint(condition=~Q(summary=""), name="task_summary_given"),
            # Open: not closed. Done: who and when. Cancelled: who, when and why.
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True, closed_by__isnull=True, cancel_reason="")
                | Q(status="done", closed_at__isnull=False, closed_by__isnull=False, cancel_reason="")
                | (Q(status="cancelled", closed_at__isnull=False, closed_by__isnull=False) & ~Q(cancel_reason="")),
                name="task_closed_complete",
            ),
        ]
        triggers = [
            pgtrigger.Protect(name="task_never_deleted", operation=pgtrigger.Delete),
            # A closed task stays as it was closed.
            pgtrigger.Protect(
                name="task_closed_fixed", operation=pgtrigger.Update, condition=~pgtrigger.Q(old__status="open")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def assignee_text(self) -> str:
        if self.assignee_id is not None:
            return str(self.assignee)
        return f"{Role(self.assignee_role).label} (anyone)" if self.assignee_role else "—"
