"""Forms of the follow-up note, decisions, alerts and the patient's questionnaire pages."""

from __future__ import annotations

from django import forms

from assessments.models import ResponseContext
from followups import rules
from followups.models import AlertAction, FollowUpVisit, PlanDecision

SELF_REPORT_CHOICES = [
    ("phq9", "PHQ-9 (depression)"),
    ("gad7", "GAD-7 (anxiety)"),
    ("pcl5", "PCL-5 (PTSD)"),
    ("nrs_pain", "Pain rating (NRS)"),
    ("cssrs_screen", "C-SSRS screener"),
]
if [c for c, _ in SELF_REPORT_CHOICES] != list(rules.SELF_REPORT_CODES):  # keep the form and the rule in step
    raise ImportError("SELF_REPORT_CHOICES and rules.SELF_REPORT_CODES differ")


class VisitNoteForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = FollowUpVisit
        fields = ["current_symptoms", "side_effects", "medication_changes"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in fields}


class SignForm(forms.Form):
    plan_decision = forms.ChoiceField(choices=PlanDecision.choices, widget=forms.RadioSelect)
    decision_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        help_text="Required for pause, discharge and referral (to whom).",
    )


class AmendForm(forms.Form):
    reason = forms.CharField(max_length=300)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=10000)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept: book a booster"), ("dismiss", "Dismiss")])
    reason = forms.CharField(max_length=300, required=False, help_text="Required to dismiss.")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("decision") == "dismiss" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the booster is not needed.")
        return data


class AcknowledgeForm(forms.Form):
    action = forms.ChoiceField(choices=AlertAction.choices, widget=forms.RadioSelect, label="Action taken")
    note = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SendLinkForm(forms.Form):
    codes = forms.MultipleChoiceField(
        choices=SELF_REPORT_CHOICES, widget=forms.CheckboxSelectMultiple, label="Questionnaires", initial=["phq9"]
    )
    context = forms.ChoiceField(
        choices=[(c.value, c.label) for c in ResponseContext if c != ResponseContext.BASELINE],
        initial=ResponseContext.FOLLOW_UP,
        label="For",
    )


class DateOfBirthForm(forms.Form):
    date_of_birth = forms.DateField(
        label="Your date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
        error_messages={"invalid": "Enter your date of birth, e.g. 01/31/1980."},
    )
