"""The filter every report shares: a local date range, a location and a grouping."""

from __future__ import annotations

from datetime import date, timedelta
from typing import cast

from django import forms

from core.periods import PERIOD_DAY_VALIDATORS
from inquiries.models import Reason
from scheduling.access import location_ids_for
from scheduling.models import Location

MAX_RANGE_DAYS = 731  # two years: enough for year-on-year, bounded so a page stays fast
# Clinic policy (no clinical source): a cancellation this close to the start counts as late.
LATE_CANCEL_HOURS_DEFAULT = 24
# Clinic policy (no clinical source): a draft consultation older than this is overdue for signing.
UNSIGNED_DAYS_DEFAULT = 3


def default_range(today: date) -> tuple[date, date]:
    """The last 12 full ISO weeks plus the current one."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=12), today


class ReportFilterForm(forms.Form):
    start = forms.DateField(
        label="From (local date)", widget=forms.DateInput(attrs={"type": "date"}), validators=PERIOD_DAY_VALIDATORS
    )
    end = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}), validators=PERIOD_DAY_VALIDATORS
    )
    location = forms.ModelChoiceField(
        queryset=Location.objects.order_by("name"), required=False, empty_label="All locations"
    )
    period = forms.ChoiceField(choices=[("week", "Week"), ("month", "Month")], initial="week", required=False)
    late_cancel_hours = forms.IntegerField(
        label="Late cancellation: hours before start (clinic policy)",
        min_value=1,
        max_value=168,
        required=False,
        initial=LATE_CANCEL_HOURS_DEFAULT,
    )
    reason = forms.ChoiceField(label="Reason given", choices=[("", "All reasons"), *Reason.choices], required=False)
    unsigned_days = forms.IntegerField(
        label="Unsigned after N days (clinic policy)",
        min_value=0,
        max_value=365,
        required=False,
        initial=UNSIGNED_DAYS_DEFAULT,
    )

    def __init__(self, data=None, *, today: date, fields: tuple[str, ...] = (), user=None, **kwargs):
        start, end = default_range(today)
        defaults = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "period": "week",
            "late_cancel_hours": str(LATE_CANCEL_HOURS_DEFAULT),
            "unsigned_days": str(UNSIGNED_DAYS_DEFAULT),
        }
        merged = dict(defaults)
        if data:
            merged.update({k: v for k, v in data.items() if k in defaults or k in ("location", "reason")})
        ids = location_ids_for(user) if user is not None else None
        if ids is not None:
            # A user scoped to some locations reports on one of them at a time, never on "All
            # locations"; an address naming another location is refused at the field.
            theirs = list(Location.objects.filter(pk__in=ids).order_by("name").values_list("pk", flat=True))
            if not merged.get("location") and theirs:
                merged["location"] = str(theirs[0])
        super().__init__(merged, **kwargs)
        if ids is not None:
            location = cast(forms.ModelChoiceField, self.fields["location"])
            location.queryset = Location.objects.filter(pk__in=ids).order_by("name")
            location.required, location.empty_label = True, None
        for name in ("period", "late_cancel_hours", "unsigned_days", "reason"):
            if name not in fields:
                self.fields.pop(name)

    def clean(self):
        super().clean()
        data = self.cleaned_data
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days + 1 > MAX_RANGE_DAYS:
                self.add_error("end", f"Choose at most {MAX_RANGE_DAYS} days.")
        if "period" in self.fields and not data.get("period"):
            data["period"] = "week"
        for name, default in (
            ("late_cancel_hours", LATE_CANCEL_HOURS_DEFAULT),
            ("unsigned_days", UNSIGNED_DAYS_DEFAULT),
        ):
            if name in self.fields and data.get(name) is None and name not in self.errors:
                data[name] = default
        return data

    def query_string(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in self.data.items() if v not in (None, "")})


def validated(form: ReportFilterForm) -> dict | None:
    if not form.is_valid():
        return None
    data = dict(form.cleaned_data)
    data.setdefault("period", "week")
    data.setdefault("late_cancel_hours", LATE_CANCEL_HOURS_DEFAULT)
    data.setdefault("unsigned_days", UNSIGNED_DAYS_DEFAULT)
    return data


class PrepareDayForm(forms.Form):
    """The day to prepare (empty: the next day the clinic is open)."""

    day = forms.DateField(
        label="Clinic day",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter a date, for example 2026-03-14."},
    )

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_day(self):
        day = self.cleaned_data.get("day")
        if day is not None and abs((day - self.today).days) > 366:
            raise forms.ValidationError("Choose a day within a year of today.")
        return day
