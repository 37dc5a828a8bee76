"""Forms of the intake, the sign-off, amendments and the plan.

The intake is one page, one ``<form>``: the intake fields, the medication and trial
rows, and the baseline questionnaires. ``IntakeForms`` binds them together, reports
which parts validated (those are saved; the raw input of the rest stays in the draft)
and shows every error at its field.
"""

from __future__ import annotations

import copy
import re
import typing
from typing import Any, cast

from django import forms
from django.forms import inlineformset_factory

from assessments.forms import InstrumentForm, instrument_form
from assessments.instruments import INSTRUMENTS
from consultations import decisions, rules
from consultations.choices import (
    DEPRESSION_INDICATIONS,
    PAIN_INDICATIONS,
    AmendmentKind,
    AmendmentSection,
    Decision,
    HepaticSeverityChoice,
    IndicationChoice,
    PlanStatus,
    ScheduleMoment,
)
from consultations.lifecycle import ORDER_FIELDS, dose_problems
from consultations.models import (
    AntidepressantTrial,
    Consultation,
    Medication,
    Protocol,
    StandingOrder,
    TreatmentPlan,
)
from consultations.vitals import WEIGHT_UNITS, bp_pair_problem, implausible, lb_from_kg, weight_in_kg

# (key, heading, fields) in page order. Medication and trial rows render inside their section.
SECTIONS: list[tuple[str, str, list[str]]] = [
    ("referral", "Referral and presenting problem", ["referral_source", "presenting_problem"]),
    ("indications", "Indications", ["indications", "icd10_codes", "indication_other"]),
    (
        "psychiatric",
        "Psychiatric history",
        [
            "psychiatric_history",
            "antidepressant_trials_taken",
            "active_psychosis",
            "psychosis_history",
            "bipolar_or_mania",
            "on_mood_stabiliser",
        ],
    ),
    (
        "substance",
        "Substance use",
        ["substance_use", "substance_use_disorder_active", "substance_use_disorder_history", "ketamine_misuse_history"],
    ),
    (
        "medical",
        "Medical history",
        [
            "medical_history",
            "aneurysmal_vascular_disease",
            "arteriovenous_malformation",
            "intracerebral_haemorrhage_history",
            "stroke_history",
            "other_bp_rise_hazard",
            "hypertension",
            "hypertension_controlled",
            "ischaemic_heart_disease",
            "heart_failure",
            "other_cardiovascular_disease",
            "cardiovascular_disease_controlled",
            "raised_intracranial_pressure",
            "raised_intraocular_pressure",
            "hepatic_disease",
            "hepatic_severity",
            "hyperthyroidism",
            "hyperthyroidism_treated",
            "cystitis_or_urinary_symptoms",
            "childbearing_potential",
            "pregnant",
            "breastfeeding",
            "pre_eclampsia",
        ],
    ),
    (
        "medications",
        "Current medications and allergies",
        ["medications_complete", "allergies", "hypersensitivity_to_ketamine"],
    ),
    (
        "vitals",
        "Vital signs",
        [
            "bp_systolic_mmhg",
            "bp_diastolic_mmhg",
            "bp_remeasure_systolic_mmhg",
            "bp_remeasure_diastolic_mmhg",
            "heart_rate_bpm",
            "spo2_percent",
            "weight_kg",
            "height_cm",
        ],
    ),
]
INTAKE_FIELDS: list[str] = [name for _, _, names in SECTIONS for name in names]
SECTION_OF: dict[str, str] = {name: key for key, _, names in SECTIONS for name in names}

# When a question only needs an answer (hint shown beside it; the rules ask for it only then).
CONDITIONAL_HINTS = {
    "on_mood_stabiliser": "if bipolar disorder or mania",
    "hypertension_controlled": "if hypertensive",
    "cardiovascular_disease_controlled": "if ischaemic heart disease, heart failure or other cardiovascular disease",
    "hepatic_severity": "if hepatic disease",
    "hyperthyroidism_treated": "if hyperthyroidism",
    "pregnant": "if of childbearing potential",
    "breastfeeding": "if of childbearing potential",
    "pre_eclampsia": "if pregnant",
}

