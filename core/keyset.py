"""Keyset pagination for long histories: pages by (time, id) instead of OFFSET.

An OFFSET page reads and throws away every row before it, and a page number needs a COUNT(*) of
the whole set; on a trail of millions of rows the last page costs as much as a scan of the table.
A keyset page starts at the row the link names, so every page (first, next, previous, last) is one
range read on a (time, id) index, whatever the depth. Totals, when shown, are capped counts.

A cursor is ``<microseconds since the epoch>.<id>`` of the row a page starts after or ends before:
not secret (the page shows both), and a cursor that does not parse is treated as none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def cursor_of(at: datetime, pk: int) -> str:
    return f"{(at - _EPOCH) // _MICROSECOND}.{pk}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    micros, dot, pk = (text or "").partition(".")
    try:
        value = _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except (ValueError, OverflowError):
        return None
    return value if dot and value[1] > 0 else None


@dataclass
class KeysetPage:
    """One page of rows, in display order, and the cursors of the links around it."""

    rows: list[Any]
    has_previous: bool
    has_next: bool
    previous_cursor: str = ""
    next_cursor: str = ""

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _beyond(queryset: QuerySet, key: str, cursor: tuple[datetime, int], op: str) -> QuerySet:
    """Rows strictly beyond ``cursor`` in (key, id) order: ``op`` is ``<`` or ``>``.

    The row comparison is one index range; the plain bound on ``key`` beside it lets an index that
    leads with another column (patient, actor) bound its scan too.
    """
    if op not in ("<", ">"):
        raise ValueError(f"keyset comparison must be < or >, not {op!r}")
    model = queryset.model
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    column = qn(model._meta.get_field(key).column)
    pk = qn(model._meta.pk.column)
    at, ident = cursor
    bound = {f"{key}__lte" if op == "<" else f"{key}__gte": at}
    # Quoted names from the model and an operator from the two above; the values are parameters.
    row = RawSQL(f"({table}.{column}, {table}.{pk}) {op} (%s, %s)", (at, ident), output_field=BooleanField())  # noqa: S611  # nosec B611 - quoted names, values bound
    return queryset.filter(row, **bound)


def keyset_page(
    queryset: QuerySet,
    *,
    size: int,
    key: str = "at",
    newest_first: bool = True,
    after: str | None = None,
    before: str | None = None,
    last: bool = False,
) -> KeysetPage:
    """The page after the ``after`` cursor, before the ``before`` cursor, the last page, or the first.

    Reads ``size + 1`` rows to know whether another page follows; never counts.
    """
    forward = [f"-{key}", "-pk"] if newest_first else [key, "pk"]
    backward = [key, "pk"] if newest_first else [f"-{key}", "-pk"]
    ahead, behind = ("<", ">") if newest_first else (">", "<")
    after_at, before_at = parse_cursor(after), parse_cursor(before)
    if last:
        rows = list(queryset.order_by(*backward)[: size + 1])
        has_previous, has_next = len(rows) > size, False
        rows = rows[:size][::-1]
    elif before_at is not None:
        rows = list(_beyond(queryset, key, before_at, behind).order_by(*backward)[: size + 1])
        has_previous, has_next = len(rows) > size, True
        rows = rows[:size][::-1]
    else:
        if after_at is not None:
            queryset = _beyond(queryset, key, after_at, ahead)
        rows = list(queryset.order_by(*forward)[: size + 1])
        has_previous, has_next = after_at is not None, len(rows) > size
        rows = rows[:size]
    page = KeysetPage(rows=rows, has_previous=has_previous and bool(rows), has_next=has_next and bool(rows))
    if rows:
        page.previous_cursor = cursor_of(getattr(rows[0], key), rows[0].pk)
        page.next_cursor = cursor_of(getattr(rows[-1], key), rows[-1].pk)
    return page


def capped_count(queryset: QuerySet, cap: int) -> int:
    """How many rows match, counting no further than ``cap + 1`` (shown as "more than ``cap``")."""
    return queryset.order_by()[: cap + 1].count()
