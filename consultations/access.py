"""Object access for consultations and plans: one place decides who may open what.

Clinical content needs both the object permission and ``patients.view_clinical_record``;
the front desk has neither, so every clinical URL answers it 403.
"""

from __future__ import annotations

from consultations import selectors
from consultations.models import Consultation, TreatmentPlan
from patients.access import CLINICAL, get_chart_object


def get_consultation_for_user(
    request, consultation_id: int, *, perm: str = "consultations.view_consultation", detail: bool = True
) -> Consultation:
    """``detail=False`` fetches the bare row (autosave needs nothing else)."""

    def fetch():
        if detail:
            return selectors.consultation_detail(consultation_id)
        return Consultation.objects.select_related("patient").filter(pk=consultation_id).first()

    return get_chart_object(request, fetch, perm, CLINICAL, missing="No such consultation.")


def get_plan_for_user(request, plan_id: int, *, perm: str = "consultations.view_treatmentplan") -> TreatmentPlan:
    return get_chart_object(
        request, lambda: selectors.plan_detail(plan_id), perm, CLINICAL, missing="No such treatment plan."
    )
