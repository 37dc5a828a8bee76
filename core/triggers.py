"""Database-enforced immutability shared by every signed clinical record.

security-reference R8 / D6: once a record is signed the database itself refuses to change or
delete it, whatever code path (ORM, admin, raw SQL) tries; corrections are amendments, and
amendments (like every log) are append-only.
"""

from __future__ import annotations

import pgtrigger


def signed_record_locked(name: str) -> pgtrigger.Protect:
    """A trigger that refuses UPDATE and DELETE of a row whose ``signed_at`` is set."""
    return pgtrigger.Protect(
        name=name,
        operation=pgtrigger.Update | pgtrigger.Delete,
        condition=pgtrigger.Q(old__signed_at__isnull=False),
    )


def append_only(name: str) -> pgtrigger.Protect:
    """A trigger that refuses every UPDATE and DELETE: rows are only ever added."""
    return pgtrigger.Protect(name=name, operation=pgtrigger.Update | pgtrigger.Delete)
