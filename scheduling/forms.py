"""Booking forms: they turn what the front desk typed into aware instants and model objects.

Local wall times are read in the chosen location's zone (``rules.to_utc``), so a
time the clocks skip is refused at the field and one they pass twice needs a choice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from patients.models import Patient
from patients.rules import mrn_is_valid
from patients.selectors import patients_visible_to
from scheduling import rules, selectors
from scheduling.access import in_their_locations
from scheduling.models import Weekday

FOLD_HELP = "Only matters on the night the clocks go back."
FOLD_CHOICES = [
    ("", "—"),
    ("0", "The first time (before the clocks go back)"),
    ("1", "The second time (after the clocks go back)"),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__({"step": 300, **(attrs or {})}, format="%H:%M")


class ClinicianChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(obj)


class ResourceChoiceField(forms.ModelChoiceField):
    """A chair or room of the form's location only (the form narrows the queryset)."""

    default_error_messages = {
        "invalid_choice": "That chair or room is not at the chosen location; choose one of the list.",
    }

    def label_from_instance(self, obj) -> str:
        return obj.name


def chosen_pk(value) -> str:
    """A row id as typed or posted (ASCII digits of a plausible length), else "": never a value
    that int() or the database would fail on ("²" is a digit to str.isdigit())."""
    value = str(getattr(value, "pk", value) or "").strip()
    return value if value.isascii() and value.isdigit() and len(value) < 12 else ""


class LocationResourcesMixin(forms.Form):
    """Lists only the chairs and rooms of the chosen location, and refreshes them when it changes.

    A chair of another site would be refused by the booking service anyway; offering it only
    leads the front desk into that refusal.
    """

    def _limit_resources(self) -> None:
        field = cast(forms.ModelChoiceField, self.fields["resource"])
        resources = field.queryset
        locations = cast(forms.ModelChoiceField, self.fields["location"]).queryset
        if resources is None or locations is None:
            raise TypeError("The location and resource fields are declared with a queryset.")
        if (user := getattr(self, "user", None)) is not None:
            # A scoped user books at their own locations only.
            locations = in_their_locations(user, locations, field="pk")
            cast(forms.ModelChoiceField, self.fields["location"]).queryset = locations
        if self.is_bound:
            location_pk = chosen_pk(self.data.get(self.add_prefix("location")))
        else:
            location_pk = chosen_pk(self.initial.get("location"))
            if not location_pk:
                # The location select shows the first site when nothing was chosen; match it.
                first = locations.values_list("pk", flat=True).first()
                location_pk = str(first or "")
                if first:
                    self.initial["location"] = first
        field.queryset = resources.filter(location_id=location_pk) if location_pk else resources.none()
        self.fields["location"].widget.attrs.update(
            {
                "hx-get": reverse("scheduling:resource-options"),
                # The id Django renders for the resource select, whatever auto_id is (a format, True, False).
                "hx-target": f"#{resource_id}"
                if (resource_id := field.get_bound_field(self, "resource").auto_id)
                else "",
                "hx-swap": "innerHTML",
                "hx-vals": json.dumps({"empty": str(field.empty_label or "")}),
            }
        )


class FoldMixin(forms.Form):
    """The daylight-saving question is asked only when the chosen wall time happens twice."""

    ambiguous = False

    @property
    def show_fold(self) -> bool:
        return self.is_bound and (self.ambiguous or bool(self.errors.get("fold")))


def find_patient(text: str, *, user) -> Patient | None:
    """A patient by MRN or record number, within what the user may see."""
    text = (text or "").strip()
    visible = patients_visible_to(user=user)
    if text.isdigit() and len(text) < 12:
        return visible.filter(pk=int(text)).first()
    if mrn_is_valid(text):
        return visible.filter(mrn__iexact=text).first()
    return None


SERIES_MAX = 24  # appointments one series may book


class PatientMixin(forms.Form):
    """A patient field that takes a record number or MRN (search results post the number)."""

    user: User  # the form's __init__ sets it

    def clean_patient(self):
        # A typed MRN wins over a ticked search result (the user went out of the way to type it).
        text = (self.data.get("patient_mrn") or "").strip()[:20] or self.cleaned_data.get("patient", "")
        if not text:
            raise ValidationError("Choose the patient: search by name, or type the MRN.")
        patient = find_patient(text, user=self.user)
        if patient is None:
            raise ValidationError("No patient with that MRN or record number. Search by name and pick one.")
        return patient


