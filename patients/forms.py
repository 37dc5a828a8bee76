from __future__ import annotations

from typing import cast

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Fieldset, Layout, Row
from django import forms
from django.http import QueryDict
from django.utils import timezone
from phonenumber_field.widgets import RegionalPhoneNumberWidget

from patients import rules
from patients.models import ConsentMethod, ContactLogEntry, Patient
from patients.services import CONTACT_CLOCK_SKEW, EDITABLE_FIELDS

DOB_FORMAT = "%m/%d/%Y"


class TypedPhoneWidget(RegionalPhoneNumberWidget):
    """Shows a stored number in national format, but what was typed exactly as typed
    (the library's widget would re-format an invalid entry and lose it)."""

    def format_value(self, value):
        if isinstance(value, str):
            return value
        return super().format_value(value)


def two(*names: str) -> Row:
    return Row(*(Column(name, css_class="col-md-6") for name in names))


def three(*names: str) -> Row:
    return Row(*(Column(name, css_class="col-md-4") for name in names))


class DateOfBirthField(forms.Field):
    """A date of birth typed the way people write it (03/07/1980, 3/7/80, March 7 1980, …)."""

    default_error_messages = {
        "invalid": "Enter the date of birth as MM/DD/YYYY, for example 03/07/1980.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"placeholder": "MM/DD/YYYY", "autocomplete": "off", "maxlength": 40})
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.strftime(DOB_FORMAT) if hasattr(value, "strftime") else value

    def to_python(self, value):
        text = str(value or "").strip()
        if not text:
            return None
        parsed = rules.parse_date_of_birth(text, today=timezone.localdate())
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed

    def validate(self, value):
        super().validate(value)
        if value and (problem := rules.date_of_birth_problem(value, today=timezone.localdate())):
            raise forms.ValidationError(problem, code="implausible")


def _shown(field: forms.Field, value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "strftime"):
        return value.strftime(DOB_FORMAT)
    choices = dict(getattr(field, "choices", []) or [])
    return str(choices.get(value, value) or "—")


class PatientForm(forms.ModelForm):
    """Registration and demographics. Consent times are stamped by the service, not typed."""

    date_of_birth = DateOfBirthField(label="Date of birth")
    sms_consent_method = forms.ChoiceField(
        label="How SMS consent was given", choices=[("", "—"), *ConsentMethod.choices], required=False
    )
    email_consent_method = forms.ChoiceField(
        label="How e-mail consent was given", choices=[("", "—"), *ConsentMethod.choices], required=False
    )
    duplicate_reason = forms.CharField(
        label="Reason to register anyway",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For example: “Different person: twin sister, confirmed with photo ID.”",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    class Meta:
        model = Patient
        fields = list(EDITABLE_FIELDS)
        labels = {
            "legal_first_name": "Legal first name",
            "legal_last_name": "Legal last name",
            "sms_opt_in": "Send appointment reminders by SMS",
            "email_opt_in": "Send appointment reminders by e-mail",
            "phone": "Mobile phone",
        }
        widgets = {name: TypedPhoneWidget for name in ("phone", "escort_phone", "emergency_contact_phone")}
        help_texts = {
            "preferred_name": "What the patient likes to be called, if not the legal first name.",
            "referring_provider": "Name and practice of the clinician who referred the patient.",
        }

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
        self.fields["version"].required = editing
        self.fields["version"].error_messages["required"] = "This form is out of date: reload the page."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Fieldset(
                "Name and identity",
                two("legal_last_name", "legal_first_name"),
                two("preferred_name", "date_of_birth"),
                three("sex_at_birth", "gender_identity", "pronouns"),
                "preferred_language",
            ),
            Fieldset(
                "Contact",
                two("phone", "email"),
                "address_line1",
                "address_line2",
                three("city", "state", "postal_code"),
            ),
            Fieldset(
                "Reminder consent",
                two("sms_opt_in", "sms_consent_method"),
                two("email_opt_in", "email_consent_method"),
            ),
            Fieldset(
                "Default escort / driver",
                three("escort_name", "escort_phone", "escort_relationship"),
            ),
            Fieldset(
                "Emergency contact",
                three("emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship"),
            ),
            Fieldset("Referral", "referring_provider"),
            Div("version"),
        )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if "version" in self.errors:
            # A hidden field's error would be invisible at the field.
            self.add_error(None, self.errors.pop("version"))
        for prefix, contact, missing in (
            ("sms", "phone", "SMS reminders need a phone number."),
            ("email", "email", "E-mail reminders need an e-mail address."),
        ):
            if not data.get(f"{prefix}_opt_in"):
                data[f"{prefix}_consent_method"] = ""
                continue
            if not data.get(f"{prefix}_consent_method") and f"{prefix}_consent_method" not in self.errors:
                self.add_error(f"{prefix}_consent_method", "Say how the patient gave consent.")
            if not data.get(contact) and contact not in self.errors:
                self.add_error(f"{prefix}_opt_in", missing)
        for name in ("legal_first_name", "legal_last_name"):
            if name in data and not data[name].strip():
                self.add_error(name, "This field is required.")
        return data

    def differences_from(self, current: Patient, loaded=None) -> list[tuple[str, str, str]]:
        """(label, saved now, your entry) for what changed since the form was loaded.

        With the values the editor started from (``loaded``), only the other
        person's changes are listed; without them, every field where this
        input and the saved record differ.
        """
        rows = []
        for name in EDITABLE_FIELDS:
            field = self.fields[name]
            mine, theirs = self.cleaned_data.get(name), getattr(current, name)
            before = getattr(loaded, name) if loaded is not None else mine
            if (before or "") != (theirs or ""):
                rows.append((str(field.label), _shown(field, theirs), _shown(field, mine)))
        return rows

    def rebased_on(self, current: Patient) -> PatientForm:
        """The same input, now based on ``current``'s version: saving again keeps this input."""
        data = cast(QueryDict, self.data).copy()  # the request's QueryDict (a dict in tests, which copies too)
        data["version"] = str(current.version)
        form = PatientForm(data, instance=current, editing=self.editing)
        form.is_valid()
        return form

    def service_fields(self) -> dict:
        """What the registry services take (no form-only fields)."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def _post_clean(self):
        # The services build, validate and save the model (the database checks
        # its constraints); ModelForm's own model pass would query once per constraint.
        pass


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Patient.Status.choices, label="New status")
    reason = forms.CharField(
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "e.g. moved out of state; death reported by spouse"}),
        help_text="Kept with the record and shown on the patient page.",
    )

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = rules.STATUS_TRANSITIONS.get(patient.status, frozenset())
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (v, label) for v, label in Patient.Status.choices if v in allowed
        ]


class ContactLogEntryForm(forms.ModelForm):
    at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty for now.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"],
    )

    class Meta:
        model = ContactLogEntry
        fields = ["channel", "direction", "at", "summary"]
        widgets = {"summary": forms.TextInput(attrs={"maxlength": 300})}
        help_texts = {"summary": "Short and non-clinical, e.g. “Left voicemail to confirm Tuesday's visit.”"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].initial = ContactLogEntry.Channel.PHONE
        self.fields["direction"].initial = ContactLogEntry.Direction.OUTBOUND
        # A radio-like choice without the "---------" placeholder.
        cast(forms.ChoiceField, self.fields["channel"]).choices = ContactLogEntry.Channel.choices
        cast(forms.ChoiceField, self.fields["direction"]).choices = ContactLogEntry.Direction.choices

    def clean_summary(self):
        summary = " ".join(self.cleaned_data["summary"].split())
        if not summary:
            raise forms.ValidationError("This field is required.")
        return summary

    def clean_at(self):
        at = self.cleaned_data.get("at")
        if at and at > timezone.now() + CONTACT_CLOCK_SKEW:
            raise forms.ValidationError("A contact cannot be logged in the future.")
        return at

    def _post_clean(self):
        # As above: contact_log_entry_create validates and saves.
        pass


class EmergencyAccessForm(forms.Form):
    reason = forms.CharField(
        label="What is the emergency?",
        max_length=1000,
        help_text="For example: collapsed in the waiting room, paramedics ask for medications and allergies.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    password = forms.CharField(
        label="Your password",
        help_text="Typed again to confirm it is you (ASVS 7.5.3: step-up for break-glass).",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
