"""Object access for the registry: one place decides who may open which patient's chart.

Role permissions open every chart. A break-glass grant (``accounts.emergency``) opens one: it
answers only ``user.has_perm(perm, Chart(patient_id))`` for its own patient. So every check about
one chart goes through :func:`has_chart_perms` with that chart's patient, and a page about several
patients (a worklist, a report) passes none and is opened by role permissions alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.emergency import Chart, covers
from patients.models import Patient

VIEW, CHANGE, CLINICAL = "patients.view_patient", "patients.change_patient", "patients.view_clinical_record"


class _OfAChart(Protocol):
    @property
    def patient_id(self) -> int | None: ...


T = TypeVar("T", bound=_OfAChart)


def has_chart_perms(user, *perms: str, patient_id: int | None) -> bool:
    """Whether ``user`` holds every one of ``perms`` on the chart of ``patient_id``.

    ``patient_id=None`` means a page about several patients: only role permissions count there.
    """
    chart = Chart(patient_id) if patient_id is not None else None
    return all(user.has_perm(p) or (chart is not None and user.has_perm(p, chart)) for p in perms)


def require_chart_perms(request, *perms: str, patient_id: int | None) -> None:
    if not has_chart_perms(request.user, *perms, patient_id=patient_id):
        raise PermissionDenied


def require_clinical(request, *perms: str, patient_id: int | None) -> None:
    """403 unless ``perms`` and the clinical record are open on ``patient_id``'s chart (None: roles only)."""
    require_chart_perms(request, *perms, CLINICAL, patient_id=patient_id)


def may_open_a_chart(user, *perms: str) -> bool:
    """Whether ``perms`` hold on some chart: by role, or on the chart of a live break-glass grant.
    For the check made before an object (and so its patient) is read."""
    return all(user.has_perm(p) or covers(user, p) for p in perms)


def get_chart_object(request, fetch: Callable[[], T | None], *perms: str, missing: str) -> T:
    """An object of one chart (``fetch()`` returns it or None; it has ``patient_id``) named by its
    own id rather than its patient's: 403 unless ``perms`` hold on its patient's chart.

    The permission is checked before the object is read, as far as it can be: a user who holds
    ``perms`` only through a break-glass grant also gets 403, not 404, for an id that does not
    exist, so ids of other charts cannot be told apart from missing ones.
    """
    user = request.user
    if not may_open_a_chart(user, *perms):
        raise PermissionDenied
    obj = fetch()
    if obj is None:
        if all(user.has_perm(p) for p in perms):
            raise Http404(missing)
        raise PermissionDenied
    if not has_chart_perms(user, *perms, patient_id=obj.patient_id):
        raise PermissionDenied
    return obj


def get_patient_for_user(request, pk: int, *, perm: str = VIEW) -> Patient:
    """The patient ``pk`` if ``request.user`` holds ``perm``: 403 without it, 404 if there is no such patient.

    The permission is checked first, so someone without access cannot probe which ids exist.
    """
    require_chart_perms(request, perm, patient_id=pk)
    return get_object_or_404(Patient, pk=pk)


def can_view_clinical(user, *, patient_id: int | None) -> bool:
    """May see this patient's clinical panels and data (clinicians, administrators, a break-glass
    grant for this patient; never front desk otherwise). ``None``: several patients' data."""
    return has_chart_perms(user, CLINICAL, patient_id=patient_id)
