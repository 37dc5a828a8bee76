"""Object access for consultations and plans: one place decides who may open what.

Clinical content needs both the object permission and ``patients.view_clinical_record``;
the front desk has neither, so every clinical URL answers it 403 (issue 4).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from consultations import selectors
from consultations.models import Consultation, TreatmentPlan

CLINICAL = "patients.view_clinical_record"


def require_clinical(request, *perms: str) -> None:
    if not all(request.user.has_perm(p) for p in (*perms, CLINICAL)):
        raise PermissionDenied


def get_consultation_for_user(
    request, consultation_id: int, *, perm: str = "consultations.view_consultation", detail: bool = True
) -> Consultation:
    """``detail=False`` fetches the bare row (autosave needs nothing else)."""
    require_clinical(request, perm)
    if detail:
        consultation = selectors.consultation_detail(consultation_id)
    else:
        consultation = Consultation.objects.select_related("patient").filter(pk=consultation_id).first()
    if consultation is None:
        raise Http404("No such consultation.")
    return consultation


def get_plan_for_user(request, plan_id: int, *, perm: str = "consultations.view_treatmentplan") -> TreatmentPlan:
    require_clinical(request, perm)
    plan = selectors.plan_detail(plan_id)
    if plan is None:
        raise Http404("No such treatment plan.")
    return plan
