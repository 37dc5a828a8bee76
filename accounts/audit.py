"""The one writer of the audit trail.

Every service that changes PHI calls :func:`record` inside its own transaction,
so the change and its audit row commit or roll back together (security-reference
R4, R9). Reads of a chart call :func:`record_read`; if that write fails the read
fails too (fail closed, ASVS 16.5.3).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol

from django.db import connection, connections, transaction
from django.utils import timezone

from accounts import context
from accounts.models import AuditEvent, User
from accounts.roles import role_of
from core.audit import Category, Verb


class Actor(Protocol):
    """Who acted, as the trail names them: a user, an anonymous visitor (a failed sign-in names the
    username tried) or a stand-in that is never authenticated (the patient, through a link)."""

    @property
    def username(self) -> str: ...

    @property
    def is_authenticated(self) -> bool: ...


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
            # Only when set, so that rows written before the column existed hash as they did.
            **({"emergency": True} if event.under_emergency_access else {}),
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


def _member(choices: type[Verb] | type[Category], value: Any, what: str) -> str:
    """``value``'s plain string when it is a member of ``choices``; anything else, even the exact
    string of a member, is refused before anything is written: a bare string is where a typo or an
    unlisted word hides, to be stored where no filter of the trail finds it."""
    if not isinstance(value, choices):
        raise TypeError(
            f"audit {what} must be a core.audit.{choices.__name__} member, not {type(value).__name__} {value!r}"
        )
    return str(value.value)


def _event(
    *,
    actor: Actor | None,
    action: str,
    verb: Verb,
    category: Category,
    target: Any = None,
    patient: Any = None,
    changes: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.ALLOWED,
) -> AuditEvent:
    """The unsaved, unchained event for :func:`record`'s arguments."""
    ctx = context.current()
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    until = getattr(actor, "emergency_until", None)
    return AuditEvent(
        at=timezone.now(),
        actor=actor if isinstance(actor, User) and authenticated else None,  # the key takes only a User anyway
        actor_username=getattr(actor, "username", "") or "",
        role=role_of(actor) if authenticated else "",
        patient_id=getattr(patient, "pk", None),
        patient_mrn=getattr(patient, "mrn", "") or "",
        action=action,
        verb=_member(AuditEvent.Verb, verb, "verb"),
        data_category=_member(AuditEvent.Category, category, "category"),
        object_type=target._meta.label if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        outcome=outcome,
        # Written under emergency access: flagged for the administrators' review.
        under_emergency_access=until is not None and until > timezone.now(),
        changes=_jsonable(changes),
        ip_address=ctx.ip_address,
        user_agent=ctx.user_agent[:300],
        request_id=ctx.request_id,
    )


# Writers are ordered by the lock on the chain's head row (AuditChainHead). Appending one event is
# one statement: the UPDATE waits for the row, re-reads its newest version (so it always chains to
# the last committed event) and hands the hashes to the INSERT; the event's id is drawn after the
# lock, so ids follow the chain. An audited read costs one round trip, not five (BEGIN, lock, read
# the last hash, INSERT, COMMIT). PostgreSQL's sha256 over this text must stay the same bytes as
# chain_hash() above.
_APPEND_ONE = """
WITH head AS (
    UPDATE accounts_auditchainhead
    SET prev_hash = last_hash,
        last_hash = encode(sha256(convert_to(last_hash || '|' || %s, 'UTF8')), 'hex')
    WHERE id = 1
    RETURNING prev_hash, last_hash
)
INSERT INTO accounts_auditevent ({columns}, prev_hash, row_hash)
SELECT {values}, head.prev_hash, head.last_hash FROM head
RETURNING id, prev_hash, row_hash
"""
# A database flushed by a test (TRUNCATE) has no head row: start it from the newest event.
_START_HEAD = """
INSERT INTO accounts_auditchainhead (id, last_hash, prev_hash)
SELECT 1,
       COALESCE((SELECT row_hash FROM accounts_auditevent ORDER BY id DESC LIMIT 1), ''),
       COALESCE((SELECT prev_hash FROM accounts_auditevent ORDER BY id DESC LIMIT 1), '')
ON CONFLICT (id) DO NOTHING
"""
_FIELDS = [f for f in AuditEvent._meta.concrete_fields if f.name not in ("id", "prev_hash", "row_hash")]


