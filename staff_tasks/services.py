"""Every write to a task: keyword-only, atomic, validated with messages keyed by field, audited.

The history of each change (who, from what to what) is kept by pghistory's triggers on
``Task``; the audit trail records the action, never the free-text note.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent, User
from accounts.roles import CLINICAL_ROLES, Role, role_of
from patients.access import has_chart_perms
from staff_tasks import rules
from staff_tasks.models import Task

ADD, CHANGE = "staff_tasks.add_task", "staff_tasks.change_task"
CLINICAL = "patients.view_clinical_record"
CATEGORY = AuditEvent.Category.SCHEDULING


def _may_write_clinical_note(by: User, patient) -> bool:
    return role_of(by) in CLINICAL_ROLES and has_chart_perms(
        by, CLINICAL, patient_id=patient.pk if patient is not None else None
    )


@transaction.atomic(durable=True)
def task_create(
    *,
    by: User,
    kind: str,
    summary: str,
    due_at: datetime | None,
    assignee=None,
    assignee_role: str = "",
    patient=None,
    clinical_note: str = "",
    now: datetime | None = None,
) -> Task:
    """Leave a task for one person or for a role, optionally about one patient."""
    if not by.has_perm(ADD):
        raise PermissionDenied
    now = now or timezone.now()
    problems: dict[str, str] = {}
    if kind not in Task.Kind.values:
        problems["kind"] = "Choose what kind of task this is."
    summary = (summary or "").strip()
    if not summary:
        problems["summary"] = "Say what is to be done."
    if (assignee is None) == (not assignee_role) or assignee_role and assignee_role not in Role.values:
        problems["assignee"] = "Choose one person or one role."
    elif assignee is not None and (not assignee.is_active or not role_of(assignee)):
        problems["assignee"] = "That person cannot take tasks (no role, or their account is closed)."
    if due_at is None:
        problems["due_at"] = "Give a due date and time."
    else:
        problem = rules.due_problem(due_at, now=now)
        if problem:
            problems["due_at"] = problem
    clinical_note = (clinical_note or "").strip()
    if clinical_note and not _may_write_clinical_note(by, patient):
        problems["clinical_note"] = "Only clinical staff who may read this chart write a clinical note."
    if patient is not None and not patient.is_active:
        problems["patient"] = "This patient is no longer active."
    if problems or due_at is None:  # a missing due time is among the problems
        raise ValidationError(problems)
    task = Task.objects.create(
        kind=kind,
        summary=summary,
        due_at=due_at,
        assignee=assignee,
        assignee_role=assignee_role,
        patient=patient,
        clinical_note=clinical_note,
        created_by=by,
    )
    audit.record(
        actor=by,
        action="staff_tasks.task.created",
        verb=AuditEvent.Verb.CREATE,
        category=CATEGORY,
        target=task,
        patient=patient,
        changes=_facts(task),
    )
    return task


def _facts(task: Task) -> dict[str, Any]:
    return {
        "kind": task.kind,
        "assignee": task.assignee_id,
        "assignee_role": task.assignee_role,
        "due_at": task.due_at,
        "clinical_note": bool(task.clinical_note),
    }


def _lock_open(task: Task, by: User) -> Task:
    if not by.has_perm(CHANGE):
        raise PermissionDenied
    locked = Task.objects.select_for_update(of=("self",)).select_related("patient").get(pk=task.pk)
    viewer = rules.Viewer(user_id=by.pk, role=role_of(by), clinical=False)
    if not rules.may_act_on(
        viewer=viewer,
        assignee_id=locked.assignee_id,
        assignee_role=locked.assignee_role,
        created_by_id=locked.created_by_id,
    ):
        raise PermissionDenied
    if locked.status != Task.Status.OPEN:
        raise ValidationError(
            {"status": f"This task is already {Task.Status(locked.status).label.lower()}; nothing to change."}
        )
    return locked


def _close(locked: Task, *, by: User, status: str, reason: str = "") -> Task:
    locked.status = status
    locked.cancel_reason = reason
    locked.closed_at = timezone.now()
    locked.closed_by = by
    locked.save(update_fields=["status", "cancel_reason", "closed_at", "closed_by"])
    audit.record(
        actor=by,
        action=f"staff_tasks.task.{'completed' if status == Task.Status.DONE else 'cancelled'}",
        verb=AuditEvent.Verb.UPDATE,
        category=CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": [Task.Status.OPEN.value, status], **({"cancel_reason": reason} if reason else {})},
    )
    return locked


@transaction.atomic(durable=True)
def task_complete(*, task: Task, by: User) -> Task:
    """Mark a task done (the assignee, anyone in its role, or whoever asked)."""
    locked = _lock_open(task, by)
    return _close(locked, by=by, status=Task.Status.DONE)


@transaction.atomic(durable=True)
def task_cancel(*, task: Task, by: User, reason: str) -> Task:
    """Cancel a task with a reason; it stays on record (a task is never deleted)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the task is cancelled."})
    if len(reason) > 200:
        raise ValidationError({"reason": "Keep the reason under 200 characters."})
    locked = _lock_open(task, by)
    return _close(locked, by=by, status=Task.Status.CANCELLED, reason=reason)


def task_list_opened(*, by: User, patient) -> None:
    """A patient's tasks name the patient and what staff are doing for them: a read of the chart."""
    audit.record_read(
        actor=by, action="staff_tasks.patient_tasks.viewed", target=patient, patient=patient, category=CATEGORY
    )
