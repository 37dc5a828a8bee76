"""The one writer of the audit trail.

Every service that changes PHI calls :func:`record` inside its own transaction,
so the change and its audit row commit or roll back together (security-reference
R4, R9). Reads of a chart call :func:`record_read`; if that write fails the read
fails too (fail closed, ASVS 16.5.3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from accounts import context
from accounts.models import AuditAnchor, AuditChain, AuditEvent, User
from accounts.roles import role_of
from core.audit import Category, Verb

logger = logging.getLogger(__name__)


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
            # Only when set, so that the chain-wide chain's rows (all rows before chains split) hash as they did.
            **({"chain": event.chain} if event.chain else {}),
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


def chain_for(location_id: int | None) -> str:
    """The chain a write joins: its site's (the request's location), else the chain-wide one
    (sign-ins, tasks, commands). One request writes into one chain, so a transaction never
    holds two chains' locks and two writers never wait on each other in opposite orders."""
    return f"location:{location_id}" if location_id else ""


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
        chain=chain_for(ctx.location_id),
    )


# A chain's writers are ordered by the lock on its row in AuditChain; writers of other chains never
# meet it. Appending one event is one statement: the UPDATE waits for the row, re-reads its newest
# version (so it always chains to the last committed event) and hands the hashes to the INSERT; the
# event's id is drawn after the lock, so ids follow each chain. An audited read costs one round
# trip, not five (BEGIN, lock, read the last hash, INSERT, COMMIT). PostgreSQL's sha256 over this
# text must stay the same bytes as chain_hash() above.
_APPEND_ONE = """
WITH head AS (
    UPDATE accounts_auditchain
    SET prev_hash = last_hash,
        last_hash = encode(sha256(convert_to(last_hash || '|' || %s, 'UTF8')), 'hex')
    WHERE key = %s
    RETURNING prev_hash, last_hash
)
INSERT INTO accounts_auditevent ({columns}, prev_hash, row_hash)
SELECT {values}, head.prev_hash, head.last_hash FROM head
RETURNING id, prev_hash, row_hash
"""
# A chain's first write, or a database flushed by a test (TRUNCATE), finds no row: start it from
# the chain's newest event (none: the empty hash).
_START_HEAD = """
INSERT INTO accounts_auditchain (key, last_hash, prev_hash)
SELECT %(key)s,
       COALESCE((SELECT row_hash FROM accounts_auditevent WHERE chain = %(key)s ORDER BY id DESC LIMIT 1), ''),
       COALESCE((SELECT prev_hash FROM accounts_auditevent WHERE chain = %(key)s ORDER BY id DESC LIMIT 1), '')
ON CONFLICT (key) DO NOTHING
"""
_FIELDS = [f for f in AuditEvent._meta.concrete_fields if f.name not in ("id", "prev_hash", "row_hash")]


def start_chain_head(sender=None, using: str = "default", **kwargs) -> None:
    """Create the chain-wide chain's row if it is missing (after a flush); a no-op when it exists."""
    with connections[using].cursor() as cursor:
        cursor.execute(_START_HEAD, {"key": ""})


def _values(event: AuditEvent) -> list[Any]:
    return [f.get_db_prep_save(getattr(event, f.attname), connection) for f in _FIELDS]


def _append(event: AuditEvent) -> None:
    sql = _APPEND_ONE.format(
        columns=", ".join(connection.ops.quote_name(f.column) for f in _FIELDS),
        values=", ".join(["%s"] * len(_FIELDS)),
    )
    params = [_canonical(event), event.chain, *_values(event)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_START_HEAD, {"key": event.chain})
            cursor.execute(sql, params)
            row = cursor.fetchone()
    event.pk, event.prev_hash, event.row_hash = row
    event._state.adding, event._state.db = False, connection.alias


def _link(events: list[AuditEvent]) -> str:
    """Lock the events' chain and link them, in order, after its last row; the chain's key.

    All events share the first one's chain. Call inside the transaction that inserts them: the
    chain's row stays locked until it ends, so the rows inserted next take the ids after the last
    one and verify_chain reads them in order.
    """
    key = events[0].chain
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_hash FROM accounts_auditchain WHERE key = %s FOR UPDATE", [key])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(_START_HEAD, {"key": key})
            cursor.execute("SELECT last_hash FROM accounts_auditchain WHERE key = %s FOR UPDATE", [key])
            row = cursor.fetchone()
    prev = row[0]
    for event in events:
        event.chain = key
        event.prev_hash = prev
        event.row_hash = prev = chain_hash(prev, event)
    return key


def _chain(events: list[AuditEvent]) -> None:
    """Link the events after the last row of their chain and move its head past them (for a writer
    that inserts them itself, such as the benchmark's COPY)."""
    key = _link(events)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_auditchain SET prev_hash = %s, last_hash = %s WHERE key = %s",
            [events[-1].prev_hash, events[-1].row_hash, key],
        )


# A batch's events differ in a few columns (the patient, the time, the hashes) and share the rest
# (who, what, from where): each varying column is sent once as an array and unnested, each shared
# one once as a value, and the chain's head moves in the same statement. Django's bulk_create sent
# every column as an array, quoted value by value in Python, and the head took a statement of its
# own: a page of twenty patients read over the API spent more on writing its audit rows than on
# finding the patients.
_APPEND_MANY = """
WITH head AS (
    UPDATE accounts_auditchain SET prev_hash = %s, last_hash = %s WHERE key = %s
)
INSERT INTO accounts_auditevent ({columns})
SELECT {values} {rows}
RETURNING id
"""
_BATCH_ROWS = "FROM unnest({arrays}) WITH ORDINALITY AS batch({names}, n) ORDER BY n"
_ALL_FIELDS = [*_FIELDS, AuditEvent._meta.get_field("prev_hash"), AuditEvent._meta.get_field("row_hash")]


