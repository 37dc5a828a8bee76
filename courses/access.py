"""Who may open what of a course: clinical staff on the patient's chart (a break-glass grant
reads it); the records' writes check their own permissions in the services."""

from __future__ import annotations

from courses.models import CourseFinding, MaintenanceRescreen
from patients.access import CLINICAL, get_chart_object

VIEW = "consultations.view_treatmentplan"


def get_finding_for_user(request, finding_id: int, *, perm: str) -> CourseFinding:
    return get_chart_object(
        request,
        lambda: CourseFinding.objects.select_related("patient").filter(pk=finding_id).first(),
        perm,
        CLINICAL,
        missing="No such finding.",
    )


def get_rescreen_for_user(request, rescreen_id: int, *, perm: str) -> MaintenanceRescreen:
    return get_chart_object(
        request,
        lambda: MaintenanceRescreen.objects.select_related("patient").filter(pk=rescreen_id).first(),
        perm,
        CLINICAL,
        missing="No such re-screen.",
    )
