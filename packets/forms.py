"""Forms of the packet: the desk's send form and the patient's steps. Every field error is a
message on its field; nothing the patient types answers a 500."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from phonenumber_field.formfields import PhoneNumberField

from consultations.choices import InteractionClass
from packets import rules
from packets.models import PacketReason

YES, NO, NOT_SURE = "yes", "no", "not_sure"
ANSWER_VALUES = {YES: True, NO: False, NOT_SURE: None}
MEDICATION_ROWS = 8
CHOOSE = "Choose yes, no or not sure."


class SendForm(forms.Form):
    reason = forms.ChoiceField(
        choices=PacketReason.choices,
        initial=PacketReason.NOT_SURE,
        label="What the visit is about",
        help_text="Adds the questionnaire for that reason: post-traumatic stress (PCL-5) or pain (0–10 rating).",
    )
    appointment = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="For the consultation on", choices=()
    )

    def __init__(self, *args: Any, appointments: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.TypedChoiceField, self.fields["appointment"])
        field.choices = [("", "No booked consultation yet"), *(appointments or [])]


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


def _text(label: str, *, max_length: int, required: bool = False, autocomplete: str = "") -> forms.CharField:
    attrs = {"autocomplete": autocomplete} if autocomplete else {}
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs=attrs),
        error_messages={"max_length": f"Keep this to {max_length} characters or fewer."},
    )


class DetailsForm(forms.Form):
    preferred_name = _text("The name you like to be called (optional)", max_length=100, autocomplete="nickname")
    phone = PhoneNumberField(
        label="Mobile phone",
        required=False,
        region="US",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        error_messages={"invalid": "Enter a phone number, e.g. (555) 201-0000."},
    )
    email = forms.EmailField(
        label="E-mail",
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": "Enter an e-mail address, e.g. name@example.com."},
    )
    address_line1 = _text("Address", max_length=200, autocomplete="address-line1")
    address_line2 = _text("Address line 2 (optional)", max_length=200, autocomplete="address-line2")
    city = _text("City", max_length=100, autocomplete="address-level2")
    state = _text("State", max_length=50, autocomplete="address-level1")
    postal_code = _text("ZIP code", max_length=12, autocomplete="postal-code")
    emergency_contact_name = _text("Emergency contact: name", max_length=150, required=True)
    emergency_contact_phone = PhoneNumberField(
        label="Emergency contact: phone",
        region="US",
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
        error_messages={"invalid": "Enter a phone number, e.g. (555) 201-0000.", "required": "Enter a phone number."},
    )
    emergency_contact_relationship = _text("Emergency contact: how you know them", max_length=60)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["emergency_contact_name"].error_messages["required"] = "Enter someone we can call in an emergency."

    def cleaned_details(self) -> dict[str, str]:
        return {name: ("" if value is None else str(value)) for name, value in self.cleaned_data.items()}


class HistoryForm(forms.Form):
    """One yes / no / not sure question per fact the intake records (``questions`` from the
    intake's model), then the medicines the patient takes."""

    def __init__(self, *args: Any, questions: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        for field, label in questions:
            self.fields[f"fact_{field}"] = forms.ChoiceField(
                label=label,
                choices=[(YES, "Yes"), (NO, "No"), (NOT_SURE, "Not sure")],
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Choose yes, no or not sure.",
                    "invalid_choice": "Choose yes, no or not sure.",
                },
            )
        for n in range(1, MEDICATION_ROWS + 1):
            self.fields[f"med_{n}_name"] = _text(f"Medicine {n}: name", max_length=120)
            self.fields[f"med_{n}_dose"] = _text(f"Medicine {n}: dose and how often", max_length=120)

    def fact_fields(self) -> list[forms.BoundField]:
        return [self[f"fact_{field}"] for field, _ in self.questions]

    def medication_rows(self) -> list[tuple[int, forms.BoundField, forms.BoundField]]:
        return [(n, self[f"med_{n}_name"], self[f"med_{n}_dose"]) for n in range(1, MEDICATION_ROWS + 1)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for n in range(1, MEDICATION_ROWS + 1):
            if (data.get(f"med_{n}_dose") or "").strip() and not (data.get(f"med_{n}_name") or "").strip():
                self.add_error(f"med_{n}_name", "Enter the medicine's name, or clear its dose.")
        return data

    def answers(self) -> dict[str, bool | None]:
        return {field: ANSWER_VALUES[self.cleaned_data[f"fact_{field}"]] for field, _ in self.questions}

    def medications(self) -> list[tuple[str, str]]:
        rows = [
            (self.cleaned_data.get(f"med_{n}_name", ""), self.cleaned_data.get(f"med_{n}_dose", ""))
            for n in range(1, MEDICATION_ROWS + 1)
        ]
        return [(name, dose) for name, dose in rows if name.strip()][: rules.MAX_MEDICATIONS]


class InstructionsForm(forms.Form):
    acknowledged = forms.BooleanField(
        label="I have read these instructions and will follow them on each treatment day.",
        error_messages={"required": "Tick the box to say you have read the instructions."},
    )
    escort_name = _text("Your escort's name", max_length=150, required=True, autocomplete="off")
    escort_phone = PhoneNumberField(
        label="Your escort's phone",
        region="US",
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
        error_messages={"invalid": "Enter a phone number, e.g. (555) 201-0000.", "required": "Enter a phone number."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["escort_name"].error_messages["required"] = "Enter the name of the adult who will take you home."


class AcceptMedicationForm(forms.Form):
    interaction_class = forms.ChoiceField(choices=InteractionClass.choices, label="Interaction class")
