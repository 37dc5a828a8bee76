"""How values are written for people, in one place (pages, PDFs and messages alike).

Times of day follow the clinic's format settings (``grace_mindcare/formats``) through
``django.utils.formats``; what has no Django format of its own is here.
"""

from __future__ import annotations

from datetime import datetime, time

from django.utils import formats


def zone_label(name: str) -> str:
    """A time zone as people write it: "America/New York", not the database key "America/New_York"."""
    return name.replace("_", " ")


def clock(value: time | datetime) -> str:
    """A time of day (already in the right zone) in the clinic's format: "2:30 PM"."""
    return formats.time_format(value)
