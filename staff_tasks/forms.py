from __future__ import annotations

from datetime import datetime
from typing import cast

from django import forms
from django.utils import timezone

from accounts.roles import Role
from patients.models import Patient
from staff_tasks import rules
from staff_tasks.models import Task
from staff_tasks.selectors import assignable_users

WALL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


class ClinicDateTimeField(forms.Field):
    """A date and time typed in the clinic's time zone, stored as a UTC instant."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {"invalid": "Enter a date and time, for example 2026-03-14 15:30."}

    def prepare_value(self, value):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")
        return value

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        for fmt in WALL_FORMATS:
            try:
                wall = datetime.strptime(text, fmt)  # noqa: DTZ007 - a wall time, read in the clinic's zone below
            except ValueError:
                continue
            try:
                return rules.due_at_utc(wall, timezone.get_current_timezone_name())
            except rules.LocalTimeProblem as exc:
                raise forms.ValidationError(str(exc), code="nonexistent") from exc
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class TaskForm(forms.Form):
    """A new task. The front desk gets no clinical-note field; ``patient`` is fixed when the task
    is created from the patient's page, else an optional MRN names one."""

    kind = forms.ChoiceField(label="Kind", choices=[("", "Choose…"), *Task.Kind.choices])
    assignee = forms.ChoiceField(label="For")
    summary = forms.CharField(
        label="What to do",
        max_length=200,
        help_text="Whoever the task is for sees this line, the front desk included: no clinical detail.",
    )
    due_at = ClinicDateTimeField(label="Due")
    mrn = forms.CharField(label="Patient MRN (optional)", max_length=20, required=False)
    clinical_note = forms.CharField(
        label="Clinical note (clinicians only)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
        help_text="Only staff who may read the patient's clinical record see this.",
    )

    def __init__(self, *args, patient=None, clinical: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient
        users = [(f"user:{u.pk}", str(u)) for u in assignable_users()]
        roles = [(f"role:{value}", f"{label} (anyone)") for value, label in Role.choices]
        assignee = cast(forms.ChoiceField, self.fields["assignee"])
        assignee.choices = [("", "Choose…"), ("Roles", roles), ("People", users)]
        if patient is not None:
            del self.fields["mrn"]
        if not clinical:
            del self.fields["clinical_note"]

    def clean_due_at(self):
        due_at = self.cleaned_data["due_at"]
        problem = rules.due_problem(due_at, now=timezone.now())
        if problem:
            raise forms.ValidationError(problem)
        return due_at

    def clean_mrn(self):
        mrn = self.cleaned_data.get("mrn", "").strip().upper()
        if not mrn:
            return None
        patient = Patient.objects.filter(mrn=mrn).only(*("id", "mrn", "status")).first()
        if patient is None:
            raise forms.ValidationError("No patient has that MRN.")
        return patient

    def clean_assignee(self):
        value = self.cleaned_data["assignee"]
        kind, _, key = value.partition(":")
        if kind == "role":
            return {"assignee": None, "assignee_role": key}
        user = assignable_users().filter(pk=int(key)).first() if key.isdigit() else None
        if user is None:
            raise forms.ValidationError("Choose one person or one role.")
        return {"assignee": user, "assignee_role": ""}

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "summary": data["summary"],
            "due_at": data["due_at"],
            "patient": self.patient if self.patient is not None else data.get("mrn"),
            "clinical_note": data.get("clinical_note", ""),
            **data["assignee"],
        }


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why cancel?", max_length=200)
