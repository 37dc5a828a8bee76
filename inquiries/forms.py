"""The public inquiry form and the desk's small forms on an inquiry."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from inquiries import rules
from inquiries.models import Channel, CloseReason, Inquiry, InquiryContact, Reason, Who
from patients.forms import DateOfBirthField, TypedPhoneWidget
from prescribers.rules import CredentialError, normalise_npi
from scheduling.models import Location

# The honeypot: a field people never see nor reach by keyboard, which form-filling robots fill.
HONEYPOT = "website"


def _text(label: str, max_length: int, *, required: bool = True, autocomplete: str = "", **kwargs: Any):
    attrs: dict[str, Any] = {"maxlength": max_length}
    if autocomplete:
        attrs["autocomplete"] = autocomplete
    return forms.CharField(
        label=label, max_length=max_length, required=required, widget=forms.TextInput(attrs=attrs), **kwargs
    )


class InquiryForm(forms.Form):
    """Name, date of birth, how to reach them, why, who referred them and where: nothing clinical
    beyond the reason. What was typed is kept when a field is refused."""

    who = forms.ChoiceField(
        label="Who is filling in this form?", choices=Who.choices, initial=Who.SELF, widget=forms.RadioSelect
    )
    first_name = _text("First name", 100, autocomplete="given-name")
    last_name = _text("Last name", 100, autocomplete="family-name")
    date_of_birth = DateOfBirthField(
        label="Date of birth",
        widget=forms.TextInput(attrs={"placeholder": "MM/DD/YYYY", "autocomplete": "bday", "maxlength": 40}),
        help_text="For example 03/07/1980.",
    )
    phone = PhoneNumberField(
        label="Phone",
        required=False,
        widget=TypedPhoneWidget(attrs={"autocomplete": "tel", "maxlength": 30, "inputmode": "tel"}),
        error_messages={"invalid": "Enter a phone number we can call, for example (555) 201-0123."},
    )
    email = forms.EmailField(
        label="E-mail",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254}),
        error_messages={"invalid": "Enter an e-mail address, for example name@example.com."},
    )
    contact_by = forms.MultipleChoiceField(
        label="You may contact me by",
        choices=Channel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="About this inquiry and, if you become our patient, for appointment reminders and messages "
        "from the clinic (texts and e-mails hold no health details). We will not use any other way; "
        "tell us at any time to stop.",
    )
    reason = forms.ChoiceField(
        label="What would you like help with?",
        choices=Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose one, or “Not sure”."},
    )
    referrer_name = _text(
        "Referring provider",
        150,
        required=False,
        help_text="The clinician who referred you, if any (required when you are the referring clinician).",
    )
    referrer_npi = _text("Referring provider's NPI (optional)", 20, required=False, help_text="10 digits.")
    preferred_location = forms.ModelChoiceField(
        label="Preferred location",
        queryset=Location.objects.filter(active=True).order_by("name"),
        required=False,
        empty_label="No preference",
    )
    website = forms.CharField(required=False, label="Leave this field empty", max_length=200)

    def clean_first_name(self) -> str:
        return " ".join(self.cleaned_data["first_name"].split())

    def clean_last_name(self) -> str:
        return " ".join(self.cleaned_data["last_name"].split())

    def clean_referrer_npi(self) -> str:
        value = self.cleaned_data.get("referrer_npi", "").strip()
        if not value:
            return ""
        try:
            return normalise_npi(value)
        except CredentialError as exc:
            raise forms.ValidationError(exc.message) from exc

    def clean(self):
        super().clean()
        data = self.cleaned_data
        channels = set(data.get("contact_by") or [])
        phone, email = str(data.get("phone") or ""), data.get("email") or ""
        # Fields already refused keep their own message; the rules speak for the rest.
        if "phone" not in self.errors and "email" not in self.errors:
            for name, message in rules.contact_problems(phone=phone, email=email, channels=channels).items():
                self.add_error(name, message)
        elif not channels:
            self.add_error("contact_by", "Choose at least one way we may contact you.")
        if data.get("who") == Who.REFERRER and not (data.get("referrer_name") or "").strip():
            self.add_error("referrer_name", "Give your name as the referring provider.")
        return data

    @property
    def is_robot(self) -> bool:
        return bool((self.data.get(HONEYPOT) or "").strip())

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        channels = set(data["contact_by"])
        return {
            "who": data["who"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
            "date_of_birth": data["date_of_birth"],
            "phone": data.get("phone") or "",
            "email": data.get("email") or "",
            "contact_by_phone": Channel.PHONE in channels,
            "contact_by_sms": Channel.SMS in channels,
            "contact_by_email": Channel.EMAIL in channels,
            "reason": data["reason"],
            "referrer_name": (data.get("referrer_name") or "").strip(),
            "referrer_npi": data.get("referrer_npi") or "",
            "preferred_location": data.get("preferred_location"),
        }


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label="How", choices=Channel.choices)
    outcome = forms.ChoiceField(label="Outcome", choices=InquiryContact.Outcome.choices)
    note = forms.CharField(label="Note (optional)", required=False, max_length=300)

    def __init__(self, *args, inquiry: Inquiry, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = set(inquiry.channels)
        channel = cast(forms.ChoiceField, self.fields["channel"])
        channel.choices = [(v, label) for v, label in Channel.choices if v in allowed]


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="Status", choices=Inquiry.Status.choices)
    close_reason = forms.ChoiceField(label="Why closed", choices=[("", "—"), *CloseReason.choices], required=False)
    close_note = forms.CharField(label="Note", required=False, max_length=200)


class ConvertForm(forms.Form):
    duplicate_reason = forms.CharField(
        label="Reason to register anyway",
        required=False,
        max_length=500,
        help_text="Only when a possible match below is a different person.",
    )


class LinkForm(forms.Form):
    mrn = forms.CharField(label="MRN of the patient", max_length=12)
