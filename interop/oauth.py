"""SMART scopes for django-oauth-toolkit, and the bearer-token check of every API request.

A client registered for the authorization-code flow acts for the member of staff who signs in and
approves it (``user/`` scopes); a client-credentials client is a back-end service acting for the
administrator who registered it (``system/`` scopes). An authorization-code client may also ask
for ``patient/`` scopes: the member of staff then names the one patient the app may read (SMART's
patient context, ``launch/patient``), and the token is bound to that patient. A retired client gets
no scope at all, and its tokens stop working at once."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import SettingsScopes

from accounts import access_cache
from interop import rules
from interop.models import PatientLaunch

LAUNCH_PATIENT = "launch/patient"
# The attribute of oauthlib's request (set from the authorisation's credentials) naming the patient.
PATIENT_CREDENTIAL = "smart_patient"


def _context(application: Any) -> str:
    if application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS:
        return "system"
    return "user"


def _retired(application: Any) -> bool:
    registration = getattr(application, "registration", None)
    return registration is None or registration.is_retired


class SmartScopes(SettingsScopes):
    """The settings' scopes, narrowed to the client's context (``user/`` or ``system/``)."""

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        scopes = super().get_available_scopes(application, request, *args, **kwargs)
        if application is None:
            return scopes
        if _retired(application):
            return []
        context = _context(application)
        return [
            s
            for s in scopes
            if s.startswith(context + "/") or (context == "user" and (s.startswith("patient/") or s == LAUNCH_PATIENT))
        ]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        context = _context(application)
        return [s for s in self.get_available_scopes(application, request) if s == f"{context}/*.read"]


def asks_for_a_patient(scopes: list[str] | str) -> bool:
    return "patient" in rules.contexts(" ".join(scopes) if isinstance(scopes, list) else scopes)


class SmartValidator(OAuth2Validator):
    """django-oauth-toolkit's validator, carrying a patient context from the authorisation to the
    token: the code is bound to the patient the member of staff chose, the access token to the code's
    patient (and the token response names it, as SMART asks). A refresh token of a patient-bound token
    is refused: the app launches again, and the binding never has to travel through a rotation."""

    def save_authorization_code(self, client_id, code, request, *args, **kwargs):
        grant = self._create_authorization_code(request, code)
        patient_id = getattr(request, PATIENT_CREDENTIAL, None)
        if patient_id is not None:
            PatientLaunch.objects.create(
                patient_id=patient_id,
                launched_by=request.user,
                application=request.client,
                launched_at=timezone.now(),
                grant=grant,
            )

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        launch = PatientLaunch.objects.filter(grant__code=code, grant__application=client).first()
        if asks_for_a_patient(request.scopes) and launch is None:
            return False  # a patient scope without a chosen patient reads nothing
        setattr(request, PATIENT_CREDENTIAL, launch)
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        launch = getattr(request, PATIENT_CREDENTIAL, None)
        if isinstance(launch, PatientLaunch):
            launch.access_token = access_token
            launch.save(update_fields=["access_token"])
            token["patient"] = str(launch.patient_id)
        return access_token

    def _load_access_token(self, token):
        # The client's registration with the token (its retirement is checked on every request).
        return (
            AccessToken.objects.select_related("application", "application__registration", "user")
            .filter(token_checksum=hashlib.sha256(token.encode("utf-8")).hexdigest())
            .first()
        )

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return False
        original = self.get_original_scopes(refresh_token, request)
        return not asks_for_a_patient(original if isinstance(original, str) else " ".join(original))


@dataclass(frozen=True)
class Grant:
    """Who a valid bearer token reads for, and what it may read."""

    token: AccessToken
    user: Any  # the signed-in member of staff, or the administrator behind a back-end service
    scope: str
    client: str
    patient_id: int | None = None  # a patient-bound token reads this patient's record only

    def allows(self, resource_type: str, *, search: bool = False) -> bool:
        return rules.allows(self.scope, resource_type, search=search)


def grant_for(request) -> Grant | None:
    """The request's bearer token as a :class:`Grant`, or None when it has none that works now."""
    if not request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
    if not valid:
        return None
    token = oauth_request.access_token
    application = token.application
    if application is None or _retired(application):
        return None
    user = token.user if token.user_id is not None else application.user
    if user is None or not user.is_active:
        return None
    access_cache.attach_user(user)
    patient_id = None
    if asks_for_a_patient(token.scope):
        patient_id = PatientLaunch.objects.filter(access_token=token).values_list("patient_id", flat=True).first()
        if patient_id is None:
            return None  # fail closed: a patient scope with no patient bound reads nothing
    return Grant(token=token, user=user, scope=token.scope, client=application.name, patient_id=patient_id)
