"""Pure scheduling rules: values in, values out (no ORM, no request, no clock).

Callers pass the instant they mean (``at``) and the location's zone name.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models.enums import TextChoices

from core.formatting import clock


class AppointmentStatus(TextChoices):
    """The appointment's status vocabulary, kept with the rules that move between them (so the rules
    import no model; ``scheduling.models`` takes it from here)."""

    # FHIR Appointment.status vocabulary where it fits [S126]; Bahmni's arrived ≈ checked_in [S63].
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    CHECKED_IN = "checked_in", "Checked in"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"


S = AppointmentStatus

Interval = tuple[datetime, datetime]
Window = tuple[time, time]

# --- Status lifecycle (clinical-reference §5.2; FHIR Appointment.status [S126]) -----------

TRANSITIONS: dict[str, frozenset[str]] = {
    S.BOOKED: frozenset({S.CONFIRMED, S.CHECKED_IN, S.CANCELLED, S.NO_SHOW, S.ENTERED_IN_ERROR}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW, S.ENTERED_IN_ERROR}),
    # A checked-in visit can still be called off (no escort, not fasted: clinical-reference
    # §1.2 [S47]) before it starts; after that it can only finish or be voided.
    S.CHECKED_IN: frozenset({S.IN_PROGRESS, S.CANCELLED, S.ENTERED_IN_ERROR}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.ENTERED_IN_ERROR}),
    S.COMPLETED: frozenset({S.ENTERED_IN_ERROR}),
    S.CANCELLED: frozenset({S.ENTERED_IN_ERROR}),
    S.NO_SHOW: frozenset({S.ENTERED_IN_ERROR}),
    S.ENTERED_IN_ERROR: frozenset(),
}

# What a patient may do to their own visit through a reminder link (before it starts), and from
# which statuses: confirm a booked visit, or cancel one not yet checked in.
PATIENT_LINK_MOVES: dict[str, frozenset[str]] = {
    S.CONFIRMED: frozenset({S.BOOKED}),
    S.CANCELLED: frozenset({S.BOOKED, S.CONFIRMED}),
}

# The permission each target status needs (checked in the service, not only the UI [S69]).
TRANSITION_PERMISSION: dict[str, str] = {
    S.CONFIRMED: "scheduling.change_appointment",
    S.CHECKED_IN: "scheduling.change_appointment",
    S.IN_PROGRESS: "scheduling.change_appointment",
    S.COMPLETED: "scheduling.change_appointment",
    S.CANCELLED: "scheduling.manage_bookings",
    S.NO_SHOW: "scheduling.manage_bookings",
    S.ENTERED_IN_ERROR: "scheduling.mark_entered_in_error",
}

RESCHEDULED_REASON = "rescheduled"

# The visit's course as the clinical record moves it: arrived, in care (in the chair, in recovery,
# in the consultation room), done. Confirmed is the booked visit confirmed; it is never stepped into.
CARE_COURSE: tuple[str, ...] = (S.BOOKED, S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED)
CARE_NOT_GIVEN_FROM: frozenset[str] = frozenset({S.BOOKED, S.CONFIRMED, S.CHECKED_IN})


def care_path(*, current: str, target: str) -> list[str]:
    """The statuses an appointment passes through, in order, to follow its clinical record from
    ``current`` to ``target`` (e.g. booked → checked in → in progress → completed for an intake
    signed without a front-desk check-in; cancelled when the care was not given); [] when it is
    already there or beyond, or when the visit is off the course (cancelled, no-show, entered
    in error), which the care never undoes."""
    if target == S.CANCELLED:
        # The patient went home untreated (deferred at the chair): a visit that had not started
        # is called off, so the desk sees it to rebook and the chair's slot is free again; one
        # already in progress can only complete, and a visit off the course stays as it is.
        return [S.CANCELLED] if current in CARE_NOT_GIVEN_FROM else []
    if target not in CARE_COURSE[1:]:
        raise ValueError(f"the care does not move an appointment to {target!r}")
    position = S.BOOKED if current == S.CONFIRMED else current
    if position not in CARE_COURSE:
        return []
    here, there = CARE_COURSE.index(position), CARE_COURSE.index(target)
    return list(CARE_COURSE[here + 1 : there + 1])


def transition_problem(
    *,
    current: str,
    target: str,
    reason: str,
    start: datetime,
    at: datetime,
    tz_name: str,
    no_show_grace_minutes: int,
) -> str | None:
    """Why ``current → target`` is refused at ``at``, or None when it is allowed."""
    if target not in TRANSITIONS.get(current, frozenset()):
        return f"A {S(current).label.lower()} appointment cannot be marked {S(target).label.lower()}."
    if target in (S.CANCELLED, S.ENTERED_IN_ERROR) and not reason.strip():
        return "Give a reason." if target == S.ENTERED_IN_ERROR else "Give a reason for the cancellation."
    zone = ZoneInfo(tz_name)
    if target == S.NO_SHOW:
        allowed_from = start + timedelta(minutes=no_show_grace_minutes)
        if at < allowed_from:
            return (
                f"A no-show can be recorded from {clock(allowed_from.astimezone(zone))} "
                f"({no_show_grace_minutes} minutes after the start)."
            )
    if target == S.CHECKED_IN and at.astimezone(zone).date() != start.astimezone(zone).date():
        return "Patients can only be checked in on the day of the appointment."
    return None


# --- Durations ------------------------------------------------------------------


def default_minutes(*, default: int, infusion: int | None, recovery: int | None) -> int:
    """Chair time covers the infusion *and* the monitored recovery (clinical-reference §1.1)."""
    if infusion is not None:
        return infusion + (recovery or 0)
    return default


# --- Local wall time ↔ UTC (security-reference R7, tests G1/G2) -------------------


class LocalTimeError(ValueError):
    pass


class NonexistentLocalTime(LocalTimeError):
    pass


class AmbiguousLocalTime(LocalTimeError):
    pass


def day_text(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def when_text(local: datetime) -> str:
    """``local`` already in the location's zone: "Tue 3 Mar 2026, 10:00 AM"."""
    return f"{day_text(local.date())}, {clock(local)}"


