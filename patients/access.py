"""Object access for the registry: one place decides who may open which patient."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from patients.models import Patient


def get_patient_for_user(request, pk: int, *, perm: str = "patients.view_patient") -> Patient:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    return get_object_or_404(Patient, pk=pk)
