"""Forms of the infusion day: convert and validate input; the services and rules judge it."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from consultations.choices import InteractionClass
from consultations.forms import weight_unit_field
from consultations.vitals import lb_from_kg, weight_in_kg
from infusions import rules
from infusions.models import (
    OPEN_OUTCOMES,
    READING_FIELDS,
    READING_LABELS,
    AdverseEventKind,
    Outcome,
    RescueDrug,
    Route,
    Severity,
)
from infusions.models.flowsheet import DOSE_UNIT_CHOICES

TRI = [("", "Not recorded"), ("yes", "Yes"), ("no", "No")]
CHAIR_PERMISSION = "infusions.change_infusionsession"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
BIG = {"class": "form-control form-control-lg"}
SELECT = {"class": "form-select form-select-lg"}


class TriStateField(forms.TypedChoiceField):
    """Yes / no / not recorded: "not recorded" stays None, never a silent "no"."""

    def __init__(self, **kwargs):
        super().__init__(
            choices=TRI,
            coerce=lambda v: {"yes": True, "no": False}.get(v),
            empty_value=None,
            required=False,
            widget=forms.Select(attrs=SELECT),
            **kwargs,
        )


def _dt(label: str, *, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs={**BIG, "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


def _int(label: str, low: int, high: int, *, required: bool = False) -> forms.IntegerField:
    """Bounds are enforced by the rules (with the plausible range in the message); the
    widget only helps the keyboard."""
    return forms.IntegerField(
        label=label, required=required, widget=forms.NumberInput(attrs={**BIG, "inputmode": "numeric"})
    )


class SessionPageForm(forms.Form):
    """A form of the session page, which shows several at once (the pre-check and the
    flowsheet both ask for a blood pressure): each form's element ids carry its own prefix,
    so every label points at its own input and no id is on the page twice."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"id_{type(self).__name__.removesuffix('Form').lower()}_%s")
        super().__init__(*args, **kwargs)


