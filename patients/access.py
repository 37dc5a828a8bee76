"""Object access for the registry: one place decides who may open which patient's chart.

Role permissions open every chart within the user's locations: chain-wide staff's every chart, a
scoped user's only those of patients with care at one of their sites (the registered location
scope, :func:`register_location_scope`; scheduling, which owns locations, registers it). A
break-glass grant (``accounts.emergency``) opens one chart, inside or outside those locations: it
answers only ``user.has_perm(perm, Chart(patient_id))`` for its own patient. So every check about
one chart goes through :func:`has_chart_perms` with that chart's patient, and a page about several
patients (a worklist, a report) passes none, is opened by role permissions alone and narrows its
rows to the user's locations itself (``scheduling.access``; :func:`patients_in_scope` here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.emergency import Chart, covers
from patients.models import Patient

VIEW, CHANGE, CLINICAL = "patients.view_patient", "patients.change_patient", "patients.view_clinical_record"


class _OfAChart(Protocol):
    @property
    def patient_id(self) -> int | None: ...


T = TypeVar("T", bound=_OfAChart)


class LocationScope(Protocol):
    """Which patients are within a user's locations (registered by the app that owns locations)."""

    def patient_within(self, user, patient_id: int) -> bool: ...

    def patient_ids_for(self, user) -> QuerySet | None: ...

    def place_registered_patient(self, patient: Patient, by) -> None: ...


_SCOPES: list[LocationScope] = []


def register_location_scope(scope: LocationScope) -> LocationScope:
    if scope not in _SCOPES:
        _SCOPES.append(scope)
    return scope


def within_locations(user, patient_id: int) -> bool:
    """Whether ``patient_id`` is a patient of one of ``user``'s locations (true for chain-wide staff)."""
    return all(scope.patient_within(user, patient_id) for scope in _SCOPES)


def patients_in_scope(user, queryset: QuerySet, *, field: str = "pk", or_none: bool = False) -> QuerySet:
    """``queryset`` narrowed to the patients of ``user``'s locations (``field`` names the patient's
    id; ``or_none``: rows about no patient stay too). Unchanged for chain-wide staff."""
    for scope in _SCOPES:
        ids = scope.patient_ids_for(user)
        if ids is not None:
            within = Q(**{f"{field}__in": ids})
            queryset = queryset.filter(within | Q(**{f"{field}__isnull": True}) if or_none else within)
    return queryset


def sees_every_location(user) -> bool:
    """Whether ``user`` sees every location's patients (chain-wide staff and superusers)."""
    return all(scope.patient_ids_for(user) is None for scope in _SCOPES)


def place_registered_patient(patient: Patient, by) -> None:
    """Record where a newly registered patient belongs (the registering desk's locations)."""
    for scope in _SCOPES:
        scope.place_registered_patient(patient, by)


def has_chart_perms(user, *perms: str, patient_id: int | None) -> bool:
    """Whether ``user`` holds every one of ``perms`` on the chart of ``patient_id``: by role within
    the user's locations, or by a break-glass grant for that chart.

    ``patient_id=None`` means a page about several patients: only role permissions count there
    (the page narrows its rows to the user's locations).
    """
    if patient_id is None:
        return all(user.has_perm(p) for p in perms)
    chart = Chart(patient_id)
    within: bool | None = None
    for p in perms:
        if user.has_perm(p):
            if within is None:
                within = within_locations(user, patient_id)
            if within:
                continue
        if not user.has_perm(p, chart):
            return False
    return True


def role_opens_but_location_closes(user, perm: str, *, patient_id: int) -> bool:
    """Whether ``user``'s role gives ``perm`` but the chart is outside their locations (the case a
    break-glass grant is for, whatever the role)."""
    return user.has_perm(perm) and not within_locations(user, patient_id)


def _writes_through_a_grant(request, perms: tuple[str, ...], patient_id: int) -> bool:
    """A request that would change a chart which only a break-glass grant opens: the role does
    not hold ``perms`` there (not at all, or not at this location). A grant reads, never writes,
    whatever the view then checks by role (a scoped nurse's role may write at their own sites)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    user = request.user
    return not (all(user.has_perm(p) for p in perms) and within_locations(user, patient_id))


def require_chart_perms(request, *perms: str, patient_id: int | None) -> None:
    if not has_chart_perms(request.user, *perms, patient_id=patient_id):
        raise PermissionDenied
    if patient_id is not None and _writes_through_a_grant(request, perms, patient_id):
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
    if obj.patient_id is not None and _writes_through_a_grant(request, perms, obj.patient_id):
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