_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


class TriStateRadio(forms.RadioSelect):
    """Yes / No / Not recorded radios for a nullable boolean (NULL = not recorded)."""

    is_tri_state = True

    def __init__(self, attrs=None):
        attrs = {"class": "form-check-input", **(attrs or {})}
        super().__init__(attrs, choices=[("true", "Yes"), ("false", "No"), ("unknown", "Not recorded")])

    def format_value(self, value):
        mapping = {True: "true", False: "false", "true": "true", "false": "false", "True": "true", "False": "false"}
        return [mapping.get(value, "unknown")]

    def value_from_datadict(self, data, files, name):
        return data.get(name) or "unknown"


def weight_unit_field(**attrs: Any) -> forms.ChoiceField:
    """The unit selector beside a weight (stored in kg; a weight in lb is converted by
    ``vitals.weight_in_kg`` in the form's ``clean_weight_kg``), for the intake and the pre-check."""
    return forms.ChoiceField(
        label="Weight unit",
        choices=WEIGHT_UNITS,
        initial="kg",
        required=False,
        help_text="Stored in kg: a weight in lb is converted (176 lb = 79.8 kg).",
        widget=forms.Select(attrs=attrs or None),
    )


class IntakeForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    # Weight is stored in kg; a weight read in pounds is converted (not typed as kg).
    weight_unit = weight_unit_field()
    indications = forms.MultipleChoiceField(
        choices=IndicationChoice.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Consultation
        fields = INTAKE_FIELDS
        widgets = {
            "presenting_problem": forms.Textarea(attrs={"rows": 3}),
            "psychiatric_history": forms.Textarea(attrs={"rows": 3}),
            "substance_use": forms.Textarea(attrs={"rows": 2}),
            "medical_history": forms.Textarea(attrs={"rows": 2}),
            "allergies": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Validation writes cleaned values into the instance: remember what was recorded.
        self.recorded = {name: getattr(self.instance, name) for name in INTAKE_FIELDS}
        if not self.is_bound:
            self.initial["version"] = self.instance.version
        for name, field in self.fields.items():
            if isinstance(field, forms.NullBooleanField):
                field.widget = TriStateRadio()
            if name in CONDITIONAL_HINTS:
                field.help_text = f"Answer {CONDITIONAL_HINTS[name]}."
        # The model field choices, its blank read as "Not recorded" rather than a dashed placeholder.
        hepatic = cast(forms.ChoiceField, self.fields["hepatic_severity"])
        hepatic.choices = [("", "Not recorded"), *HepaticSeverityChoice.choices]
        if self.instance.weight_kg:
            self.fields[
                "weight_kg"
            ].help_text = f"Recorded {self.instance.weight_kg} kg = {lb_from_kg(self.instance.weight_kg)} lb."

    def _vital(self, name: str):
        value = self.cleaned_data.get(name)
        problem = implausible(name, value)
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_bp_systolic_mmhg(self):
        return self._vital("bp_systolic_mmhg")

    def clean_bp_diastolic_mmhg(self):
        return self._vital("bp_diastolic_mmhg")

    def clean_bp_remeasure_systolic_mmhg(self):
        return self._vital("bp_remeasure_systolic_mmhg")

    def clean_bp_remeasure_diastolic_mmhg(self):
        return self._vital("bp_remeasure_diastolic_mmhg")

    def clean_heart_rate_bpm(self):
        return self._vital("heart_rate_bpm")

    def clean_spo2_percent(self):
        return self._vital("spo2_percent")

    def clean_weight_kg(self):
        unit = self.data.get(self.add_prefix("weight_unit"), "kg")
        self.cleaned_data["weight_kg"] = weight_in_kg(self.cleaned_data.get("weight_kg"), unit)
        return self._vital("weight_kg")

    def clean_height_cm(self):
        return self._vital("height_cm")

    def clean_icd10_codes(self):
        raw = self.cleaned_data.get("icd10_codes", "")
        codes = [c.strip().upper() for c in raw.split(",") if c.strip()]
        bad = [c for c in codes if not _ICD10.match(c)]
        if bad:
            raise forms.ValidationError(
                f"Not an ICD-10 code: {', '.join(bad)}. Use the form F33.2 (letter, two characters, optional "
                "decimal part), comma-separated."
            )
        return ", ".join(codes)

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        for first, second in (
            ("bp_systolic_mmhg", "bp_diastolic_mmhg"),
            ("bp_remeasure_systolic_mmhg", "bp_remeasure_diastolic_mmhg"),
        ):
            if first in self.errors or second in self.errors:
                continue
            problem = bp_pair_problem(data.get(first), data.get(second))
            if problem:
                self.add_error(first, problem)
        if IndicationChoice.OTHER in data.get("indications", []) and not data.get("indication_other", "").strip():
            self.add_error("indication_other", "Describe the other indication.")
        return data

    def differences(self) -> list[str]:
        """Labels of the fields where the typed input differs from the record (for a conflict)."""
        out = []
        for name in INTAKE_FIELDS:
            value = self.cleaned_data.get(name) if name in self.cleaned_data else self.data.get(name)
            if name in self.errors or value != self.recorded[name]:
                out.append(str(self.fields[name].label))
        return out

    def valid_changes(self) -> dict[str, Any]:
        """Fields that validated, were posted, and differ from the record: what a save may store
        now. A field missing from the post (an older page, a hand-made request) changes nothing."""
        changes = {}
        for name in INTAKE_FIELDS:
            if name not in self.cleaned_data or name in self.errors:
                continue
            omitted = self.fields[name].widget.value_omitted_from_data(self.data, self.files, self.add_prefix(name))
            if omitted and not isinstance(self.fields[name].widget, forms.CheckboxSelectMultiple):
                continue
            if self.cleaned_data[name] != self.recorded[name]:
                changes[name] = self.cleaned_data[name]
        return changes


def _bootstrap(form: forms.BaseForm) -> None:
    """Bootstrap classes for widgets rendered by hand in table rows."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class MedicationForm(forms.ModelForm):
    class Meta:
        model = Medication
        fields = ["name", "dose", "interaction_class"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        self.fields["name"].widget.attrs["aria-label"] = "Medicine"
        self.fields["dose"].widget.attrs["aria-label"] = "Dose and frequency"
        self.fields["interaction_class"].widget.attrs["aria-label"] = "Interaction class"


class TrialForm(forms.ModelForm):
    adequate = forms.NullBooleanField(label="Adequate dose and duration", required=False, widget=TriStateRadio)

    class Meta:
        model = AntidepressantTrial
        fields = ["drug", "dose", "duration_weeks", "adequate", "response"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
        for name, label in (
            ("drug", "Drug"),
            ("dose", "Trial dose"),
            ("duration_weeks", "Weeks"),
            ("response", "Response"),
        ):
            self.fields[name].widget.attrs["aria-label"] = label


MedicationFormSet = inlineformset_factory(
    Consultation, Medication, form=MedicationForm, extra=1, can_delete=True, max_num=60, validate_max=True
)
TrialFormSet = inlineformset_factory(
    Consultation, AntidepressantTrial, form=TrialForm, extra=1, can_delete=True, max_num=40, validate_max=True
)


def child_rows(formset) -> list[dict[str, Any]]:
    """The formset as rows for the service: {"id", "delete", "data"}; blank new rows skipped.

    ``data`` holds the row's own fields only. An inline formset appends its foreign key to
    ``form._meta.fields`` (so that Django validates it), but the parent is the service's to
    set: passing it in the row as well made every new row fail with "got multiple values
    for keyword argument"."""
    own_fields = [name for name in formset.form._meta.fields if name != formset.fk.name]
    rows = []
    for form in formset.forms:
        pk = form.instance.pk
        if pk is None and not form.has_changed():
            continue
        delete = bool(formset.can_delete and form.cleaned_data.get("DELETE"))
        if pk is None and delete:
            continue
        data = {name: form.cleaned_data.get(name) for name in own_fields}
        rows.append({"id": pk, "delete": delete, "data": data})
    return rows


def baseline_codes(indications: list[str], phq9_item9: int | None) -> list[str]:
    """Questionnaires shown at intake: the required ones, then the optional clinician-entered
    depression scales (MADRS, QIDS-SR16; left blank = not administered), in a stable order."""
    required = list(decisions.required_instruments(indications, phq9_item9))
    return required + [code for code in decisions.OPTIONAL_BASELINE if code not in required]


class IntakeForms:
    """Everything on the intake page, bound together (unbound on GET)."""

    def __init__(self, consultation: Consultation, *, data=None, responses: dict | None = None) -> None:
        self.consultation = consultation
        self.data = data
        self.responses = responses or {}
        # A copy: validating a ModelForm writes the typed values into its instance, and the
        # page must keep showing (and screening) what is recorded.
        self.intake = IntakeForm(data, instance=copy.copy(consultation))
        self.medications = MedicationFormSet(data, instance=consultation, prefix="med")
        self.trials = TrialFormSet(data, instance=consultation, prefix="trial")
        self.instruments: dict[str, InstrumentForm] = {}
        self._build_instruments()

    def _phq9_item9(self) -> int | None:
        if self.data is not None:
            raw = self.data.get("phq9-item_9")
            return int(raw) if raw in {"0", "1", "2", "3"} else None
        phq9 = self.responses.get("phq9")
        return phq9.answers[8] if phq9 is not None else None

    def _indications(self) -> list[str]:
        if self.data is not None and hasattr(self.data, "getlist"):
            return [c for c in self.data.getlist("indications") if c in IndicationChoice.values]
        return list(self.consultation.indications)

    def _build_instruments(self) -> None:
        codes = baseline_codes(self._indications(), self._phq9_item9())
        # A questionnaire already recorded stays on the page even if no longer required.
        codes += [code for code in self.responses if code not in codes]
        for code in codes:
            self.instruments[code] = instrument_form(code, self.data, response=self.responses.get(code))

    @property
    def parts(self) -> list:
        return [self.intake, self.medications, self.trials, *self.instruments.values()]

    def is_valid(self) -> bool:
        return all([part.is_valid() for part in self.parts])  # list: validate every part, show every error

    def instrument_answers(self) -> dict[str, Any]:
        """Answers of each fully answered, valid questionnaire that differs from what is recorded."""
        out = {}
        for code, form in self.instruments.items():
            if not form.is_valid() or form.cleaned_data.get("answers") is None:
                continue
            answers = form.cleaned_data["answers"]
            recorded = self.responses.get(code)
            if recorded is None or recorded.answers != answers:
                out[code] = answers
        return out


class Screened(typing.Protocol):
    """What the decision form reads of a screening: a fresh ScreeningResult or one read back as stored."""

    @property
    def outcome(self) -> rules.Outcome: ...

    @property
    def findings(self) -> tuple[rules.Finding, ...]: ...


class DecisionForm(forms.Form):
    """The sign-off: decision, note, and one justification per finding that needs one."""

    decision = forms.ChoiceField(widget=forms.RadioSelect, required=False)
    decision_note = forms.CharField(
        label="Decision note", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000
    )

    def __init__(self, *args: Any, result: Screened | None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "sign")
        super().__init__(*args, **kwargs)
        self.result = result
        allowed = decisions.ALLOWED[result.outcome] if result else tuple(Decision)
        cast(forms.ChoiceField, self.fields["decision"]).choices = [(d.value, d.label) for d in allowed]
        self.findings = decisions.findings_to_justify(result.findings) if result else []
        for finding in self.findings:
            self.fields[decisions.justification_key(finding.rule_id)] = forms.CharField(
                label=f"Justification for {finding.rule_id}",
                help_text=finding.fact,
                widget=forms.Textarea(attrs={"rows": 2}),
                required=False,
                max_length=2000,
            )

    def justifications(self) -> dict[str, str]:
        return {
            f.rule_id: self.cleaned_data.get(decisions.justification_key(f.rule_id), "").strip()
            for f in self.findings
            if self.cleaned_data.get(decisions.justification_key(f.rule_id), "").strip()
        }

    def justification_fields(self) -> list[tuple[rules.Finding, forms.BoundField]]:
        return [(f, self[decisions.justification_key(f.rule_id)]) for f in self.findings]

    def show_problems(self, problems: dict[str, str]) -> None:
        for key, message in problems.items():
            self.add_error(key if key in self.fields else None, message)


class AmendmentForm(forms.Form):
    kind = forms.ChoiceField(choices=AmendmentKind.choices, widget=forms.RadioSelect, initial=AmendmentKind.AMENDS)
    section = forms.ChoiceField(choices=AmendmentSection.choices)
    reason = forms.CharField(max_length=300, help_text="Why the signed record needs this.")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=10000, label="Correction or addendum")


def default_schedule(indication: str) -> dict[str, list[str]]:
    """Suggested measurement schedule by indication; the clinician edits it on the form.
    Before each infusion and at follow-up: the baseline symptom scale(s) of the indication;
    after each infusion: CADSS-6, which the reference uses as a pre/post change score [S94]."""
    if indication in PAIN_INDICATIONS:
        core = ["nrs_pain"]
    elif indication == "ptsd":
        core = ["pcl5"]
    elif indication == "gad":
        core = ["gad7"]
    elif indication in DEPRESSION_INDICATIONS:
        core = ["phq9"]
    else:
        core = ["phq9"]
    return {"pre_infusion": core, "post_infusion": ["cadss6"], "follow_up": core}


_SCHEDULE_CHOICES = [(code, inst.name) for code, inst in INSTRUMENTS.items()]


class PlanForm(forms.ModelForm):
    pre_infusion = forms.MultipleChoiceField(
        label=ScheduleMoment.PRE_INFUSION.label,
        choices=_SCHEDULE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    post_infusion = forms.MultipleChoiceField(
        label=ScheduleMoment.POST_INFUSION.label,
        choices=_SCHEDULE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    follow_up = forms.MultipleChoiceField(
        label=ScheduleMoment.FOLLOW_UP.label,
        choices=_SCHEDULE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = TreatmentPlan
        fields = [
            "indication",
            "protocol",
            "dose",
            "infusion_minutes",
            "weight_basis",
            "max_dose_mg",
            "dose_override_reason",
            "sessions_planned",
            "sessions_per_week",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}
        labels = {"dose": "Dose (in the protocol's unit)", "sessions_per_week": "Infusions per week"}

    def __init__(self, *args: Any, consultation: Consultation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["indication"]).choices = [
            (code, IndicationChoice(code).label) for code in consultation.indications if code in IndicationChoice.values
        ]
        cast(forms.ModelChoiceField, self.fields["protocol"]).queryset = Protocol.objects.filter(active=True).order_by(
            "name"
        )
        self.fields["weight_basis"].help_text = (
            "Which weight to use is not standardised in the clinical reference (5.3): no sourced default; "
            "actual body weight unless you choose otherwise."
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        protocol: Protocol | None = data.get("protocol")
        indication = data.get("indication")
        if protocol and indication and indication not in protocol.indications:
            self.add_error("protocol", "This protocol is not for the chosen indication.")
        dose, minutes = data.get("dose"), data.get("infusion_minutes")
        if protocol and dose is not None and minutes is not None:
            problems = dose_problems(
                protocol=protocol,
                dose=dose,
                infusion_minutes=minutes,
                override_reason=data.get("dose_override_reason") or "",
            )
            for field, message in problems.items():
                self.add_error(field, message)
        data["measurement_schedule"] = {m: data.get(m, []) for m in ScheduleMoment.values}
        return data


class PlanTransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=PlanStatus.choices)
    reason = forms.CharField(max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class StandingOrderForm(forms.ModelForm):
    """A new version of the standing order: the version in force, changed where needed, and why."""

    class Meta:
        model = StandingOrder
        fields = [*ORDER_FIELDS, "reason"]
        widgets = {"prn_rescue_medications": forms.Textarea(attrs={"rows": 2})}
        labels = {"reason": "Why the order changes"}
