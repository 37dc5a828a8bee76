"""Tasks between staff: the panel on each role's home and on the patient page, a new task,
and done / cancel (htmx swaps the row; without htmx the page comes back)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from patients.access import VIEW, get_patient_for_user, has_chart_perms
from staff_tasks import selectors, services
from staff_tasks.access import get_task_to_act_on, may_read_clinical_note
from staff_tasks.forms import CancelForm, TaskForm

VIEW_TASK, ADD_TASK = "staff_tasks.view_task", "staff_tasks.add_task"


def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


@permission_required(VIEW_TASK, raise_exception=True)
@require_GET
@audit.audited_query("staff_tasks.home_panel.viewed", AuditEvent.Category.SCHEDULING)
def home_panel(request):
    """ "My tasks", "For my role" and "Asked by me" on each role's home (loaded by htmx)."""
    clinical = may_read_clinical_note(request.user, None)
    context = selectors.home_tasks(user=request.user, now=timezone.now(), clinical=clinical)
    return render(request, "staff_tasks/_home_panel.html", {**context, "here": reverse("home")})


@permission_required(VIEW_TASK, raise_exception=True)
@require_GET
@audit.audited_query("staff_tasks.list.viewed", AuditEvent.Category.SCHEDULING)
def task_list(request):
    """Every open task for the user, their role or asked by them, 25 a page."""
    clinical = may_read_clinical_note(request.user, None)
    page = Paginator(selectors.open_tasks_for(request.user), 25).get_page(request.GET.get("page"))
    rows = selectors.task_rows(page.object_list, user=request.user, now=timezone.now(), clinical=clinical)
    return render(
        request,
        "staff_tasks/task_list.html",
        {"page": page, "rows": rows, "here": request.get_full_path(), "crumbs": [("Tasks", None)]},
    )


def _create(request, *, patient, back: str):
    clinical = may_read_clinical_note(request.user, patient.pk if patient is not None else None)
    form = TaskForm(request.POST or None, patient=patient, clinical=clinical)
    if request.method == "POST" and form.is_valid():
        arguments = form.service_arguments()
        chosen = arguments["patient"]
        if chosen is not None and not has_chart_perms(request.user, VIEW, patient_id=chosen.pk):
            # As for an MRN nobody has: whether another site's patient exists is not told.
            form.add_error("mrn", "No patient has that MRN.")
        else:
            try:
                services.task_create(by=request.user, **arguments)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "Task saved.")
                return redirect(back)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "patient": patient, "back": back, "crumbs": [("New task", None)]}
    return render(request, "staff_tasks/task_form.html", context, status=status)


@permission_required(ADD_TASK, raise_exception=True)
@require_http_methods(["GET", "POST"])
def task_new(request):
    return _create(request, patient=None, back=_next(request, reverse("home")))


@permission_required(ADD_TASK, raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_task_new(request, patient_id: int):
    patient = get_patient_for_user(request, patient_id)
    audit.record_page_opened(
        request, action="staff_tasks.new_task.opened", category=AuditEvent.Category.SCHEDULING, patient=patient
    )
    return _create(request, patient=patient, back=_next(request, reverse("patients:detail", args=[patient.pk])))


@permission_required(VIEW_TASK, raise_exception=True)
@require_GET
def patient_panel(request, patient_id: int):
    patient = get_patient_for_user(request, patient_id)
    clinical = may_read_clinical_note(request.user, patient.pk)
    tasks = selectors.patient_tasks(patient=patient)
    rows = selectors.task_rows(tasks, user=request.user, now=timezone.now(), clinical=clinical)
    services.task_list_opened(by=request.user, patient=patient)
    here = reverse("patients:detail", args=[patient.pk])
    return render(request, "staff_tasks/_patient_panel.html", {"patient": patient, "rows": rows, "here": here})


def _answer(request, task, *, error_field: str = "", error: str = ""):
    """htmx: the task's row again (with the error at its field); otherwise back to the page."""
    if request.htmx:
        task = selectors.task_for_action(task.pk)
        clinical = may_read_clinical_note(request.user, task.patient_id)
        row = selectors.task_rows([task], user=request.user, now=timezone.now(), clinical=clinical)[0]
        context = {
            "row": row,
            "here": _next(request, reverse("home")),
            "error_field": error_field,
            "error": error,
            "reason": request.POST.get("reason", ""),
        }
        return render(request, "staff_tasks/_task_row.html", context)
    if error:
        messages.error(request, error)
    return redirect(_next(request, reverse("home")))


@permission_required(services.CHANGE, raise_exception=True)
@require_POST
def task_done(request, task_id: int):
    task = get_task_to_act_on(request, task_id)
    try:
        services.task_complete(task=task, by=request.user)
    except ValidationError as exc:
        return _answer(request, task, error_field="status", error=" ".join(exc.messages))
    except PermissionDenied:
        return _answer(request, task, error_field="status", error="You may not change this task.")
    if not request.htmx:
        messages.success(request, "Task done.")
    return _answer(request, task)


@permission_required(services.CHANGE, raise_exception=True)
@require_POST
def task_cancel(request, task_id: int):
    task = get_task_to_act_on(request, task_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _answer(request, task, error_field="reason", error="Say why the task is cancelled.")
    try:
        services.task_cancel(task=task, by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        field = next(iter(exc.message_dict), "status") if hasattr(exc, "error_dict") else "status"
        return _answer(request, task, error_field=field, error=" ".join(exc.messages))
    if not request.htmx:
        messages.success(request, "Task cancelled.")
    return _answer(request, task)
