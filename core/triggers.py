"""Database-enforced immutability shared by every signed clinical record.

security-reference R8 / D6: once a record is signed the database itself refuses to change or
delete it, whatever code path (ORM, admin, raw SQL) tries; corrections are amendments, and
amendments (like every log) are append-only.
"""

from __future__ import annotations

import pgtrigger


def signed_record_locked(name: str) -> pgtrigger.Protect:
    """A trigger that refuses UPDATE and DELETE of a row whose ``signed_at`` is set."""
    return locked_once_set(name, "signed_at")


def locked_once_set(name: str, field: str) -> pgtrigger.Protect:
    """A trigger that refuses UPDATE and DELETE of a row once ``field`` is set (a draft stays
    editable; a published or signed row never changes again)."""
    return pgtrigger.Protect(
        name=name,
        operation=pgtrigger.Update | pgtrigger.Delete,
        condition=pgtrigger.Q(**{f"old__{field}__isnull": False}),
    )


def append_only(name: str) -> pgtrigger.Protect:
    """A trigger that refuses every UPDATE and DELETE: rows are only ever added."""
    return pgtrigger.Protect(name=name, operation=pgtrigger.Update | pgtrigger.Delete)
