"""Who may open what: clinical pages need the session permission and
``patients.view_clinical_record``; the front desk has only ``view_chair_status``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from infusions.models import InfusionSession
from infusions.selectors import sessions as session_selectors

CLINICAL = "patients.view_clinical_record"
VIEW = "infusions.view_infusionsession"
CHANGE = "infusions.change_infusionsession"
CHAIRS = "infusions.view_chair_status"


def require_clinical(request, *perms: str) -> None:
    if not all(request.user.has_perm(p) for p in (*perms, CLINICAL)):
        raise PermissionDenied


def require_chairs(request) -> None:
    if not request.user.has_perm(CHAIRS):
        raise PermissionDenied


def get_session_for_user(request, pk: int, *, perm: str = VIEW, detail: bool = False) -> InfusionSession:
    require_clinical(request, perm)
    if detail:
        session = session_selectors.session_detail(pk)
    else:
        session = (
            InfusionSession.objects.select_related("patient", "plan__protocol", "appointment").filter(pk=pk).first()
        )
    if session is None:
        raise Http404("No such infusion session.")
    return session
