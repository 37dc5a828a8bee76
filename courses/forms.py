"""Forms of a course over months: a titration review, liver function tests, a finding's
acknowledgement, the pre-check's urinary-symptom screen and the maintenance re-screen."""

from __future__ import annotations

from typing import Any

from django import forms

from consultations import rules as screening_rules
from courses import rules
from courses.models import LiverTest, ReviewDecision, ReviewKind

YES_NO = [("", "Not recorded"), ("yes", "Yes"), ("no", "No")]


class TitrationForm(forms.Form):
    kind = forms.ChoiceField(label="Review", choices=ReviewKind.choices, widget=forms.RadioSelect)
    after_infusion = forms.IntegerField(
        label="Reviewed after infusion number", min_value=1, max_value=200, help_text="The named point of the course."
    )
    findings = forms.CharField(
        label="What the review found",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="PHQ-9 or pain scores against baseline, side effects, what the patient reports.",
    )
    decision = forms.ChoiceField(label="Decision", choices=ReviewDecision.choices, widget=forms.RadioSelect)


class LiverTestForm(forms.ModelForm):
    class Meta:
        model = LiverTest
        fields = ["taken_on", "alt", "alt_uln", "ast", "ast_uln", "laboratory"]
        widgets = {"taken_on": forms.DateInput(attrs={"type": "date"})}


class AcknowledgeForm(forms.Form):
    acknowledgement = forms.CharField(label="What was done", max_length=300)


class ReviewForm(forms.Form):
    review_reason = forms.CharField(label="Why boosters may go ahead", max_length=300)


class UrinaryScreenForm(forms.Form):
    notes = forms.CharField(label="Notes", max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in rules.URINARY_QUESTIONS:
            self.fields[name] = forms.BooleanField(label=label, required=False)
        self.order_fields([name for name, _ in rules.URINARY_QUESTIONS] + ["notes"])

    def answers(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(name)) for name, _ in rules.URINARY_QUESTIONS}


INT_FACTS = {"bp_systolic_mmhg": (40, 300), "bp_diastolic_mmhg": (20, 200)}


class RescreenForm(forms.Form):
    """The facts that change over months, as today's answers (blank: not asked again, the
    intake's answer stands), and the misuse and diversion questions."""

    def __init__(self, *args: Any, facts_asked: tuple[str, ...], base: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.facts_asked = facts_asked
        for name in facts_asked:
            label = screening_rules.FACT_LABELS[name]
            before = base.get(name)
            said = {None: "not recorded", True: "yes", False: "no"}.get(before, before)
            if name in INT_FACTS:
                low, high = INT_FACTS[name]
                self.fields[name] = forms.IntegerField(
                    label=label, required=False, min_value=low, max_value=high, help_text=f"At intake: {said}."
                )
            else:
                self.fields[name] = forms.ChoiceField(
                    label=label, choices=YES_NO, required=False, help_text=f"At intake: {said}."
                )
        for name, label in rules.MISUSE_QUESTIONS:
            self.fields[f"misuse_{name}"] = forms.BooleanField(label=label, required=False)

    def facts(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name in self.facts_asked:
            value = self.cleaned_data.get(name)
            if value in (None, ""):
                continue
            found[name] = value if name in INT_FACTS else value == "yes"
        return found

    def misuse(self) -> dict[str, bool]:
        return {name: bool(self.cleaned_data.get(f"misuse_{name}")) for name, _ in rules.MISUSE_QUESTIONS}
