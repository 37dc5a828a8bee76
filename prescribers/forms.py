"""Admin forms: the identifiers are checked by the pure rules, each error at its field."""

from __future__ import annotations

from django import forms

from prescribers import rules
from prescribers.models import DEARegistration, PrescriberProfile, StateLicence


def _apply(form: forms.ModelForm, field: str, check) -> None:
    if field in form.cleaned_data:
        try:
            form.cleaned_data[field] = check(form.cleaned_data[field])
        except rules.CredentialError as error:
            form.add_error(field, error.message)


class PrescriberProfileForm(forms.ModelForm):
    class Meta:
        model = PrescriberProfile
        fields = ["user", "credential", "npi", "medical_director"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        _apply(self, "npi", rules.normalise_npi)
        return data


class StateLicenceForm(forms.ModelForm):
    class Meta:
        model = StateLicence
        fields = ["state", "number", "expires_on"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        _apply(self, "state", rules.normalise_state)
        _apply(self, "number", rules.normalise_licence_number)
        return data


class DEARegistrationForm(forms.ModelForm):
    class Meta:
        model = DEARegistration
        fields = ["location", "number", "expires_on"]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        # The inline's parent (set by the formset, saved or not) says which letters fit.
        try:
            credential = self.instance.profile.credential
        except PrescriberProfile.DoesNotExist:
            credential = ""
        if "number" in data:
            try:
                data["number"] = rules.normalise_dea(data["number"], credential=credential)
            except rules.CredentialError as error:
                self.add_error("number", error.message)
        return data


class PolicyDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("sign_off", "Sign off"), ("decline", "Decline")])
    note = forms.CharField(max_length=300, required=False, label="Note (required to decline)")
