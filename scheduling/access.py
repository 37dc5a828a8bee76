"""Object access for the calendar, and the one answer to "which locations may this user see".

Staff are chain-wide (``accounts.User.chain_wide``, every location) or scoped to the locations
they are assigned to (:class:`~scheduling.models.StaffLocation`). A patient belongs to every
location where they have care (:class:`~scheduling.models.PatientLocation`, kept by triggers).
Every page about several patients narrows its rows with :func:`location_ids_for` or
:func:`patient_ids_for`; one chart's access is decided in ``patients.access``, which asks
:func:`patient_within` through the hook registered in this app's ``ready``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from patients.access import require_chart_perms
from scheduling import selectors
from scheduling.models import Appointment, PatientLocation, StaffLocation


def location_ids_for(user) -> frozenset[int] | None:
    """The ids of the locations ``user`` works at, or None for every location (chain-wide staff
    and superusers). Read once per request (kept on the request's user object)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.is_superuser or getattr(user, "chain_wide", False):
        return None
    cached = user.__dict__.get("_location_ids")
    if cached is None:
        cached = frozenset(StaffLocation.objects.filter(user_id=user.pk).values_list("location_id", flat=True))
        user.__dict__["_location_ids"] = cached
    return cached


def forget_locations(user) -> None:
    """Drop what this request's user object remembers about its locations (after assigning them)."""
    user.__dict__.pop("_location_ids", None)
    user.__dict__.pop("_patients_within", None)


def in_their_locations(user, queryset: QuerySet, *, field: str = "location_id") -> QuerySet:
    """``queryset`` narrowed to rows at ``user``'s locations (``field`` names the row's location;
    ``"pk"`` for locations themselves). Unchanged for chain-wide staff."""
    ids = location_ids_for(user)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def in_their_patients(user, queryset: QuerySet, *, field: str = "patient_id") -> QuerySet:
    """``queryset`` narrowed to rows about the patients of ``user``'s locations (``field`` names
    the row's patient). Unchanged for chain-wide staff."""
    ids = patient_ids_for(user)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def may_see_location(user, location_id: int | None) -> bool:
    ids = location_ids_for(user)
    return ids is None or location_id in ids


def patient_ids_for(user) -> QuerySet | None:
    """A subquery of the ids of the patients of ``user``'s locations, or None (every patient).

    Pages filter with ``patient_id__in=`` it: one indexed semi-join in the same statement, no
    extra query."""
    ids = location_ids_for(user)
    if ids is None:
        return None
    return PatientLocation.objects.filter(location_id__in=ids).values("patient_id")


def patient_within(user, patient_id: int) -> bool:
    """Whether ``patient_id`` has care at one of ``user``'s locations (always, for chain-wide
    staff). One indexed lookup per patient per request."""
    ids = location_ids_for(user)
    if ids is None:
        return True
    if not ids:
        return False
    known = user.__dict__.setdefault("_patients_within", {})
    if patient_id not in known:
        known[patient_id] = PatientLocation.objects.filter(patient_id=patient_id, location_id__in=ids).exists()
    return known[patient_id]


def place_registered_patient(patient, by) -> None:
    """A newly registered patient belongs to the registering user's locations, so the desk that
    registered them finds them before anything is booked. A chain-wide registrant places them
    nowhere yet (they see every patient anyway); the first booking places them."""
    ids = location_ids_for(by) if by is not None else None
    if ids:
        PatientLocation.objects.bulk_create(
            [PatientLocation(patient_id=patient.pk, location_id=pk) for pk in sorted(ids)], ignore_conflicts=True
        )


def get_appointment_for_user(request, pk: int, *, perm: str = "scheduling.view_appointment") -> Appointment:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    appointment = selectors.appointment_detail(pk)
    if appointment is None:
        raise Http404("No such appointment.")
    # Another location's patient: refused, unless a break-glass grant opens the chart (to read).
    require_chart_perms(request, perm, patient_id=appointment.patient_id)
    return appointment