def to_utc(day: date, wall: time, tz_name: str, *, fold: int | None = None) -> datetime:
    """The UTC instant of a local wall time.

    Refuses a time the clocks skip (spring forward) and, unless ``fold`` says
    which one is meant (0 = the first, 1 = the second), a time they pass twice.
    """
    zone = ZoneInfo(tz_name)
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise NonexistentLocalTime(
            f"{clock(wall)} does not exist on {day_text(day)} in {tz_name}: the clocks go forward an hour. "
            "Choose another time."
        )
    if fold is None:
        raise AmbiguousLocalTime(
            f"{clock(wall)} happens twice on {day_text(day)} in {tz_name} (the clocks go back an hour). "
            "Say whether you mean the first or the second."
        )
    return (second if fold else first).astimezone(UTC)


def is_ambiguous(day: date, wall: time, tz_name: str) -> bool:
    """Does this wall time happen twice that day (the night the clocks go back)?"""
    try:
        to_utc(day, wall, tz_name)
    except AmbiguousLocalTime:
        return True
    except NonexistentLocalTime:
        return False
    return False


def is_nonexistent(day: date, wall: time, tz_name: str) -> bool:
    """Does the clock skip this wall time that day (the night the clocks go forward)?"""
    try:
        to_utc(day, wall, tz_name, fold=0)
    except NonexistentLocalTime:
        return True
    return False


def local_day_bounds(day: date, tz_name: str) -> Interval:
    """[start, end) in UTC of a local calendar day (23 or 25 hours on DST days)."""
    zone = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True)
class PlannedOccurrence:
    day: date
    start: datetime | None  # UTC; None when the wall time does not exist that day
    problem: str = ""


def expand_weekly(
    *, first_day: date, weekdays: Iterable[int], wall: time, count: int, tz_name: str, fold: int | None = None
) -> list[PlannedOccurrence]:
    """``count`` occurrences on the chosen weekdays from ``first_day``, at the same *local* time.

    Expanding in wall time and converting each date separately keeps a 10:00
    series at 10:00 across a DST change (security-reference R7).
    """
    chosen = {int(w) for w in weekdays}
    if not chosen or count < 1:
        return []
    out: list[PlannedOccurrence] = []
    day = first_day
    while len(out) < count:
        if day.weekday() in chosen:
            try:
                out.append(PlannedOccurrence(day=day, start=to_utc(day, wall, tz_name, fold=fold)))
            except LocalTimeError as exc:
                out.append(PlannedOccurrence(day=day, start=None, problem=str(exc)))
        day += timedelta(days=1)
    return out


