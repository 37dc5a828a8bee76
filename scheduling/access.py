"""Object access for the calendar: one place decides who may open which appointment."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from scheduling import selectors
from scheduling.models import Appointment


def get_appointment_for_user(request, pk: int, *, perm: str = "scheduling.view_appointment") -> Appointment:
    # Every role that sees the calendar sees the whole clinic's calendar; per-location
    # scoping arrives with multi-clinic access rules (as for the registry).
    if not request.user.has_perm(perm):
        raise PermissionDenied
    appointment = selectors.appointment_detail(pk)
    if appointment is None:
        raise Http404("No such appointment.")
    return appointment
