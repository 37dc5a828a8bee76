"""Registering and retiring API clients: administrators only, each step audited."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from interop.models import ClientRegistration

FLOWS = {
    "user": Application.GRANT_AUTHORIZATION_CODE,
    "system": Application.GRANT_CLIENT_CREDENTIALS,
}


@transaction.atomic
def client_register(*, name: str, flow: str, redirect_uris: str, purpose: str, by: User) -> tuple[Application, str]:
    """A new client and its secret (shown once: the toolkit stores only its hash)."""
    errors = {}
    if not name.strip():
        errors["name"] = "Give the client a name people will recognise in the audit trail."
    if flow not in FLOWS:
        errors["flow"] = "Choose how the client signs in."
    uris = " ".join(redirect_uris.split())
    if flow == "user" and not uris:
        errors["redirect_uris"] = "An app that staff sign in to needs at least one redirect address."
    if not purpose.strip():
        errors["purpose"] = "Say what the client is for."
    if errors:
        raise ValidationError(errors)
    secret = secrets.token_urlsafe(32)
    application = Application(
        name=name.strip(),
        user=by,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=FLOWS[flow],
        redirect_uris=uris if flow == "user" else "",
        client_secret=secret,
        skip_authorization=False,
    )
    try:
        application.full_clean(exclude=["client_secret", "client_id"])
    except ValidationError as exc:
        raise ValidationError({"redirect_uris": exc.message_dict.get("redirect_uris", exc.messages)}) from exc
    application.save()
    registration = ClientRegistration.objects.create(
        application=application, registered_by=by, registered_at=timezone.now(), purpose=purpose.strip()
    )
    audit.record(
        actor=by,
        action="api_client.register",
        verb=Verb.CREATE,
        category=Category.SECURITY,
        target=registration,
        changes={"name": application.name, "flow": flow, "client_id": application.client_id},
    )
    return application, secret


@transaction.atomic
def client_retire(*, registration: ClientRegistration, reason: str, by: User) -> ClientRegistration:
    """Retire a client: its tokens stop working now and it can get no new one."""
    registration = ClientRegistration.objects.select_for_update().get(pk=registration.pk)
    if registration.is_retired:
        raise ValidationError({"reason": "This client is already retired."})
    if not reason.strip():
        raise ValidationError({"reason": "Say why the client is retired."})
    registration.retired_at = timezone.now()
    registration.retired_by = by
    registration.retired_reason = reason.strip()
    registration.save(update_fields=["retired_at", "retired_by", "retired_reason"])
    revoked = AccessToken.objects.filter(application_id=registration.application_id).delete()[0]
    RefreshToken.objects.filter(application_id=registration.application_id).delete()
    audit.record(
        actor=by,
        action="api_client.retire",
        verb=Verb.UPDATE,
        category=Category.SECURITY,
        target=registration,
        changes={"reason": registration.retired_reason, "tokens_revoked": revoked},
    )
    return registration
