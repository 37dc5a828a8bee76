"""Small template helpers for the calendar (lookups the selector already prepared)."""

from __future__ import annotations

from django import template
from django.utils import formats

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
    """Wall time of a datetime already in the right zone, in the clinic's time format."""
    return formats.time_format(value) if value is not None else ""


@register.filter
def in_zone(value, location):
    """An instant in its location's zone (``{{ appt.start|in_zone:appt.location }}``)."""
    return value.astimezone(location.zone) if value is not None else None


@register.filter
def on_day(column, day):
    """A calendar column's appointments on one day."""
    return column.by_day.get(day, [])
