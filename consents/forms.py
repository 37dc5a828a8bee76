"""Forms of informed consent: they validate and convert; the services decide."""

from __future__ import annotations

from django import forms

from consents import rules
from consents.models import ConsentKind, ConsentVersion


class SignForm(forms.Form):
    """The patient's signature on one version: the typed full name is the legal signature; the drawing
    (a PNG data URL filled in by static/consents/signature.js) is optional."""

    typed_name = forms.CharField(
        label="Type your full name to sign",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words", "spellcheck": "false"}),
    )
    signature = forms.CharField(required=False, max_length=rules.SIGNATURE_MAX_BYTES * 2, widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label="I have read this consent, I have had the chance to ask questions, and I agree to it.",
        error_messages={"required": "Tick the box to say you have read and agree to the consent."},
    )


class DateOfBirthForm(forms.Form):
    date_of_birth = forms.DateField(
        label="Your date of birth",
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
        error_messages={"invalid": "Enter your date of birth, e.g. 01/31/1980."},
    )


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.get_kind_display()}: {obj.title}, version {obj.version_label}"


class PaperConsentForm(forms.Form):
    version = VersionChoiceField(
        label="Version printed on the paper consent",
        queryset=ConsentVersion.objects.none(),
        empty_label=None,
    )
    typed_name = forms.CharField(label="Name the patient signed with", max_length=200)
    signed_on = forms.DateField(
        label="Date on the paper consent",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%m/%d/%Y"],
    )
    scan = forms.FileField(
        label="Scanned consent (PDF, PNG or JPEG)",
        help_text=f"Up to {rules.SCAN_MAX_BYTES // (1024 * 1024)} MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def __init__(self, *args, versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["version"]
        if isinstance(field, forms.ModelChoiceField):  # always; narrows the type for mypy
            field.queryset = versions if versions is not None else ConsentVersion.objects.none()


class WithdrawForm(forms.Form):
    reason = forms.CharField(label="Why the patient withdraws their consent", max_length=300)


class LinkForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Consents to sign",
        choices=ConsentKind.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose the consents to sign."},
    )


class VersionForm(forms.Form):
    kind = forms.ChoiceField(label="Consent", choices=ConsentKind.choices)
    title = forms.CharField(max_length=160)
    version_label = forms.CharField(label="Version", max_length=40, help_text="As printed, e.g. 2026.2.")
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text="The full text the patient reads and signs. Leave a blank line between paragraphs.",
    )
    summary_of_changes = forms.CharField(
        label="What changed (for staff)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
