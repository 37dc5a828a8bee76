"""What other apps are told when an appointment changes.

``register_appointment_changed(fn)`` with ``fn(appointment_id) -> None``: after any booking, move,
cancellation or status change of an appointment commits, each registered function is called with
its id (never for a change that rolled back). The reminders app registers its sync from
``RemindersConfig.ready``; scheduling imports nothing from the apps that listen. Registering the
same function twice keeps one copy.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.db import transaction

AppointmentChanged = Callable[[int], None]
_APPOINTMENT_CHANGED: list[AppointmentChanged] = []


def register_appointment_changed(fn: AppointmentChanged) -> AppointmentChanged:
    if fn not in _APPOINTMENT_CHANGED:
        _APPOINTMENT_CHANGED.append(fn)
    return fn


def unregister_appointment_changed(fn: AppointmentChanged) -> None:
    if fn in _APPOINTMENT_CHANGED:
        _APPOINTMENT_CHANGED.remove(fn)


def appointment_changed(appointment_id: int) -> None:
    """Tell every registered listener, once the current transaction commits, that this appointment changed."""
    for fn in list(_APPOINTMENT_CHANGED):
        transaction.on_commit(partial(fn, appointment_id))
