from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import AuditEvent


class AuditEventFilter(django_filters.FilterSet):
    """Filters and sort order of the audit report; sorting is allow-listed (ASVS 1.2.4)."""

    date_from = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        field_name="at", lookup_expr="date__lte", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    user = django_filters.CharFilter(field_name="actor_username", lookup_expr="iexact", label="User")
    patient = django_filters.CharFilter(field_name="patient_mrn", lookup_expr="iexact", label="Patient MRN")
    action = django_filters.CharFilter(field_name="action", lookup_expr="istartswith", label="Action starts with")
    verb = django_filters.ChoiceFilter(choices=AuditEvent.Verb.choices, label="Kind")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.Outcome.choices)
    emergency = django_filters.BooleanFilter(
        method="filter_emergency",
        label="Under emergency access",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("at", "at"),
            ("actor_username", "user"),
            ("role", "role"),
            ("patient_mrn", "patient"),
            ("action", "action"),
            ("verb", "verb"),
            ("data_category", "category"),
            ("outcome", "outcome"),
            ("under_emergency_access", "emergency"),
            ("ip_address", "ip"),
        ),
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def filter_emergency(self, queryset, name, value):
        # Rows written before the column existed carry the flag in their changes (they are append-only).
        flagged = Q(under_emergency_access=True) | Q(changes__contains={"break_glass": True})
        return queryset.filter(flagged) if value else queryset.exclude(flagged)