# --- Hours, closures, overlaps, capacity ------------------------------------------


def fits_windows(start: datetime, end: datetime, tz_name: str, windows: Iterable[Window]) -> bool:
    """Does [start, end) lie inside one of the local wall-time windows of its day?"""
    zone = ZoneInfo(tz_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date():
        return False
    return any(opens <= local_start.time() and local_end.time() <= closes for opens, closes in windows)


def describe_windows(windows: Sequence[Window]) -> str:
    return ", ".join(f"{clock(a)}–{clock(b)}" for a, b in windows) or "closed"


def overlaps(a: Interval, b: Interval) -> bool:
    """Half-open ranges: [9, 10) and [10, 11) do not overlap."""
    return a[0] < b[1] and b[0] < a[1]


def overlapping_pairs(intervals: Sequence[Interval | None]) -> list[tuple[int, int]]:
    """Index pairs of intervals that overlap each other (None entries are skipped)."""
    pairs = []
    for i, a in enumerate(intervals):
        for j in range(i + 1, len(intervals)):
            b = intervals[j]
            if a is not None and b is not None and overlaps(a, b):
                pairs.append((i, j))
    return pairs


def peak_concurrency(intervals: Iterable[Interval], start: datetime, end: datetime) -> int:
    """The most intervals in progress at the same instant within [start, end)."""
    events: list[tuple[datetime, int]] = []
    for s, e in intervals:
        s, e = max(s, start), min(e, end)
        if s < e:
            events += [(s, 1), (e, -1)]
    events.sort()  # at equal instants -1 sorts first: half-open ranges hand over cleanly
    current = peak = 0
    for _, delta in events:
        current += delta
        peak = max(peak, current)
    return peak


def clinician_load_problem(
    *,
    new: Interval,
    new_is_exclusive: bool,
    exclusive_busy: Iterable[Interval],
    monitoring_busy: Sequence[Interval],
    capacity: int,
) -> str | None:
    """Can this clinician take the new booking on top of what they already have?

    An exclusive visit (intake consultation) needs the clinician's whole
    attention, so it cannot overlap anything. Monitored infusions may overlap
    each other up to the site's monitoring capacity (clinic policy), but not an
    exclusive visit.
    """
    if new_is_exclusive:
        if any(overlaps(new, b) for b in monitoring_busy):
            return "The clinician is monitoring infusions then and cannot see another patient."
        if any(overlaps(new, b) for b in exclusive_busy):
            return "The clinician is already seeing another patient then."
        return None
    if any(overlaps(new, b) for b in exclusive_busy):
        return "The clinician is seeing another patient then and cannot monitor an infusion."
    if peak_concurrency(monitoring_busy, *new) + 1 > capacity:
        return f"The clinician would be monitoring more than {capacity} chairs at once (this site's policy)."
    return None


# --- Finding free slots -----------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    resource_id: int | None
    clinician_id: int | None


@dataclass
class Availability:
    """Everything the free-slot search needs, already loaded."""

    tz_name: str
    opening: dict[int, list[Window]]
    closed_days: set[date]
    resource_ids: list[int | None]  # candidates in order of preference; [None] if nothing is needed
    resource_busy: dict[int, list[Interval]]
    patient_busy: list[Interval]
    clinician_id: int | None = None
    clinician_hours: dict[int, list[Window]] | None = None  # None: no clinician to fit
    clinician_exclusive_busy: list[Interval] | None = None
    clinician_monitoring_busy: list[Interval] | None = None
    new_is_exclusive: bool = True
    capacity: int = 1


def _sorted_free(busy: list[Interval], start: datetime, end: datetime) -> bool:
    # ``busy`` is sorted by start and non-overlapping (one chair holds one patient).
    i = bisect_left(busy, (end,))
    return i == 0 or busy[i - 1][1] <= start


def _slot_ok(av: Availability, start: datetime, end: datetime) -> bool:
    new = (start, end)
    if any(overlaps(new, b) for b in av.patient_busy):
        return False
    if av.clinician_hours is not None:
        if not fits_windows(
            start, end, av.tz_name, av.clinician_hours.get(start.astimezone(ZoneInfo(av.tz_name)).weekday(), [])
        ):
            return False
        problem = clinician_load_problem(
            new=new,
            new_is_exclusive=av.new_is_exclusive,
            exclusive_busy=av.clinician_exclusive_busy or [],
            monitoring_busy=av.clinician_monitoring_busy or [],
            capacity=av.capacity,
        )
        if problem:
            return False
    return True


def free_slots(
    av: Availability,
    *,
    after: datetime,
    minutes: int,
    limit: int = 5,
    horizon_days: int = 14,
    step_minutes: int = 15,
    spacing_minutes: int = 0,
) -> list[Slot]:
    """The first ``limit`` free starts at or after ``after``, scanning opening hours day by day.

    ``spacing_minutes`` keeps offers apart (09:00, 09:30 … rather than four
    offers a quarter of an hour apart).
    """
    zone = ZoneInfo(av.tz_name)
    length = timedelta(minutes=minutes)
    for busy in av.resource_busy.values():
        busy.sort()
    found: list[Slot] = []
    first_day = after.astimezone(zone).date()
    for offset in range(horizon_days + 1):
        day = first_day + timedelta(days=offset)
        if day in av.closed_days:
            continue
        for opens, closes in sorted(av.opening.get(day.weekday(), [])):
            wall = datetime.combine(day, opens)
            # Align to the step so that offers read like a receptionist's (09:00, 09:15 …).
            wall += timedelta(minutes=(-(wall.hour * 60 + wall.minute)) % step_minutes)
            limit_wall = datetime.combine(day, closes)
            while wall + length <= limit_wall:
                try:
                    start = to_utc(day, wall.time(), av.tz_name, fold=0)
                except NonexistentLocalTime:
                    wall += timedelta(minutes=step_minutes)
                    continue
                end = start + length
                spaced = not found or start >= found[-1].start + timedelta(minutes=spacing_minutes)
                if (
                    spaced
                    and start >= after
                    and fits_windows(start, end, av.tz_name, [(opens, closes)])
                    and _slot_ok(av, start, end)
                ):
                    for resource_id in av.resource_ids:
                        if resource_id is None or _sorted_free(av.resource_busy.get(resource_id, []), start, end):
                            found.append(Slot(start, end, resource_id, av.clinician_id))
                            break
                    if len(found) >= limit:
                        return found
                wall += timedelta(minutes=step_minutes)
    return found


# --- Self-booking (clinic policy; the clinical reference sets no booking window) ---------------


def self_booking_window(*, now: datetime, min_notice_hours: int, horizon_days: int) -> Interval:
    """[earliest, latest] start a patient may book on their own: the minimum notice from now,
    up to the horizon (both clinic policy, from the self-booking policy)."""
    return now + timedelta(hours=min_notice_hours), now + timedelta(days=horizon_days)


def self_booking_problem(
    *, self_bookable: bool, start: datetime, now: datetime, min_notice_hours: int, horizon_days: int
) -> tuple[str, str] | None:
    """Why a patient may not book this type at this time themselves, as (field, message), or None."""
    if not self_bookable:
        return "appointment_type", "This kind of visit cannot be booked online; please call the clinic."
    earliest, latest = self_booking_window(now=now, min_notice_hours=min_notice_hours, horizon_days=horizon_days)
    if start < earliest:
        hours = min_notice_hours
        return "start", f"Online bookings need at least {hours} hour{'s' if hours != 1 else ''} notice."
    if start > latest:
        return "start", f"Online bookings open {horizon_days} days ahead; please choose an earlier time."
    return None


def waitlist_wants(*, slot_day: date, before: date | None) -> bool:
    """Whether a freed slot on ``slot_day`` (local) is one the waitlisted patient asked for."""
    return before is None or slot_day <= before
