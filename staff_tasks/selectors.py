"""Reads of tasks: the lists on each role's home and on the patient page, each one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet

from accounts.roles import GROUP_NAMES, role_of
from patients.access import patients_in_scope
from patients.models import beyond_header
from staff_tasks import rules
from staff_tasks.models import Task

# The home shows this many open tasks at most; the rest are on the paginated list.
HOME_LIMIT = 30


@dataclass(frozen=True)
class TaskRow:
    """A task as one viewer may see it: the clinical note only when it is open to them."""

    task: Task
    overdue: bool
    may_act: bool
    clinical_note: str

    @property
    def pk(self) -> int:
        return self.task.pk


def _base() -> QuerySet[Task]:
    return Task.objects.select_related("patient", "assignee", "created_by", "closed_by").defer(
        *beyond_header("patient")
    )


def _row(task: Task, viewer: rules.Viewer, now: datetime) -> TaskRow:
    return TaskRow(
        task=task,
        overdue=rules.is_overdue(status=task.status, due_at=task.due_at, now=now),
        may_act=task.status == Task.Status.OPEN
        and rules.may_act_on(
            viewer=viewer,
            assignee_id=task.assignee_id,
            assignee_role=task.assignee_role,
            created_by_id=task.created_by_id,
        ),
        clinical_note=task.clinical_note if rules.shows_clinical_note(viewer) else "",
    )


def viewer_of(user, *, clinical: bool) -> rules.Viewer:
    return rules.Viewer(user_id=user.pk, role=role_of(user), clinical=clinical)


def open_tasks_for(user) -> QuerySet[Task]:
    """Open tasks for the user in person, for their role, or that they asked for: about a patient
    of the user's locations, or about no patient."""
    role = role_of(user)
    mine = Q(assignee=user) | Q(created_by=user)
    if role:
        mine |= Q(assignee_role=role)
    tasks = _base().filter(mine, status=Task.Status.OPEN)
    return patients_in_scope(user, tasks, field="patient_id", or_none=True).order_by("due_at", "id")


def home_tasks(*, user, now: datetime, clinical: bool, limit: int = HOME_LIMIT) -> dict:
    """The home panel: "My tasks", "For my role" and "Asked by me", open ones only, soonest due
    first. One query (at most ``limit`` + 1 rows, so the panel says when there are more)."""
    viewer = viewer_of(user, clinical=clinical)
    rows = [_row(t, viewer, now) for t in open_tasks_for(user)[: limit + 1]]
    more = len(rows) > limit
    rows = rows[:limit]
    mine = [r for r in rows if r.task.assignee_id == user.pk]
    for_role = [r for r in rows if r.task.assignee_id is None and r.task.assignee_role == viewer.role]
    shown = {r.pk for r in mine + for_role}
    asked = [r for r in rows if r.pk not in shown]
    return {
        "my_tasks": mine,
        "role_tasks": for_role,
        "asked_tasks": asked,
        "more_tasks": more,
        "overdue_count": sum(r.overdue for r in mine + for_role),
    }


def task_rows(tasks, *, user, now: datetime, clinical: bool) -> list[TaskRow]:
    viewer = viewer_of(user, clinical=clinical)
    return [_row(t, viewer, now) for t in tasks]


def patient_tasks(*, patient, limit: int = 20) -> list[Task]:
    """The patient's open tasks (soonest first) then the most recently closed ones. One query."""
    return list(
        _base()
        .filter(patient=patient)
        # Open ones (never closed) first, then the most recently closed.
        .order_by(F("closed_at").desc(nulls_first=True), "due_at", "id")[:limit]
    )


def task_for_action(pk: int) -> Task | None:
    return _base().filter(pk=pk).first()


def assignable_users() -> QuerySet:
    """Active staff in a role: the people a task can be left for."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=list(GROUP_NAMES.values()))
        .distinct()
        .order_by("last_name", "first_name", "id")
    )
