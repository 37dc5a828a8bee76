"""Who may open what: clinical pages need the session permission and
``patients.view_clinical_record``; the front desk has only ``view_chair_status``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from infusions.models import InfusionSession
from infusions.selectors import sessions as session_selectors
from patients.access import CLINICAL, get_chart_object, has_chart_perms

VIEW = "infusions.view_infusionsession"
CHANGE = "infusions.change_infusionsession"
CHAIRS = "infusions.view_chair_status"


def sees_sessions(user, *, patient_id: int | None) -> bool:
    """Whether the user sees clinical session detail (not only chair status) for that chart."""
    return has_chart_perms(user, VIEW, CLINICAL, patient_id=patient_id)


def require_chairs(request) -> None:
    if not request.user.has_perm(CHAIRS):
        raise PermissionDenied


def get_session_for_user(request, pk: int, *, perm: str = VIEW, detail: bool = False) -> InfusionSession:

    def fetch():
        if detail:
            return session_selectors.session_detail(pk)
        return InfusionSession.objects.select_related("patient", "plan__protocol", "appointment").filter(pk=pk).first()

    return get_chart_object(request, fetch, perm, CLINICAL, missing="No such infusion session.")