def _insert_linked(events: list[AuditEvent], key: str) -> None:
    """Insert linked events in chain order (ids follow it) and move the chain's head past them."""
    quote = connection.ops.quote_name
    values, arrays, names, scalars, vectors = [], [], [], [], []
    for index, field in enumerate(_ALL_FIELDS):
        raw = [getattr(event, field.attname) for event in events]
        cast = field.db_type(connection)
        if all(value == raw[0] for value in raw[1:]):
            values.append(f"%s::{cast}")
            scalars.append(field.get_db_prep_save(raw[0], connection))
        else:
            values.append(f"c{index}")
            arrays.append(f"%s::{cast}[]")
            names.append(f"c{index}")
            vectors.append([field.get_db_prep_save(value, connection) for value in raw])
    sql = _APPEND_MANY.format(
        columns=", ".join(quote(field.column) for field in _ALL_FIELDS),
        values=", ".join(values),
        # A batch of one is one row of values.
        rows=_BATCH_ROWS.format(arrays=", ".join(arrays), names=", ".join(names)) if arrays else "",
    )
    # The placeholders come in this order: the head's three, the shared values, the arrays.
    with connection.cursor() as cursor:
        cursor.execute(sql, [events[-1].prev_hash, events[-1].row_hash, key, *scalars, *vectors])
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding, event._state.db = False, connection.alias


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
    _insert_linked(rows, _link(rows))
    return rows


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
    """Recompute every row's hash, each chain in id order; return (rows checked, ids that fail)."""
    broken: list[int] = []
    chain: str | None = None
    prev = ""
    checked = 0
    for event in AuditEvent.objects.order_by("chain", "id").iterator(chunk_size=batch_size):
        if event.chain != chain:
            chain, prev = event.chain, ""
        checked += 1
        if event.prev_hash != prev or chain_hash(prev, event) != event.row_hash:
            broken.append(event.pk)
        prev = event.row_hash
    return checked, broken


def _anchor_digest(heads: dict[str, list[Any]]) -> str:
    return hashlib.sha256(json.dumps(heads, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _anchor_signature(digest: str, key: str) -> str:
    return hmac.new(key.encode(), ("grace.audit.anchor|" + digest).encode(), hashlib.sha256).hexdigest()


def _anchor_keys() -> list[str]:
    """The key anchors are signed with, then the older ones still accepted (after a rotation)."""
    return [settings.AUDIT_ANCHOR_KEY, *settings.AUDIT_ANCHOR_KEY_FALLBACKS]


def anchor_chains() -> AuditAnchor:
    """Seal every chain's newest row (id and hash) into one signed digest.

    Reads each chain's newest committed row through the (chain, id) index: a few index probes,
    and no chain's lock is taken, so no writer waits for the anchor."""
    heads: dict[str, list[Any]] = {}
    with connection.cursor() as cursor:
        for key in AuditChain.objects.order_by("key").values_list("key", flat=True):
            cursor.execute(
                "SELECT id, row_hash FROM accounts_auditevent WHERE chain = %s ORDER BY id DESC LIMIT 1", [key]
            )
            row = cursor.fetchone()
            if row is not None:
                heads[key] = [row[0], row[1]]
    digest = _anchor_digest(heads)
    last = AuditAnchor.objects.order_by("-id").first()
    if last is not None and last.digest == digest:
        return last  # nothing written since: no second anchor of the same heads
    anchor = AuditAnchor.objects.create(
        at=timezone.now(), heads=heads, digest=digest, signature=_anchor_signature(digest, _anchor_keys()[0])
    )
    # The digest also leaves the database in the log, where a copy of the trail cut short cannot reach it.
    logger.info("audit anchor %s sealed %d chains: %s", anchor.pk, len(heads), digest)
    return anchor


def verify_anchors() -> list[str]:
    """Every anchor's signature and every head it names: the row is there, in its chain, unchanged.
    Returns what fails, in words (empty when all hold)."""
    problems: list[str] = []
    keys = _anchor_keys()
    for anchor in AuditAnchor.objects.order_by("id").iterator(chunk_size=500):
        digest = _anchor_digest(anchor.heads)
        if digest != anchor.digest or not any(
            hmac.compare_digest(_anchor_signature(digest, key), anchor.signature) for key in keys
        ):
            problems.append(f"anchor {anchor.pk} of {anchor.at:%Y-%m-%d %H:%M} fails its signature")
            continue
        named = {int(row_id): (key, row_hash) for key, (row_id, row_hash) in anchor.heads.items()}
        found = {
            pk: (chain, row_hash)
            for pk, chain, row_hash in AuditEvent.objects.filter(pk__in=named).values_list("pk", "chain", "row_hash")
        }
        for row_id, head in sorted(named.items()):
            if found.get(row_id) != head:
                name = head[0] or "chain-wide"
                problems.append(f"anchor {anchor.pk}: the head of chain {name!r} (row {row_id}) is gone or altered")
    return problems
