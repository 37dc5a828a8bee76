"""The one writer of the audit trail.

Every service that changes PHI calls :func:`record` inside its own transaction,
so the change and its audit row commit or roll back together (security-reference
R4, R9). Reads of a chart call :func:`record_read`; if that write fails the read
fails too (fail closed, ASVS 16.5.3).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts import context
from accounts.models import AuditEvent
from accounts.roles import role_of

# Any constant works; it only has to be the same for every writer.
_CHAIN_LOCK_KEY = 0x6A11_0A0D


def _canonical(event: AuditEvent) -> str:
    return json.dumps(
        {
            "at": event.at.isoformat(),
            "actor": event.actor_username,
            "role": event.role,
            "patient_id": event.patient_id,
            "action": event.action,
            "verb": event.verb,
            "category": event.data_category,
            "object": [event.object_type, event.object_id],
            "outcome": event.outcome,
            "changes": event.changes,
            "ip": event.ip_address,
            "request_id": event.request_id,
        },
        sort_keys=True,
        default=str,
        separators=(",", ":"),
    )


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256((prev_hash + "|" + _canonical(event)).encode()).hexdigest()


def _jsonable(changes: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so dates, decimals and phone numbers store as text.
    return json.loads(json.dumps(changes or {}, default=str))


def _event(
    *,
    actor,
    action: str,
    verb: str,
    category: str,
    target: Any = None,
    patient: Any = None,
    changes: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
) -> AuditEvent:
    """The unsaved, unchained event for :func:`record`'s arguments."""
    ctx = context.current()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent(
        at=timezone.now(),
        actor=actor if authenticated else None,
        actor_username=getattr(actor, "username", "") or "",
        role=role_of(actor) if authenticated else "",
        patient_id=getattr(patient, "pk", None),
        patient_mrn=getattr(patient, "mrn", "") or "",
        action=action,
        verb=verb,
        data_category=category,
        object_type=target._meta.label if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        outcome=outcome,
        changes=_jsonable(changes),
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent[:300],
        request_id=ctx.request_id,
    )


def _chain(events: list[AuditEvent]) -> None:
    """Link the events, in order, after the last row: call inside the transaction that inserts them.

    The advisory lock serialises writers for the hash chain only and ends with the transaction, so
    the rows inserted next take the ids after the last one and verify_chain reads them in this order.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    prev = AuditEvent.objects.order_by("-id").values_list("row_hash", flat=True).first() or ""
    for event in events:
        event.prev_hash = prev
        event.row_hash = prev = chain_hash(prev, event)


@transaction.atomic
def record(
    *,
    actor,
    action: str,
    verb: str,
    category: str,
    target: Any = None,
    patient: Any = None,
    changes: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
) -> AuditEvent:
    """Append one audit event.

    ``target`` is the model instance acted on; ``patient`` the patient whose
    chart it belongs to (a Patient instance; only its pk and MRN are kept).
    """
    event = _event(
        actor=actor,
        action=action,
        verb=verb,
        category=category,
        target=target,
        patient=patient,
        changes=changes,
        outcome=outcome,
    )
    _chain([event])
    event.save(force_insert=True)
    return event


@transaction.atomic
def record_many(events: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several audit events, in order, under one chain lock and in one INSERT.

    Each item holds :func:`record`'s keyword arguments. For batch writers (reminders sent in a
    batch): one lock, one read of the last hash and one insert instead of one of each per event.
    """
    rows = [_event(**spec) for spec in events]
    if not rows:
        return []
    _chain(rows)
    # PostgreSQL numbers the rows of one INSERT in VALUES order, so ids follow the chain order.
    return AuditEvent.objects.bulk_create(rows)


def record_read(*, actor, action: str, target: Any, patient: Any, category: str) -> AuditEvent:
    return record(
        actor=actor,
        action=action,
        verb=AuditEvent.Verb.READ,
        category=category,
        target=target,
        patient=patient,
    )


def diff(instance: Any, before: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Old and new values of the fields that changed: ``{"field": [old, new]}``."""
    out = {}
    for name in fields:
        new = getattr(instance, name)
        if before.get(name) != new:
            out[name] = [before.get(name), new]
    return out


def verify_chain(batch_size: int = 5000) -> tuple[int, list[int]]:
    """Recompute every row's hash in id order; return (rows checked, ids that fail)."""
    broken: list[int] = []
    prev = ""
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if event.prev_hash != prev or chain_hash(prev, event) != event.row_hash:
            broken.append(event.pk)
        prev = event.row_hash
    return checked, broken
