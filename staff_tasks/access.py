"""Who may open which task: the permission first (403 before 404), then the task's own rule
(the assignee, the role it is for, or whoever asked) and its patient's chart."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.roles import role_of
from patients.access import CLINICAL, VIEW, has_chart_perms
from staff_tasks import rules, selectors
from staff_tasks.models import Task

CHANGE = "staff_tasks.change_task"


def may_read_clinical_note(user, patient_id: int | None) -> bool:
    return has_chart_perms(user, CLINICAL, patient_id=patient_id)


def get_task_to_act_on(request, pk: int) -> Task:
    user = request.user
    if not user.has_perm(CHANGE):
        raise PermissionDenied
    task = selectors.task_for_action(pk)
    if task is None:
        raise Http404("No such task.")
    viewer = rules.Viewer(user_id=user.pk, role=role_of(user), clinical=False)
    if not rules.may_act_on(
        viewer=viewer, assignee_id=task.assignee_id, assignee_role=task.assignee_role, created_by_id=task.created_by_id
    ):
        raise PermissionDenied
    if task.patient_id is not None and not has_chart_perms(user, VIEW, patient_id=task.patient_id):
        raise PermissionDenied
    return task
