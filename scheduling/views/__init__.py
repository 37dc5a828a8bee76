"""Calendar, booking and appointment views. Short function views: fetch, bind, call one service."""

from scheduling.views.appointments import (
    appointment_cancel,
    appointment_detail,
    appointment_escort,
    appointment_move,
    appointment_reschedule,
    appointment_status,
    patient_panel,
)
from scheduling.views.booking import book, find, patient_search, resource_options, series_new
from scheduling.views.common import user_moves
from scheduling.views.feeds import feed, feed_regenerate, feed_revoke, feeds
from scheduling.views.schedule import calendar, day_sheet

__all__ = [
    "appointment_cancel",
    "appointment_detail",
    "appointment_escort",
    "appointment_move",
    "appointment_reschedule",
    "appointment_status",
    "book",
    "calendar",
    "day_sheet",
    "feed",
    "feed_regenerate",
    "feed_revoke",
    "feeds",
    "find",
    "patient_panel",
    "patient_search",
    "resource_options",
    "series_new",
    "user_moves",
]
