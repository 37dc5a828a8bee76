"""Writes of clinic configuration: the screening thresholds and the protocol library."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts import audit
from accounts.models import User
from consultations import selectors
from consultations.models import Protocol, ScreeningPolicy
from core.audit import Category, Verb


@transaction.atomic
def screening_policy_update(*, policy: ScreeningPolicy, by: User, **fields: Any) -> ScreeningPolicy:
    if not by.has_perm("consultations.manage_screening_policy"):
        raise PermissionDenied
    locked = ScreeningPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    try:
        selectors.screening_thresholds(locked)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    changes = audit.diff(locked, before, list(fields))
    if not changes:
        return locked
    locked.updated_by = by
    locked.save(update_fields=[*changes, "updated_by", "updated_at"])
    audit.record(
        actor=by,
        action="consultations.screening_policy.updated",
        verb=Verb.UPDATE,
        category=Category.CONFIGURATION,
        target=locked,
        changes=changes,
    )
    return locked


@transaction.atomic
def protocol_save(*, protocol: Protocol, by: User, created: bool) -> Protocol:
    if not by.has_perm("consultations.manage_protocols"):
        raise PermissionDenied
    protocol.full_clean()  # the dose range within its unit's hard bounds, at the field
    # Before and after of every dosing figure, so a changed usual range can be traced.
    fields = ["name", "dose_unit", "dose_min", "dose_max", "infusion_minutes", "sessions", "source", "active"]
    stored = None if created or protocol.pk is None else Protocol.objects.filter(pk=protocol.pk).first()
    before = {name: getattr(stored, name) for name in fields} if stored is not None else {}
    protocol.save()
    changes = audit.diff(protocol, before, fields)
    audit.record(
        actor=by,
        action="consultations.protocol.created" if created else "consultations.protocol.updated",
        verb=Verb.CREATE if created else Verb.UPDATE,
        category=Category.CONFIGURATION,
        target=protocol,
        changes={**changes, "dose": protocol.dose_text},
    )
    return protocol
