"""Object access for the registry: one place decides who may open which patient."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from patients.models import Patient

VIEW, CHANGE, CLINICAL = "patients.view_patient", "patients.change_patient", "patients.view_clinical_record"


def get_patient_for_user(request, pk: int, *, perm: str = VIEW) -> Patient:
    """The patient ``pk`` if ``request.user`` holds ``perm``: 403 without it, 404 if there is no such patient.

    The permission is checked first, so someone without access cannot probe which ids exist.
    """
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return get_object_or_404(Patient, pk=pk)


def can_view_clinical(user) -> bool:
    """May see clinical panels and data (clinicians, administrators; never front desk)."""
    return user.has_perm(CLINICAL)
