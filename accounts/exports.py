"""The audit trail as CSV lines, and the hook that moves a long export off the web worker.

Writing a long file belongs to the documents worker, and accounts imports no app above it. So a
later app registers the handler (``register_audit_csv_background``, filled by the reports app at
start-up, as ``scheduling.hooks`` is filled by reminders): it decides, from one capped count, whether
the export is long, and if so issues it as a background export and returns the status page's URL.
Without a handler every export streams in the request as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet

from accounts.filters import AuditEventFilter
from accounts.models import AuditEvent, User
from core import keyset

# Rows read per query (keyset batches: no cursor held open for a long download).
AUDIT_CSV_BATCH = 2000
AUDIT_CSV_COLUMNS = [
    ("at", "When (UTC)"),
    ("actor_username", "User"),
    ("role", "Role"),
    ("patient_mrn", "Patient MRN"),
    ("action", "Action"),
    ("verb", "Kind"),
    ("data_category", "Data category"),
    ("object_type", "Object type"),
    ("object_id", "Object id"),
    ("outcome", "Outcome"),
    ("under_emergency_access", "Under emergency access"),
    ("ip_address", "IP address"),
    ("request_id", "Request id"),
]
# Query parameters that move through the pages or choose the format rather than the entries.
NOT_FILTERS = ("page", "after", "before", "format")

Handler = Callable[..., "str | None"]
_background: list[Handler] = []


def register_audit_csv_background(handler: Handler) -> None:
    """``handler(params=..., by=...)`` returns where to send the user when it took the export, else None."""
    _background[:] = [handler]


def audit_csv_background(*, params: dict[str, str], by: User) -> str | None:
    return _background[0](params=params, by=by) if _background else None


def filters_of(data) -> dict[str, str]:
    """The filters of a request's query (one value each), without paging or format."""
    return {k: v for k, v in data.items() if k not in NOT_FILTERS}


def filtered(params: dict[str, Any]) -> tuple[QuerySet[AuditEvent], bool] | None:
    """The trail the filters choose (unordered) and whether newest first; None when they are invalid."""
    events = AuditEventFilter(params or None, queryset=AuditEvent.objects.all())
    if not (events.is_bound and events.is_valid()):
        return None
    return events.qs.order_by(), params.get("sort", "-at") != "at"


def count(params: dict[str, Any], cap: int | None) -> int:
    chosen = filtered(params)
    if chosen is None:
        return 0
    return chosen[0].count() if cap is None else keyset.capped_count(chosen[0], cap)


def csv_lines(queryset: QuerySet[AuditEvent], *, newest_first: bool) -> Iterator[list[Any]]:
    """The heading, then every chosen event, in keyset batches: each a short range read on the
    (at, id) index, so no cursor or snapshot is held open, and the audit rows written meanwhile
    land outside the range read."""
    fields = [name for name, _ in AUDIT_CSV_COLUMNS]
    yield [label for _, label in AUDIT_CSV_COLUMNS]
    after = None
    while True:
        batch = keyset.keyset_page(
            queryset.only("id", *fields), size=AUDIT_CSV_BATCH, newest_first=newest_first, after=after
        )
        for event in batch:
            yield [getattr(event, name) for name in fields]
        if not batch.has_next:
            return
        after = batch.next_cursor


def rows(params: dict[str, Any]) -> Iterator[list[Any]]:
    """The export's lines from its filters (what the documents worker writes)."""
    chosen = filtered(params)
    if chosen is None:
        return iter(())
    return csv_lines(chosen[0], newest_first=chosen[1])
