"""Passkeys (WebAuthn) as a second factor, for chairside tablets where typing six digits from a
phone is awkward: django-otp-webauthn, a django-otp device like the authenticator app, so the
rest of the sign-in (OTPMiddleware, ``is_verified``, the two-factor requirement) is unchanged.

- Sign-in stays password first (django-otp-webauthn's passwordless login is off, so the password
  throttle and django-axes still guard it); a passkey then stands in for the app's code.
- A passkey is added only from a session that already passed a second factor (the security
  page), never as someone's first factor and never in the admin; it is audited, as are its use
  and its removal. An administrator's two-factor reset removes passkeys too.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.http.request import split_domain_port
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django_otp_webauthn import exceptions, views
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import AuditEvent, User
from accounts.two_factor import audit_event


def relying_party_id(request) -> str:
    """The relying party is the host the page was served from (no port); passkeys are bound to it."""
    domain, _port = split_domain_port(request.get_host())
    return domain


def passkeys_of(user: User):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at")


@transaction.atomic
def passkey_remove(*, user: User, pk: int) -> bool:
    """The user removes one of their own passkeys (e.g. a tablet given back)."""
    credential = WebAuthnCredential.objects.filter(user=user, pk=pk).first()
    if credential is None:
        return False
    audit_event(actor=user, action="passkey_removed", target=credential)
    credential.delete()
    return True


class SecondFactorFirst(exceptions.OTPWebAuthnApiError):
    status_code = 403
    code = "second_factor_first"
    default_detail = "Sign in with your authenticator app first, then add a passkey."


class _Audited:
    """Runs the package's view and audits a success (the JSON answer names the device)."""

    action = ""
    verb = AuditEvent.Verb.PRIVILEGE_CHANGE

    def post(self, *args, **kwargs):
        # A mixin for the package's views (untyped), whose post() comes after it in their MRO.
        response = super().post(*args, **kwargs)  # type: ignore[misc]
        if response.status_code == 200:
            credential = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
            audit_event(actor=credential.user, action=self.action, target=credential, verb=self.verb)
        return response


@method_decorator(never_cache, name="dispatch")
class RegistrationBegin(views.BeginCredentialRegistrationView):
    def check_can_register(self):
        # Stricter than the package (which lets anyone with no device yet register one): a passkey
        # is added to an account that already has the app, from a session that passed it.
        if not self.request.user.is_verified():
            raise SecondFactorFirst()


@method_decorator(never_cache, name="dispatch")
class RegistrationComplete(_Audited, views.CompleteCredentialRegistrationView):
    action = "passkey_enrolled"

    def check_can_register(self):
        RegistrationBegin.check_can_register(self)


@method_decorator(never_cache, name="dispatch")
class AuthenticationBegin(views.BeginCredentialAuthenticationView):
    pass


@method_decorator(never_cache, name="dispatch")
class AuthenticationComplete(_Audited, views.CompleteCredentialAuthenticationView):
    action = "passkey_used"
    verb = AuditEvent.Verb.LOGIN
