"""A long audit trail for the benchmark: years of a busy clinic, appended and chained.

`seed_demo` leaves a handful of audit rows, so no page would meet a real trail. This appends
events until the table holds ``--audit-rows`` (a clinic writes about 0.7 rows per request:
1,000,000 is about three years of a busy one), spread over the years before now, in the mix of
reads, list queries, changes and sign-ins the app writes.

Each row is chained with the project's own code (``accounts.audit._chain``, which locks the chain
head, hashes with ``chain_hash`` and moves the head past the batch), so ``verify_audit_chain``
passes over the seeded trail and later writes chain on. The rows go in with COPY, one transaction
per batch. Django is set up against the benchmark database when this runs.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from accounts import audit
from accounts.models import AuditEvent, User
from accounts.roles import role_of
from patients.models import Patient

BATCH = 20_000
# Rows per day of history: the trail's span follows its size (1,000,000 rows: about three years).
ROWS_PER_DAY = 900
SEED = 2026

# (weight, action, verb, category, about a patient) in the proportions the app writes them.
MIX = [
    (30, "patients.patient.viewed", "read", "demographics", True),
    (12, "patients.patient.searched", "query", "demographics", False),
    (10, "scheduling.calendar.viewed", "query", "scheduling", False),
    (8, "infusions.session.viewed", "read", "clinical", True),
    (6, "infusions.board.viewed", "query", "clinical", False),
    (6, "consultations.consultation.viewed", "read", "clinical", True),
    (5, "scheduling.appointment.booked", "create", "scheduling", True),
    (4, "patients.patient.updated", "update", "demographics", True),
    (4, "followups.worklist.viewed", "query", "clinical", False),
    (4, "infusions.vital_sign.recorded", "create", "clinical", True),
    (3, "accounts.user.signed_in", "login", "security", False),
    (3, "accounts.user.signed_out", "logout", "security", False),
    (2, "controlled_substances.draw.recorded", "create", "controlled_substance", True),
    (2, "consultations.consultation.signed", "sign", "clinical", True),
    (1, "documents.document.downloaded", "export", "clinical", True),
    (1, "accounts.user.sign_in_failed", "login_failed", "security", False),
]


def audit_row_count() -> int:
    return AuditEvent.objects.count()


def ensure_audit_history(rows: int, say: Callable[[str], None]) -> dict:
    """Append chained events until the trail holds ``rows``; returns what it found and did."""
    have = audit_row_count()
    need = rows - have
    if need <= 0:
        return {"audit_rows": have, "appended": 0, "seconds": 0.0}
    rng = random.Random(SEED + have)
    staff = [(u.pk, u.username, role_of(u)) for u in User.objects.filter(is_active=True).prefetch_related("groups")]
    patients = list(Patient.objects.values_list("pk", "mrn"))
    if not staff or not patients:
        say("audit history: no staff or patients to write about; skipped")
        return {"audit_rows": have, "appended": 0, "seconds": 0.0}
    weights = [m[0] for m in MIX]
    end = datetime.now(UTC) - timedelta(hours=1)
    span = timedelta(days=max(1, need // ROWS_PER_DAY))
    step = span / need
    start = end - span
    say(f"audit history: appending {need:,} chained events over {span.days} days (the trail holds {have:,})")
    started = time.monotonic()
    fields = [*audit._FIELDS]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in [*fields]) + ", prev_hash, row_hash"
    done = 0
    while done < need:
        batch = []
        for i in range(done, min(need, done + BATCH)):
            _, action, verb, category, about_patient = rng.choices(MIX, weights)[0]
            actor_id, username, role = rng.choice(staff)
            failed = verb == "login_failed"
            if failed:  # as accounts.signals writes it: no actor, only the name typed
                changes, actor_id, username, role = {"username": username}, None, "", ""
            else:
                changes = {}
            patient_id, mrn = rng.choice(patients) if about_patient else (None, "")
            batch.append(
                AuditEvent(
                    at=start + step * i + timedelta(microseconds=rng.randrange(1000)),
                    actor_id=actor_id,
                    actor_username=username,
                    role=role,
                    patient_id=patient_id,
                    patient_mrn=mrn,
                    action=action,
                    verb=verb,
                    data_category=category,
                    object_type="patients.Patient" if about_patient else "",
                    object_id=str(patient_id) if about_patient else "",
                    outcome="denied" if failed else "allowed",
                    under_emergency_access=False,
                    changes=changes,
                    ip_address=f"10.20.{rng.randrange(4)}.{rng.randrange(1, 60)}",
                    user_agent="bench",
                    request_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                )
            )
        with transaction.atomic():
            audit._chain(batch)
            with connection.cursor() as cursor:
                copy_sql = f"COPY accounts_auditevent ({columns}) FROM STDIN"
                with cursor.cursor.copy(copy_sql) as copy:
                    for event in batch:
                        values = [getattr(event, f.attname) for f in fields]
                        values[fields.index(AuditEvent._meta.get_field("changes"))] = json.dumps(event.changes)
                        copy.write_row([*values, event.prev_hash, event.row_hash])
        done += len(batch)
        if done % (BATCH * 10) == 0 or done == need:
            say(f"audit history: {done:,} / {need:,} in {time.monotonic() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) accounts_auditevent")
    seconds = time.monotonic() - started
    say(f"audit history: {need:,} events appended and chained in {seconds:.0f} s")
    return {"audit_rows": have + need, "appended": need, "seconds": seconds}
