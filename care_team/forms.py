from __future__ import annotations

from django import forms

from care_team.models import CareRelationship, OutsideProvider, ProgressLetter, ProviderRole, SharingScope
from scheduling.selectors.availability import active_locations, clinicians


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=120)
    role = forms.ChoiceField(label="Kind of clinician", choices=ProviderRole.choices)
    npi = forms.CharField(
        label="NPI", max_length=20, required=False, help_text="Ten digits; the check digit is verified."
    )
    practice = forms.CharField(max_length=200, required=False)
    phone = forms.CharField(max_length=40, required=False)
    secure_fax = forms.CharField(label="Secure fax", max_length=40, required=False)
    secure_email = forms.CharField(
        label="Secure e-mail",
        max_length=254,
        required=False,
        help_text="Kept for staff to use by hand; the application never sends anything to it.",
    )

    @classmethod
    def for_provider(cls, provider: OutsideProvider, data=None) -> ProviderForm:
        initial = {name: getattr(provider, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class DirectorySearchForm(forms.Form):
    q = forms.CharField(label="Search", max_length=100, required=False)
    retired = forms.BooleanField(label="Include retired", required=False)


class MemberForm(forms.Form):
    provider = forms.ModelChoiceField(
        label="Clinician", queryset=OutsideProvider.objects.filter(retired_at__isnull=True).order_by("name")
    )
    relationship = forms.ChoiceField(label="Part in the patient's care", choices=CareRelationship.choices)


class AuthorisationForm(forms.Form):
    scope = forms.ChoiceField(label="The patient agreed to share", choices=SharingScope.choices)
    signed_on = forms.DateField(label="Signed by the patient on", widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(
        label="Expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Blank: until the patient revokes it.",
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label="How the patient withdrew it", max_length=200, help_text="For example: signed revocation form."
    )


class LetterForm(forms.Form):
    plan_text = forms.CharField(
        label=ProgressLetter._meta.get_field("plan_text").verbose_name.capitalize(),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=4000,
        help_text="Printed in the letter.",
    )


class AdjunctBookForm(forms.Form):
    day = forms.DateField(label="Day", widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    location = forms.ModelChoiceField(queryset=active_locations())
    clinician = forms.ModelChoiceField(queryset=clinicians(), help_text="Who sees the patient.")
    note = forms.CharField(max_length=300, required=False, help_text="For the calendar: no clinical detail.")


class AdjunctNoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 6}), max_length=4000)


class AmendForm(forms.Form):
    reason = forms.CharField(max_length=300)
    text = forms.CharField(label="Amendment", widget=forms.Textarea(attrs={"rows": 3}))