class PreCheckForm(SessionPageForm):
    last_clear_liquid_at = _dt("Last clear liquids")
    last_light_meal_at = _dt("Last light meal")
    last_fatty_meal_at = _dt("Last fatty or fried meal")
    escort_present = TriStateField(label="Escort present")
    escort_name = forms.CharField(label="Escort name", required=False, max_length=120, widget=forms.TextInput(BIG))
    escort_phone = forms.CharField(label="Escort phone", required=False, max_length=40, widget=forms.TextInput(BIG))
    childbearing_potential = TriStateField(label="Childbearing potential")
    pregnancy_test_result = forms.ChoiceField(
        label="Pregnancy test today",
        required=False,
        choices=[("", "Not done"), ("negative", "Negative"), ("positive", "Positive")],
        widget=forms.Select(attrs=SELECT),
    )
    medications_changed = TriStateField(label="Medication changes since last session")
    medication_changes = forms.CharField(
        label="What changed", required=False, widget=forms.Textarea({"rows": 2, "class": "form-control"})
    )
    new_medication_classes = forms.MultipleChoiceField(
        label="New medicines include",
        required=False,
        choices=[c for c in InteractionClass.choices if c[0] not in ("none", "lamotrigine")],
        widget=forms.CheckboxSelectMultiple,
    )
    sbp_mmhg = _int("Systolic BP (mmHg)", 50, 300)
    dbp_mmhg = _int("Diastolic BP (mmHg)", 25, 200)
    hr_bpm = _int("Heart rate (bpm)", 20, 250)
    spo2_pct = _int("SpO₂ (%)", 50, 100)
    weight_kg = forms.DecimalField(
        label="Today's weight (kg)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={**BIG, "step": "0.1", "inputmode": "decimal"}),
    )
    weight_unit = weight_unit_field(**SELECT)
    weight_change_reason = forms.CharField(
        label="Reason for a large weight change",
        required=False,
        max_length=300,
        help_text="Only when the weight differs from the last recorded one by more than the clinic's limit.",
        widget=forms.TextInput(BIG),
    )
    height_cm = forms.DecimalField(
        label="Height (cm, for ideal/adjusted weight)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.NumberInput(attrs={**BIG, "step": "0.1"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        weight = self.initial.get("weight_kg")
        if weight:
            self.fields["weight_kg"].help_text = f"Recorded {weight} kg = {lb_from_kg(weight)} lb."

    def clean_weight_kg(self):
        """A weight typed in pounds (the unit selector) is converted to kg before anything
        else reads it; the service refuses an implausible one at this field."""
        return weight_in_kg(self.cleaned_data.get("weight_kg"), self.data.get(self.add_prefix("weight_unit"), "kg"))

    def clean(self):
        super().clean()
        data = self.cleaned_data
        for name in ("last_clear_liquid_at", "last_light_meal_at", "last_fatty_meal_at"):
            if data.get(name) and data[name] > timezone.now():
                self.add_error(name, "Cannot be in the future.")
        return data


class DecisionForm(SessionPageForm):
    decision_reason = forms.CharField(
        label="Prescriber's documented decision",
        required=False,
        widget=forms.Textarea({"rows": 2, "class": "form-control"}),
    )


class DeferForm(SessionPageForm):
    reason_code = forms.ChoiceField(
        label="Deferral reason",
        choices=[("", "Choose…")] + [(c, c.replace("_", " ").capitalize()) for c in rules.DEFERRAL_REASON_CODES],
        widget=forms.Select(attrs=SELECT),
    )
    reason = forms.CharField(
        label="Details", required=False, widget=forms.Textarea({"rows": 2, "class": "form-control"})
    )


class DoseForm(SessionPageForm):
    vial_mg_per_ml = forms.TypedChoiceField(
        label="Vial concentration",
        choices=[("10", "10 mg/mL"), ("50", "50 mg/mL"), ("100", "100 mg/mL")],
        coerce=Decimal,
        widget=forms.Select(attrs=SELECT),
    )
    diluent_ml = forms.DecimalField(
        label="Diluent volume (mL)",
        min_value=Decimal(0),
        max_digits=7,
        decimal_places=2,
        widget=forms.NumberInput(attrs={**BIG, "step": "0.01", "inputmode": "decimal"}),
    )


class ReadingForm(SessionPageForm):
    """Quick vitals entry: time prefilled with now and editable; any subset of values."""

    taken_at = _dt("Time", required=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
        super().__init__(*args, **kwargs)
        for name in READING_FIELDS:
            if name == "temp_c":
                self.fields[name] = forms.DecimalField(
                    label=READING_LABELS[name],
                    required=False,
                    max_digits=4,
                    decimal_places=1,
                    widget=forms.NumberInput(attrs={**BIG, "step": "0.1", "inputmode": "decimal"}),
                )
            else:
                self.fields[name] = forms.IntegerField(
                    label=READING_LABELS[name],
                    required=False,
                    widget=forms.NumberInput(attrs={**BIG, "inputmode": "numeric"}),
                )

        # Shown once the service has asked: an extreme value is stored when confirmed.
        self.fields["confirmed"] = forms.BooleanField(label="Confirm this reading (extreme value)", required=False)
        self.needs_confirmation = False

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in READING_FIELDS}


class TransitionForm(SessionPageForm):
    to = forms.ChoiceField(choices=[(s.value, s.value) for s in rules.SessionStatus])
    reason_code = forms.CharField(required=False, max_length=30)
    reason = forms.CharField(required=False, widget=forms.Textarea({"rows": 2, "class": "form-control"}))
    container_lot = forms.CharField(
        label="Vial lot / container", required=False, max_length=60, widget=forms.TextInput(BIG)
    )
    planned_dose_delivered = forms.BooleanField(label="Planned dose delivered", required=False)


class AlertActionForm(SessionPageForm):
    action = forms.ChoiceField(
        choices=[(a, rules.ALERT_ACTION_LABELS[a]) for a in rules.ALERT_ACTIONS], widget=forms.Select(attrs=SELECT)
    )
    note = forms.CharField(label="What was done", required=False, widget=forms.TextInput(BIG))


class AdverseEventForm(SessionPageForm):
    error_aliases = {"drugs": "drug"}  # the service checks the drugs given; the form has one
    kind = forms.ChoiceField(
        label="Event", choices=[("", "Choose…"), *AdverseEventKind.choices], widget=forms.Select(attrs=SELECT)
    )
    kind_other = forms.CharField(label="Other (describe)", required=False, widget=forms.TextInput(BIG))
    severity = forms.ChoiceField(choices=[("", "Choose…"), *Severity.choices], widget=forms.Select(attrs=SELECT))
    onset_at = _dt("Onset", required=True)
    action_taken = forms.CharField(label="Action taken", widget=forms.Textarea({"rows": 2, "class": "form-control"}))
    outcome = forms.ChoiceField(choices=[("", "Choose…"), *Outcome.choices], widget=forms.Select(attrs=SELECT))
    handover_note = forms.CharField(
        label="Hand-over note (to whom, what was said)",
        required=False,
        max_length=2000,
        widget=forms.Textarea({"rows": 2, "class": "form-control"}),
    )
    drug = forms.ModelChoiceField(
        label="Rescue drug given",
        required=False,
        queryset=RescueDrug.objects.filter(active=True),
        empty_label="None",
        widget=forms.Select(attrs=SELECT),
    )
    drug_dose = forms.DecimalField(
        label="Dose given",
        required=False,
        min_value=Decimal("0.001"),
        max_digits=8,
        decimal_places=3,
        widget=forms.NumberInput(attrs={**BIG, "step": "any"}),
    )
    drug_unit = forms.ChoiceField(
        label="Unit",
        required=False,
        choices=[("", "Formulary unit"), *DOSE_UNIT_CHOICES],
        widget=forms.Select(attrs=SELECT),
    )
    drug_route = forms.ChoiceField(
        label="Route",
        required=False,
        choices=[("", "Formulary route"), *Route.choices],
        widget=forms.Select(attrs=SELECT),
    )
    drug_given_at = _dt("Given at")
    drug_given_by = forms.ModelChoiceField(
        label="Given by",
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Me (recording it)",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args, **kwargs):
        now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        kwargs.setdefault("initial", {"onset_at": now, "drug_given_at": now})
        super().__init__(*args, **kwargs)
        # The staff who work the chair (hold the infusion-day permission), by name.
        cast(forms.ModelChoiceField, self.fields["drug_given_by"]).queryset = (
            get_user_model()
            .objects.with_perm(CHAIR_PERMISSION, include_superusers=False, backend=MODEL_BACKEND)
            .filter(is_active=True)
            .order_by("last_name", "first_name", "pk")
        )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("drug"):
            for name in ("drug_dose", "drug_given_at"):
                if not data.get(name):
                    self.add_error(name, "Needed for the drug given.")
        if data.get("outcome") == Outcome.HANDED_OVER and not (data.get("handover_note") or "").strip():
            self.add_error("handover_note", "Say to whom the event was handed over and what they were told.")
        return data

    def drugs(self) -> list[dict]:
        d = self.cleaned_data
        if not d.get("drug"):
            return []
        return [
            {
                "formulary": d["drug"],
                "dose": d["drug_dose"],
                "dose_unit": d["drug_unit"],
                "route": d["drug_route"],
                "given_at": d["drug_given_at"],
                "given_by": d.get("drug_given_by"),
            }
        ]


class AdverseEventOutcomeForm(SessionPageForm):
    outcome = forms.ChoiceField(
        label="Outcome now",
        choices=[("", "Choose…"), *[c for c in Outcome.choices if c[0] not in OPEN_OUTCOMES]],
        widget=forms.Select(attrs=SELECT),
    )
    note = forms.CharField(
        label="Note (for a hand-over: to whom, what was said)",
        required=False,
        max_length=2000,
        widget=forms.Textarea({"rows": 2, "class": "form-control"}),
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("outcome") == Outcome.HANDED_OVER and not (data.get("note") or "").strip():
            self.add_error("note", "Say to whom the event was handed over and what they were told.")
        return data


class DischargeForm(SessionPageForm):
    escort_present = forms.BooleanField(label="Escort present now", required=False)
    escort_name = forms.CharField(label="Escort name", required=False, max_length=120, widget=forms.TextInput(BIG))
    escort_phone = forms.CharField(label="Escort phone", required=False, max_length=40, widget=forms.TextInput(BIG))
    instructions_given = forms.BooleanField(
        label="Discharge instructions given: no driving or machinery until the next day after sleep; "
        "who to call; crisis line 988",
        required=False,
    )


class AmendmentForm(SessionPageForm):
    kind = forms.ChoiceField(
        choices=[("amends", "Correction"), ("appends", "Addendum")], widget=forms.Select(attrs=SELECT)
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(BIG))
    text = forms.CharField(widget=forms.Textarea({"rows": 3, "class": "form-control"}))


class RateChangeForm(SessionPageForm):
    rate_ml_per_h = forms.DecimalField(
        label="New rate (mL/h)",
        min_value=Decimal(0),
        max_digits=6,
        decimal_places=1,
        widget=forms.NumberInput(attrs={**BIG, "step": "0.1", "inputmode": "decimal"}),
    )
    reason = forms.CharField(label="Why", max_length=300, widget=forms.TextInput(BIG))
    order_text = forms.CharField(
        label="Prescriber's order (only above the calculated rate)",
        max_length=300,
        required=False,
        widget=forms.TextInput(BIG),
    )
