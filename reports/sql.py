"""Small PostgreSQL expressions the reports share.

Local time is taken per row from the appointment's own location
(``timezone(location.time_zone, start)``), so a visit at 23:30 in New York
counts on its New York day even when the report spans sites in several zones.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.db.models import (
    Aggregate,
    DateField,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Value,
)
from django.db.models.functions import Cast


class LocalWallTime(Func):
    """``timezone(zone, instant)``: the wall-clock timestamp (without zone) at ``zone``."""

    function = "timezone"
    output_field = DateTimeField()

    def __init__(self, instant, zone, **extra):
        super().__init__(zone, instant, **extra)


def utc_window(start, end) -> tuple[datetime, datetime]:
    """A UTC range that holds every instant whose local day (in any zone) is in [start, end].

    Filtering on it first lets an index on the instant narrow the rows before the
    exact, per-row local-day test (which no index can serve).
    """
    return (
        datetime.combine(start - timedelta(days=1), time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=2), time.min, tzinfo=UTC),
    )


def _expr(value):
    return F(value) if isinstance(value, str) else value


def local_date(instant="start", zone="location__time_zone") -> Cast:
    return Cast(LocalWallTime(_expr(instant), _expr(zone)), DateField())


def local_period(period: str, instant="start", zone="location__time_zone") -> Cast:
    """First local day of the ISO week or month the instant falls in."""
    if period not in ("week", "month"):
        raise ValueError(period)
    trunc = Func(
        Value(period), LocalWallTime(_expr(instant), _expr(zone)), function="date_trunc", output_field=DateTimeField()
    )
    return Cast(trunc, DateField())


class _LocalPart(Func):
    output_field = IntegerField()

    def __init__(self, part: str, instant="start", zone="location__time_zone"):
        self.template = f"EXTRACT({part} FROM %(expressions)s)::integer"
        super().__init__(LocalWallTime(_expr(instant), _expr(zone)))


def local_weekday(instant="start", zone="location__time_zone") -> ExpressionWrapper:
    """Monday = 0 … Sunday = 6 (``date.weekday()`` and ``scheduling.Weekday`` numbering)."""
    return ExpressionWrapper(_LocalPart("ISODOW", instant, zone) - 1, output_field=IntegerField())


def local_hour(instant="start", zone="location__time_zone") -> Func:
    return _LocalPart("HOUR", instant, zone)


class Days(Func):
    """Days between two instants (fractional), ``later - earlier``."""

    template = "(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400.0)"
    arg_joiner = " - "
    output_field = FloatField()


class Hours(Func):
    """Hours in an interval expression."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) / 3600.0)"
    output_field = FloatField()


class Minutes(Func):
    """Minutes in an interval expression."""

    template = "(EXTRACT(EPOCH FROM %(expressions)s) / 60.0)"
    output_field = FloatField()


class Median(Aggregate):
    """``percentile_cont(0.5)``: the median; NULLs are ignored, NULL when there are none."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()
    allow_distinct = False