def start_chain_head(sender=None, using: str = "default", **kwargs) -> None:
    """Create the head row if it is missing (after a flush); a no-op when it exists."""
    with connections[using].cursor() as cursor:
        cursor.execute(_START_HEAD)


def _values(event: AuditEvent) -> list[Any]:
    return [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _FIELDS]


def _append(event: AuditEvent) -> None:
    sql = _APPEND_ONE.format(
        columns=", ".join(connection.ops.quote_name(f.column) for f in _FIELDS),
        values=", ".join(["%s"] * len(_FIELDS)),
    )
    params = [_canonical(event), *_values(event)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_START_HEAD)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    event.pk, event.prev_hash, event.row_hash = row
    event._state.adding, event._state.db = False, connection.alias


def _chain(events: list[AuditEvent]) -> None:
    """Link the events, in order, after the last row, and move the head past them.

    Call inside the transaction that inserts them: the head row stays locked until it ends, so
    the rows inserted next take the ids after the last one and verify_chain reads them in order.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_hash FROM accounts_auditchainhead WHERE id = 1 FOR UPDATE")
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_START_HEAD)
            cursor.execute("SELECT last_hash FROM accounts_auditchainhead WHERE id = 1 FOR UPDATE")
            row = cursor.fetchone()
        prev = row[0]
        for event in events:
            event.prev_hash = prev
            event.row_hash = prev = chain_hash(prev, event)
        cursor.execute(
            "UPDATE accounts_auditchainhead SET prev_hash = %s, last_hash = %s WHERE id = 1",
            [events[-1].prev_hash, events[-1].row_hash],
        )


def record(
    *,
    actor: Actor | None,
    action: str,
    verb: Verb,
    category: Category,
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
    _append(event)
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


def record_read(*, actor: Actor | None, action: str, target: Any, patient: Any, category: Category) -> AuditEvent:
    return record(
        actor=actor,
        action=action,
        verb=AuditEvent.Verb.READ,
        category=category,
        target=target,
        patient=patient,
    )


def audited_query(action: str, category: Category):
    """For a page about several patients (a list, a calendar, a board, a worklist, a home panel):
    one ``query`` event per successful GET, with its filters. Written before the response leaves,
    so a page whose audit row cannot be written is not shown (fail closed). Pages about one chart
    record a ``read`` through their own service instead."""

    def decorate(view):
        @wraps(view)
        def audited(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if request.method == "GET" and response.status_code == 200:
                record(
                    actor=request.user,
                    action=action,
                    verb=AuditEvent.Verb.QUERY,
                    category=category,
                    changes={"filters": dict(request.GET.items())} if request.GET else None,
                )
            return response

        return audited

    return decorate


def record_page_opened(request, *, action: str, category: Category, target: Any = None, patient: Any = None) -> None:
    """A form that opens on a chart's current values (an edit, a cancellation, an amendment, a booking
    form with its patient chosen) or a ledger page shows patient data like any other page: one event
    per GET, a ``read`` of the chart when there is one, else a ``query`` with its filters. A POST
    records what it changed through its service instead, so it writes nothing here."""
    if request.method != "GET":
        return
    record(
        actor=request.user,
        action=action,
        verb=AuditEvent.Verb.READ if patient is not None or target is not None else AuditEvent.Verb.QUERY,
        category=category,
        target=target,
        patient=patient,
        changes={"filters": dict(request.GET.items())} if request.GET else None,
    )


def diff(instance: Any, before: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Old and new values of the fields that changed: ``{"field": [old, new]}``."""
    out = {}
    for name in fields:
        new = getattr(instance, name)
        if before.get(name) != new:
            out[name] = [before.get(name), new]
    return out


# The patient registry tells the audit report which patient an MRN names, so the report filters the
# trail by patient id (an index) while accounts imports no stage app: PatientsConfig.ready registers it.
PatientIdsForMrn = Callable[[str], list[int]]
_PATIENT_LOOKUP: list[PatientIdsForMrn] = []


def register_patient_lookup(fn: PatientIdsForMrn) -> PatientIdsForMrn:
    _PATIENT_LOOKUP[:] = [fn]
    return fn


def patient_ids_for_mrn(mrn: str) -> list[int] | None:
    """The ids of the patients with this MRN, or None when no app registered a lookup."""
    return _PATIENT_LOOKUP[0](mrn) if _PATIENT_LOOKUP else None


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
