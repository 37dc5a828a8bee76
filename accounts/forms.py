from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm

from accounts import throttle


class SignInForm(AuthenticationForm):
    username = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    # The same words whether the password was wrong or the account's password throttle refused to
    # look at it (accounts.throttle), so the answer tells an attacker nothing about the account.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter a correct %(username)s and password. Note that both fields may be case-sensitive. "
            "After repeated wrong passwords an account refuses every password for a while; wait and try "
            "again, or ask an administrator."
        ),
    }


class TokenForm(forms.Form):
    """The six digits from the authenticator app, or (once enrolled) one of the recovery codes."""

    token = forms.CharField(
        label="Six-digit code from your authenticator app, or a recovery code",
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )

    def clean_token(self) -> str:
        token = "".join(self.cleaned_data["token"].split()).replace("-", "").lower()
        # Recovery codes have 16 characters (8 for codes issued before they were lengthened).
        if not (token.isdigit() and len(token) == 6) and not (len(token) in (8, 16) and token.isalnum()):
            raise forms.ValidationError(
                "Enter the six digits shown in your authenticator app, or one of your recovery codes."
            )
        return token

    @property
    def is_recovery_code(self) -> bool:
        return not self.cleaned_data["token"].isdigit()


class TwoFactorResetForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        help_text="Why the reset, and how you confirmed who asked for it (it goes in the audit trail).",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, its old-password check counted by the account's throttle."""

    def clean_old_password(self) -> str:
        old_password = self.cleaned_data["old_password"]
        try:
            right = throttle.check_password(user=self.user, password=old_password)
        except throttle.TooManyPasswordAttempts as exc:
            raise forms.ValidationError(str(exc), code="password_throttled") from exc
        if not right:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
