"""Who may touch the ledger. Views check permissions, never group names.

``manage_stock`` (administrators, or a named controlled-substance manager): receive stock,
counts, destruction, transfer, loss/theft, adjustments, reversals and every report.
``record_administration`` (clinicians): draw for a session and record waste.
The front desk has neither and sees nothing here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from controlled_substances.models import Container

MANAGE = "controlled_substances.manage_stock"
RECORD = "controlled_substances.record_administration"


def require(request, *any_of: str) -> None:
    if not any(request.user.has_perm(p) for p in any_of):
        raise PermissionDenied


def get_container(request, container_id: int, *any_of: str) -> Container:
    require(request, *(any_of or (MANAGE,)))
    container = (
        Container.objects.select_related("lot__product", "lot__supplier", "registration__location")
        .filter(pk=container_id)
        .first()
    )
    if container is None:
        raise Http404("No such container.")
    return container
