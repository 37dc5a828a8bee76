"""Reads from the registry: query shape and search live here."""

from __future__ import annotations

from django.db.models import QuerySet

from patients.models import Patient


def patients_visible_to(*, user, search: str = "") -> QuerySet[Patient]:
    # Every role that can see the registry sees the whole clinic's registry;
    # per-location scoping arrives with multi-clinic access rules.
    queryset = Patient.objects.all()
    search = search.strip()
    if search:
        from patients.search import search_patients

        queryset = search_patients(queryset, search)
    return queryset
