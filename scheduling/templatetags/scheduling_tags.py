"""Small template helpers for the calendar (lookups the selector already prepared)."""

from __future__ import annotations

from django import template

from scheduling import rules

register = template.Library()


@register.filter
def lookup(mapping, key):
    """``{{ moves|lookup:appt.status }}``: a dict entry by a variable key."""
    try:
        return mapping.get(key, ())
    except AttributeError:
        return ()


@register.filter
def clock(value) -> str:
    """12-hour wall time of a datetime already in the right zone: 2:30 PM."""
    return rules.clock(value) if value is not None else ""


@register.filter
def in_zone(value, location):
    """An instant in its location's zone (``{{ appt.start|in_zone:appt.location }}``)."""
    return value.astimezone(location.zone) if value is not None else None


@register.filter
def on_day(column, day):
    """A calendar column's appointments on one day."""
    return column.by_day.get(day, [])
