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
from scheduling.access import may_see_location

MANAGE = "controlled_substances.manage_stock"
RECORD = "controlled_substances.record_administration"


def handles_drug(user) -> bool:
    """Whether the user may draw or waste ketamine for a patient: ``record_administration``
    granted to them or their role, and the clinical record. A superuser's blanket grant does
    not count here: an administrator manages stock but never handles a patient's dose."""
    from django.contrib.auth.models import Permission
    from django.db.models import Q

    if not (user.is_active and user.has_perm("patients.view_clinical_record")):
        return False
    app_label, codename = RECORD.split(".")
    return (
        Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        .filter(Q(group__user=user) | Q(user=user))
        .exists()
    )


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
    require_their_location(request, container.registration.location_id)
    return container


def require_their_location(request, location_id: int | None) -> None:
    """403 for another location's ledger (a container, a count, an entry or a loss there): its
    ledger names that location's patients. Every location's for chain-wide staff."""
    if not may_see_location(request.user, location_id):
        raise PermissionDenied
