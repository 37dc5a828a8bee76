"""Sign-in events go to the audit trail (ASVS 16.3.1)."""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from accounts import audit
from accounts.middleware import LAST_ACTIVITY_KEY, SESSION_STARTED_KEY
from accounts.models import AuditEvent


def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = request.session[LAST_ACTIVITY_KEY] = time.time()
    audit.record(actor=user, action="accounts.user.signed_in", verb="login", category="security")


def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(actor=user, action="accounts.user.signed_out", verb="logout", category="security")


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username typed is kept, never the password.
    audit.record(
        actor=None,
        action="accounts.user.sign_in_failed",
        verb="login_failed",
        category="security",
        outcome=AuditEvent.Outcome.DENIED,
        changes={"username": str(credentials.get("username", ""))[:150]},
    )


def connect() -> None:
    user_logged_in.connect(_on_login, dispatch_uid="grace_audit_login")
    user_logged_out.connect(_on_logout, dispatch_uid="grace_audit_logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="grace_audit_login_failed")
