from __future__ import annotations

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accounts import audit
from accounts.models import AuditEvent, User


def _clinic_midnight(day) -> datetime:
    """The instant the clinic's day ``day`` starts (clinic time zone, DST-aware), in UTC on the wire."""
    return timezone.make_aware(datetime.combine(day, time.min))


class AuditEventFilter(django_filters.FilterSet):
    """Filters of the audit report, each compiled to a condition an index of the trail serves.

    At millions of rows a filter that wraps the column (``UPPER(...)``, ``(at AT TIME ZONE ...)::date``)
    reads the whole table. So the clinic's dates become a UTC range on ``at``, a user name and an
    MRN are looked up first (exact) and the trail filtered by id, and an action is a case-sensitive
    prefix the pattern index answers. Only chronological order is offered (allow-listed, ASVS 1.2.4):
    a sort on another column would sort the whole filtered trail for every page.
    """

    date_from = django_filters.DateFilter(
        method="filter_date_from", label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to", label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    user = django_filters.CharFilter(method="filter_user", label="User")
    patient = django_filters.CharFilter(method="filter_patient", label="Patient MRN")
    action = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", label="Action starts with (case matters)"
    )
    verb = django_filters.ChoiceFilter(choices=AuditEvent.Verb.choices, label="Kind")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.Outcome.choices)
    emergency = django_filters.BooleanFilter(
        method="filter_emergency",
        label="Under emergency access",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )
    sort = django_filters.OrderingFilter(fields=(("at", "at"),))

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def fields_html(self) -> SafeString:
        """The filter fields (all but the sort) as Bootstrap markup, written here: rendered through
        crispy-forms' and then Django's widget templates they were about a third of the report's
        time. Every value is escaped; the markup is a constant."""
        form = self.form
        data = form.data if self.is_bound else {}
        cells = []
        for field in form:
            if field.name == "sort":
                continue
            widget, name, value = field.field.widget, field.name, str(data.get(field.name, "") or "")
            invalid = " is-invalid" if self.is_bound and field.errors else ""
            if isinstance(widget, forms.Select):
                options = format_html_join(
                    "",
                    '<option value="{}"{}>{}</option>',
                    ((key, " selected" if str(key) == value else "", label) for key, label in widget.choices),
                )
                control = format_html(
                    '<select name="{}" id="{}" class="form-select{}">{}</select>', name, field.auto_id, invalid, options
                )
            else:
                kind = widget.input_type if isinstance(widget, forms.widgets.Input) else "text"
                control = format_html(
                    '<input type="{}" name="{}" id="{}" value="{}" class="form-control{}">',
                    kind,
                    name,
                    field.auto_id,
                    value,
                    invalid,
                )
            errors = format_html('<div class="invalid-feedback">{}</div>', " ".join(field.errors)) if invalid else ""
            cells.append(
                format_html(
                    '<div class="col-sm-6 col-lg-3 mb-3"><label class="form-label" for="{}">{}</label>{}{}</div>',
                    field.auto_id,
                    field.label,
                    control,
                    errors,
                )
            )
        return format_html_join("", "{}", ((cell,) for cell in cells))

    def filter_date_from(self, queryset, name, value):
        try:
            return queryset.filter(at__gte=_clinic_midnight(value))
        except OverflowError:  # a first day before any instant there is: no lower bound
            return queryset

    def filter_date_to(self, queryset, name, value):
        try:
            return queryset.filter(at__lt=_clinic_midnight(value + timedelta(days=1)))
        except OverflowError:  # the last day there is (9999-12-31): no upper bound
            return queryset

    def filter_user(self, queryset, name, value):
        # The staff list is small; the trail is filtered by the account's id, so an account renamed
        # since still shows its earlier rows. Usernames are matched as typed, then without case.
        wanted = value.strip()
        ids = list(User.objects.filter(username=wanted).values_list("pk", flat=True)) or list(
            User.objects.filter(username__iexact=wanted).values_list("pk", flat=True)
        )
        return queryset.filter(actor_id__in=ids) if ids else queryset.none()

    def filter_patient(self, queryset, name, value):
        ids = audit.patient_ids_for_mrn(value.strip())
        if ids is None:  # no registry app loaded the lookup: match the stored MRN as typed
            return queryset.filter(patient_mrn=value.strip())
        return queryset.filter(patient_id__in=ids) if ids else queryset.none()

    def filter_emergency(self, queryset, name, value):
        # Rows written before the column existed carry the flag in their changes (they are append-only).
        flagged = Q(under_emergency_access=True) | Q(changes__contains={"break_glass": True})
        return queryset.filter(flagged) if value else queryset.exclude(flagged)
