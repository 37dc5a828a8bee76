from django import forms
from oauth2_provider.forms import AllowForm

from interop.services import FLOWS


class ClientForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="Shown to staff when they approve it, and in the audit trail.")
    flow = forms.ChoiceField(
        label="How it signs in",
        choices=[
            ("user", "An app a member of staff signs in to (authorization code with PKCE; reads what they may read)"),
            ("system", "A back-end service (client credentials; reads what you may read, for exports and sync)"),
        ],
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label="Redirect addresses",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For an app staff sign in to: one or more addresses, separated by spaces or new lines.",
    )
    purpose = forms.CharField(max_length=300, help_text="What the client is for, in a sentence.")

    def clean_flow(self):
        flow = self.cleaned_data["flow"]
        if flow not in FLOWS:
            raise forms.ValidationError("Choose how the client signs in.")
        return flow


class RetireForm(forms.Form):
    reason = forms.CharField(max_length=300)


class SmartAllowForm(AllowForm):
    """The toolkit's approval form, with the patient an app asking for ``patient/`` scopes may read."""

    patient_mrn = forms.CharField(
        label="Patient's MRN",
        required=False,
        max_length=40,
        help_text="The app will read this patient's record only, and only what your role lets you read.",
    )
