"""What other apps are told when an appointment changes.

``register_appointment_changed(fn)`` with ``fn(appointment_id) -> None``: after any booking, move,
cancellation or status change of an appointment commits, each registered function is called with
its id (never for a change that rolled back); a past visit imported as history
(``services.appointment_import_history``) is told to no one, so nothing is sent or charged for it.
The reminders app registers its sync from ``RemindersConfig.ready``; scheduling imports nothing
from the apps that listen. Registering the same function twice keeps one copy.

``register_record_links(fn)`` with ``fn(appointment, user) -> list[RecordLink]``: the clinical
records of an appointment (its intake, its infusion session), or the action that opens one, as
the later apps say them for this user, so the appointment page reaches every record of the visit
whatever the day without scheduling importing those apps.

``register_care_states(fn)`` with ``fn(appointment_ids) -> dict[int, str]``: where the patient
of each visit under way is, in words anyone at the desk may read ("In chair", "Recovering"),
for the calendar to show in place of the one "In progress" status. One query per call, however
many appointments; ids the app knows nothing about are left out.

``register_booking_check(fn)`` with ``fn(patient, appointment_type, start, *, end, location) ->
list[str]``: the reasons, in words the front desk reads, why a later app refuses this booking (a
course's planned sessions used up, too soon after the last infusion, a booster waiting for a
re-screen). Called by every booking and every move (``services.appointment_book``, which the
booking form, a move, a series and any later path go through) and by a series' dry run, so the
slot is refused with the reason before anything is saved; an empty list lets it through.

``register_check_in_check(fn)`` with ``fn(appointment) -> list[str]``: the same for the desk's
check-in of a booked visit (the day may have moved on since it was booked).

``register_paperwork(fn)`` with ``fn(appointment_ids) -> dict[int, str]``: what the patient of
each visit still has to fill in before it ("Lacks intake forms: not sent"), in words anyone at the
desk may read, for the day sheet. Same shape as the care states: one query per call, ids the app
has nothing to say about left out.

``register_cancellation_notice(fn)`` with ``fn(appointment, at) -> str``: what cancelling the
visit at ``at`` would bring with it, in words the patient reads before cancelling online (the
billing app's late-cancellation fee); an empty string says nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

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


@dataclass(frozen=True)
class RecordLink:
    """A record of the visit: a page (``opens`` False) or the button that opens the record (a POST)."""

    label: str
    url: str
    opens: bool = False
    # Shown under "Clinical record", which the front desk never sees; False for an administrative
    # link of the visit (its deposit, its billable items), shown under "Billing" instead.
    clinical: bool = True


RecordLinks = Callable[[Any, Any], list[RecordLink]]
_RECORD_LINKS: list[RecordLinks] = []


def register_record_links(fn: RecordLinks) -> RecordLinks:
    if fn not in _RECORD_LINKS:
        _RECORD_LINKS.append(fn)
    return fn


def record_links(appointment: Any, user: Any) -> list[RecordLink]:
    return [link for fn in list(_RECORD_LINKS) for link in fn(appointment, user)]


CareStates = Callable[[list[int]], dict[int, str]]
_CARE_STATES: list[CareStates] = []


def register_care_states(fn: CareStates) -> CareStates:
    if fn not in _CARE_STATES:
        _CARE_STATES.append(fn)
    return fn


def care_states(appointment_ids: list[int]) -> dict[int, str]:
    """Where the patient is, by appointment id, for the visits the later apps follow (no query
    when ``appointment_ids`` is empty)."""
    states: dict[int, str] = {}
    if appointment_ids:
        for fn in list(_CARE_STATES):
            states.update(fn(appointment_ids))
    return states


BookingCheck = Callable[..., list[str]]
_BOOKING_CHECKS: list[BookingCheck] = []


def register_booking_check(fn: BookingCheck) -> BookingCheck:
    if fn not in _BOOKING_CHECKS:
        _BOOKING_CHECKS.append(fn)
    return fn


def unregister_booking_check(fn: BookingCheck) -> None:
    if fn in _BOOKING_CHECKS:
        _BOOKING_CHECKS.remove(fn)


def booking_refusals(
    patient: Any, appointment_type: Any, start: datetime, *, end: datetime, location: Any
) -> list[str]:
    """Every registered app's reasons to refuse this booking (none: it may go ahead)."""
    return [
        message
        for fn in list(_BOOKING_CHECKS)
        for message in fn(patient, appointment_type, start, end=end, location=location)
    ]


CheckInCheck = Callable[[Any], list[str]]
_CHECK_IN_CHECKS: list[CheckInCheck] = []


def register_check_in_check(fn: CheckInCheck) -> CheckInCheck:
    if fn not in _CHECK_IN_CHECKS:
        _CHECK_IN_CHECKS.append(fn)
    return fn


def unregister_check_in_check(fn: CheckInCheck) -> None:
    if fn in _CHECK_IN_CHECKS:
        _CHECK_IN_CHECKS.remove(fn)


def check_in_refusals(appointment: Any) -> list[str]:
    """Every registered app's reasons to refuse checking this visit in (none: it may go ahead)."""
    return [message for fn in list(_CHECK_IN_CHECKS) for message in fn(appointment)]


Paperwork = Callable[[list[int]], dict[int, str]]
_PAPERWORK: list[Paperwork] = []


def register_paperwork(fn: Paperwork) -> Paperwork:
    if fn not in _PAPERWORK:
        _PAPERWORK.append(fn)
    return fn


def paperwork(appointment_ids: list[int]) -> dict[int, str]:
    """What is still to fill in, by appointment id (no query when ``appointment_ids`` is empty)."""
    notes: dict[int, str] = {}
    if appointment_ids:
        for fn in list(_PAPERWORK):
            for pk, note in fn(appointment_ids).items():
                notes[pk] = f"{notes[pk]}; {note}" if pk in notes else note
    return notes


CancellationNotice = Callable[[Any, datetime], str]
_CANCELLATION_NOTICES: list[CancellationNotice] = []


def register_cancellation_notice(fn: CancellationNotice) -> CancellationNotice:
    if fn not in _CANCELLATION_NOTICES:
        _CANCELLATION_NOTICES.append(fn)
    return fn


def cancellation_notices(appointment: Any, at: datetime) -> list[str]:
    """What every registered app says about cancelling this visit now (nothing: none applies)."""
    return [text for fn in list(_CANCELLATION_NOTICES) if (text := fn(appointment, at))]