def _fold(value: str) -> int | None:
    return int(value) if value in ("0", "1") else None


class WhenMixin(FoldMixin):
    """Turns date + local start time (+ optional end time or length) into UTC instants."""

    date_field = "date"

    def _instants(self, cleaned: dict) -> None:
        location, day, wall = cleaned.get("location"), cleaned.get(self.date_field), cleaned.get("start_time")
        if location is None or day is None or wall is None:
            return
        self.ambiguous = rules.is_ambiguous(day, wall, location.time_zone)
        fold = _fold(cleaned.get("fold", ""))
        try:
            start = rules.to_utc(day, wall, location.time_zone, fold=fold)
        except rules.NonexistentLocalTime as exc:
            self.add_error("start_time", str(exc))
            return
        except rules.AmbiguousLocalTime as exc:
            self.add_error("fold", str(exc))
            return
        cleaned["start"] = start
        cleaned["end"] = None
        end_wall = cleaned.get("end_time")
        if end_wall is not None:
            try:
                end = rules.to_utc(day, end_wall, location.time_zone, fold=fold if fold is not None else 0)
            except rules.LocalTimeError as exc:
                self.add_error("end_time", str(exc))
                return
            if end <= start:
                self.add_error("end_time", "The end must be after the start.")
                return
            cleaned["end"] = end
        elif cleaned.get("minutes"):
            cleaned["end"] = start + timedelta(minutes=cleaned["minutes"])
        if start < timezone.now():
            self.add_error(self.date_field, "That date and time have passed; new bookings must be in the future.")


class BaseBookingForm(PatientMixin, LocationResourcesMixin, WhenMixin, forms.Form):
    patient = forms.CharField(label="Patient", max_length=20, required=False)
    patient_q = forms.CharField(label="Find a patient", required=False, max_length=100)
    appointment_type = forms.ModelChoiceField(queryset=selectors.active_types(), label="Appointment type")
    location = forms.ModelChoiceField(queryset=selectors.active_locations())
    start_time = forms.TimeField(label="Start (local time)", widget=TimeInput())
    fold = forms.ChoiceField(
        label="If that time happens twice", choices=FOLD_CHOICES, required=False, help_text=FOLD_HELP
    )
    minutes = forms.IntegerField(
        label="Length (minutes)",
        required=False,
        min_value=5,
        max_value=720,
        help_text="Leave empty for the type's usual length (infusions: infusion + recovery).",
    )
    clinician = ClinicianChoiceField(queryset=selectors.clinicians(), required=False, empty_label="—")
    resource = ResourceChoiceField(
        label="Chair or room", queryset=selectors.bookable_resources(), required=False, empty_label="Any free one"
    )
    note = forms.CharField(required=False, max_length=300, label="Note for the front desk")

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self._limit_resources()


