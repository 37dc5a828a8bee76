"""django-otp-webauthn's endpoints under our own paths and views (accounts.passkeys), kept in the
package's ``otp_webauthn`` namespace that its scripts and template tags reverse.

Using a passkey is part of the second step of sign-in, so it sits under /accounts/two-factor/
(reachable before the second factor); adding one is under /accounts/security/ (not reachable
before it)."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog

from accounts import passkeys

app_name = "otp_webauthn"

urlpatterns = [
    path("security/passkeys/begin/", passkeys.RegistrationBegin.as_view(), name="credential-registration-begin"),
    path(
        "security/passkeys/complete/", passkeys.RegistrationComplete.as_view(), name="credential-registration-complete"
    ),
    path("two-factor/passkey/begin/", passkeys.AuthenticationBegin.as_view(), name="credential-authentication-begin"),
    path(
        "two-factor/passkey/complete/",
        passkeys.AuthenticationComplete.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "two-factor/passkey/jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]),
        name="js-i18n-catalog",
    ),
]
