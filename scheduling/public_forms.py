"""Forms of the patient's booking pages (no sign-in): what a phone posts, checked before a service sees it."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from django import forms
from django.utils import timezone

from scheduling.models import AppointmentType, Location


class DateOfBirthForm(forms.Form):
    date_of_birth = forms.DateField(
        label="Your date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
        error_messages={
            "invalid": "Enter your date of birth, e.g. 01/31/1980.",
            "required": "Enter your date of birth.",
        },
    )


def slot_value(start: datetime, clinician_id: int | None) -> str:
    """How a slot travels in the page's radio buttons: its instant and the clinician offered."""
    return f"{start.isoformat()}|{clinician_id or ''}"


class SlotForm(forms.Form):
    """The slot the patient picked, as ``slot_value`` wrote it (anything else is refused)."""

    slot = forms.CharField(max_length=60, error_messages={"required": "Choose a time."})

    def clean_slot(self) -> tuple[datetime, int | None]:
        raw = self.cleaned_data["slot"]
        when, _, who = raw.partition("|")
        try:
            start = datetime.fromisoformat(when)
        except ValueError:
            raise forms.ValidationError("Choose one of the times listed.") from None
        if timezone.is_naive(start) or not (who == "" or (who.isascii() and who.isdigit() and len(who) < 10)):
            raise forms.ValidationError("Choose one of the times listed.")
        return start, int(who) if who else None


class ChoiceForm(forms.Form):
    """Which kind of visit, where, and from which day the times are listed (a GET form)."""

    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.none(), label="Kind of visit", empty_label=None
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Where", empty_label=None)
    start_from = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
    )

    def __init__(self, *args, types=None, locations=None, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["appointment_type"]).queryset = types
        cast(forms.ModelChoiceField, self.fields["location"]).queryset = locations


class WaitlistForm(ChoiceForm):
    """The patient (or the desk) asks to be told of an earlier slot, optionally before a date."""

    start_from = None  # type: ignore[assignment]  # a waitlist entry has no "from"
    before = forms.DateField(
        label="I would like a time before (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
    )