class BookingForm(BaseBookingForm):
    date = forms.DateField(widget=DateInput())
    end_time = forms.TimeField(
        label="End (local time)", required=False, widget=TimeInput(), help_text="Optional; overrides the length."
    )

    field_order = [
        "patient_q",
        "patient",
        "appointment_type",
        "location",
        "date",
        "start_time",
        "fold",
        "end_time",
        "minutes",
        "clinician",
        "resource",
        "note",
    ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        self._instants(cleaned)
        return cleaned

    def service_kwargs(self) -> dict:
        c = self.cleaned_data
        kwargs = {
            "patient": c["patient"],
            "appointment_type": c["appointment_type"],
            "location": c["location"],
            "start": c["start"],
            "resource": c.get("resource"),
            "clinician": c.get("clinician"),
            "note": c.get("note", ""),
        }
        if c.get("end"):
            kwargs["end"] = c["end"]
        return kwargs


class SeriesForm(BaseBookingForm):
    first_date = forms.DateField(label="First date", widget=DateInput())
    weekdays = forms.TypedMultipleChoiceField(
        choices=Weekday.choices,
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="e.g. Monday, Wednesday and Friday for 6 infusions over 2 weeks [S6].",
    )
    count = forms.IntegerField(label="Number of appointments", min_value=1, max_value=SERIES_MAX, initial=6)

    date_field = "first_date"
    field_order = [
        "patient_q",
        "patient",
        "appointment_type",
        "location",
        "first_date",
        "weekdays",
        "count",
        "start_time",
        "fold",
        "minutes",
        "clinician",
        "resource",
        "note",
    ]

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        location, first, wall = cleaned.get("location"), cleaned.get("first_date"), cleaned.get("start_time")
        weekdays, count = cleaned.get("weekdays"), cleaned.get("count")
        if location is None or first is None or wall is None or count is None or not weekdays:
            return cleaned
        if first < timezone.now().astimezone(location.zone).date():
            self.add_error("first_date", "The first date has passed; a series must start today or later.")
            return cleaned
        self.ambiguous = any(
            rules.is_ambiguous(o.day, wall, location.time_zone)
            for o in rules.expand_weekly(
                first_day=first, weekdays=weekdays, wall=wall, count=count, tz_name=location.time_zone, fold=0
            )
        )
        cleaned["planned"] = rules.expand_weekly(
            first_day=first,
            weekdays=weekdays,
            wall=wall,
            count=count,
            tz_name=location.time_zone,
            fold=_fold(cleaned.get("fold", "")),
        )
        return cleaned

    def minutes_value(self) -> int:
        return self.cleaned_data.get("minutes") or self.cleaned_data["appointment_type"].minutes


def parse_instant(value: str) -> datetime | None:
    """An aware instant posted back by a page we rendered (ISO 8601 with offset), or None."""
    try:
        parsed = datetime.fromisoformat((value or "").strip())
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else None


class StatusForm(forms.Form):
    to_status = forms.CharField(max_length=20)
    reason = forms.CharField(required=False, max_length=200)
    version = forms.IntegerField(required=False, min_value=1)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"list": "cancel-reasons", "autocomplete": "off"}),
        error_messages={"required": "Give a reason for the cancellation."},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class RescheduleForm(LocationResourcesMixin, WhenMixin, forms.Form):
    location = forms.ModelChoiceField(queryset=selectors.active_locations(), label="Location")
    date = forms.DateField(label="New date", widget=DateInput())
    start_time = forms.TimeField(label="New start (local time)", widget=TimeInput())
    fold = forms.ChoiceField(
        label="If that time happens twice", choices=FOLD_CHOICES, required=False, help_text=FOLD_HELP
    )
    minutes = forms.IntegerField(label="Length (minutes)", required=False, min_value=5, max_value=720)
    clinician = ClinicianChoiceField(queryset=selectors.clinicians(), required=False, empty_label="—")
    resource = ResourceChoiceField(
        label="Chair or room", queryset=selectors.bookable_resources(), required=False, empty_label="Any free one"
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_resources()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        self._instants(cleaned)
        return cleaned


class FindForm(LocationResourcesMixin, forms.Form):
    appointment_type = forms.ModelChoiceField(queryset=selectors.active_types(), label="Appointment type")
    location = forms.ModelChoiceField(queryset=selectors.active_locations())
    patient = forms.CharField(label="Patient (MRN or number)", required=False, max_length=20)
    clinician = ClinicianChoiceField(queryset=selectors.clinicians(), required=False, empty_label="Anyone")
    resource = ResourceChoiceField(
        label="Chair or room", queryset=selectors.bookable_resources(), required=False, empty_label="Any"
    )
    from_date = forms.DateField(label="From", required=False, widget=DateInput())
    minutes = forms.IntegerField(label="Length (minutes)", required=False, min_value=5, max_value=720)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self._limit_resources()

    def clean_patient(self):
        text = self.cleaned_data.get("patient", "")
        if not text:
            return None
        patient = find_patient(text, user=self.user)
        if patient is None:
            raise ValidationError("No patient with that MRN or record number.")
        return patient


# Service error keys that are not form field names.
SERVICE_FIELD_MAP = {"start": "start_time", "end": "end_time", "to_status": None}


def apply_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service refusal on the form, at the field it concerns when the form has that field."""
    for key, messages in error.message_dict.items():
        target = SERVICE_FIELD_MAP.get(key, key)
        if target == "end_time" and target not in form.fields:
            target = "minutes"
        if target not in form.fields:
            target = None
        for message in messages:
            form.add_error(target if target != NON_FIELD_ERRORS else None, message)
