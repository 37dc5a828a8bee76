"""SMART scopes for django-oauth-toolkit, and the bearer-token check of every API request.

A client registered for the authorization-code flow acts for the member of staff who signs in and
approves it (``user/`` scopes); a client-credentials client is a back-end service acting for the
administrator who registered it (``system/`` scopes). A retired client gets no scope at all, and
its tokens stop working at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oauth2_provider.models import AccessToken, Application
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.scopes import SettingsScopes

from interop import rules


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
        return [s for s in scopes if s.startswith(_context(application) + "/")]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return super().get_default_scopes(application, request, *args, **kwargs)
        return [s for s in self.get_available_scopes(application, request) if s.endswith("/*.read")]


@dataclass(frozen=True)
class Grant:
    """Who a valid bearer token reads for, and what it may read."""

    token: AccessToken
    user: Any  # the signed-in member of staff, or the administrator behind a back-end service
    scope: str
    client: str

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
    return Grant(token=token, user=user, scope=token.scope, client=application.name)
