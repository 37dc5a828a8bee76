"""Checks before a booking and the search for free time: read-only, a few set-based queries each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Q, QuerySet
from django.utils import timezone

from patients.models import Patient
from scheduling import hooks, rules
from scheduling.models import (
    ACTIVE_STATUSES,
    MAX_APPOINTMENT_LENGTH,
    Appointment,
    AppointmentType,
    ClinicianHours,
    Closure,
    Location,
    OpeningHours,
    Resource,
)

ACTIVE = [s.value for s in ACTIVE_STATUSES]
MAX_CLINICIANS_SEARCHED = 12


# --- Reference data ---------------------------------------------------------------


def active_locations() -> QuerySet[Location]:
    return Location.objects.filter(active=True).order_by("name")


def active_types() -> QuerySet[AppointmentType]:
    return AppointmentType.objects.filter(active=True).order_by("name")


def clinicians() -> QuerySet:
    """Staff who have working hours somewhere: the people a booking can name."""
    user_model = get_user_model()
    return (
        user_model.objects.filter(is_active=True, working_hours__isnull=False)
        .distinct()
        .order_by("last_name", "first_name", "id")
    )


def bookable_resources() -> QuerySet[Resource]:
    return Resource.objects.filter(active=True, location__active=True).select_related("location")


def opening_windows(location: Location) -> dict[int, list[rules.Window]]:
    """The weekly windows still in effect (hours that ended before today no longer take bookings)."""
    windows: dict[int, list[rules.Window]] = defaultdict(list)
    today = timezone.localdate(timezone=location.zone)
    current = Q(effective_until__isnull=True) | Q(effective_until__gte=today)
    for weekday, opens, closes in OpeningHours.objects.filter(current, location=location).values_list(
        "weekday", "opens", "closes"
    ):
        windows[weekday].append((opens, closes))
    return {k: sorted(v) for k, v in windows.items()}


def clinician_windows(clinician, location: Location) -> dict[int, list[rules.Window]]:
    windows: dict[int, list[rules.Window]] = defaultdict(list)
    for weekday, starts, ends in ClinicianHours.objects.filter(clinician=clinician, location=location).values_list(
        "weekday", "starts", "ends"
    ):
        windows[weekday].append((starts, ends))
    return {k: sorted(v) for k, v in windows.items()}


def clinician_hours_overlaps(
    *, clinician, weekday: int, starts: time, ends: time, exclude_pk: int | None = None
) -> ClinicianHours | None:
    """Other working hours of the clinician that overlap [starts, ends) on the weekday, at any site
    (the exclusion constraint ``clinicianhours_no_overlap`` is the last word)."""
    found = ClinicianHours.objects.filter(clinician=clinician, weekday=weekday, starts__lt=ends, ends__gt=starts)
    if exclude_pk is not None:
        found = found.exclude(pk=exclude_pk)
    return found.select_related("location").first()


def future_bookings(*, location: Location | None = None, resource: Resource | None = None) -> int:
    """Active bookings at the site or in the chair or room that have not ended yet."""
    rows = Appointment.objects.filter(status__in=ACTIVE, end__gt=timezone.now())
    if location is not None:
        rows = rows.filter(location=location)
    if resource is not None:
        rows = rows.filter(resource=resource)
    return rows.count()


@dataclass(frozen=True)
class OpenState:
    open: bool
    reason: str = ""  # a closure's reason when the site is shut all day
    next_opens: datetime | None = None  # within the coming fortnight


def open_state(location: Location, at: datetime) -> OpenState:
    """Whether the site is open at ``at`` by its opening hours and closures, and when it next
    opens (two queries)."""
    local = at.astimezone(location.zone)
    windows = opening_windows(location)
    last = local.date() + timedelta(days=14)
    closed = closed_days(closures_between(location, local.date(), last), local.date(), last)
    if local.date() not in closed and any(a <= local.time() < b for a, b in windows.get(local.weekday(), [])):
        return OpenState(open=True)
    day = local.date()
    while day <= last:
        if day not in closed:
            for opens, _closes in windows.get(day.weekday(), []):
                moment = datetime.combine(day, opens, tzinfo=location.zone)
                if moment > local:
                    return OpenState(open=False, reason=closed.get(local.date(), ""), next_opens=moment)
        day += timedelta(days=1)
    return OpenState(open=False, reason=closed.get(local.date(), ""))


def closures_between(location: Location, first: date, last: date) -> list[Closure]:
    return list(Closure.objects.filter(location=location, starts_on__lte=last, ends_on__gte=first))


def closed_days(closures: Iterable[Closure], first: date, last: date) -> dict[date, str]:
    out: dict[date, str] = {}
    for closure in closures:
        day = max(closure.starts_on, first)
        while day <= min(closure.ends_on, last):
            out[day] = closure.reason
            day += timedelta(days=1)
    return out


# --- Checks before a write --------------------------------------------------------

Problems = dict[str, list[str]]


def _add(problems: Problems, field_name: str, message: str) -> None:
    problems.setdefault(field_name, []).append(message)


def booking_problems(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    start: datetime,
    end: datetime,
    resource: Resource | None,
    clinician,
    now: datetime,
    check_past: bool = True,
) -> Problems:
    """Everything wrong with a booking except clashes with other bookings, keyed by field."""
    problems: Problems = {}
    if patient.status == Patient.Status.DECEASED:
        _add(problems, "patient", "This patient is recorded as deceased; appointments cannot be booked.")
    elif patient.status != Patient.Status.ACTIVE:
        _add(problems, "patient", "This patient's record is inactive; reactivate it before booking.")
    if not appointment_type.active:
        _add(problems, "appointment_type", "This appointment type is no longer offered.")
    if not location.active:
        _add(problems, "location", "This location is not taking bookings.")
    if end <= start:
        _add(problems, "end", "The end must be after the start.")
        return problems
    if end - start > MAX_APPOINTMENT_LENGTH:
        _add(problems, "end", "An appointment cannot be longer than 12 hours.")
        return problems
    if check_past and start < now:
        _add(problems, "start", "That time has already passed; new bookings must be in the future.")

    needs = appointment_type.resource_kind
    if resource is not None:
        if needs == AppointmentType.NeedsResource.NONE:
            _add(problems, "resource", f"A {appointment_type.name.lower()} does not use a chair or room.")
        elif resource.kind != needs:
            _add(problems, "resource", f"A {appointment_type.name.lower()} needs a {resource_kind_label(needs)}.")
        if resource.location_id != location.pk:
            _add(problems, "resource", f"{resource.name} is not at {location.name}.")
        if not resource.active:
            _add(problems, "resource", f"{resource.name} is out of service.")
    if appointment_type.clinician_exclusive and clinician is None:
        _add(problems, "clinician", f"Choose the clinician for this {appointment_type.name.lower()}.")

    zone_name = location.time_zone
    local_day = start.astimezone(location.zone).date()
    closure = Closure.objects.filter(location=location, starts_on__lte=local_day, ends_on__gte=local_day).first()
    if closure is not None:
        _add(
            problems,
            "start",
            f"{location.name} is closed on {local_day:%a} {local_day.day} {local_day:%b}: {closure.reason}.",
        )
    else:
        windows = opening_windows(location).get(local_day.weekday(), [])
        if not rules.fits_windows(start, end, zone_name, windows):
            _add(
                problems,
                "start",
                f"Outside opening hours: {location.name} is open {rules.describe_windows(windows)} on {local_day:%A}s.",
            )
    if clinician is not None:
        windows = clinician_windows(clinician, location).get(local_day.weekday(), [])
        if not rules.fits_windows(start, end, zone_name, windows):
            _add(
                problems,
                "clinician",
                f"{clinician} does not work at {location.name} then "
                f"({local_day:%A}s: {rules.describe_windows(windows)}).",
            )
    for message in hooks.booking_refusals(patient, appointment_type, start, end=end, location=location):
        _add(problems, NON_FIELD_ERRORS, message)
    return problems


def resource_kind_label(kind: str) -> str:
    return {"chair": "infusion chair", "room": "consult room"}.get(kind, kind)


def _active_overlapping(start: datetime, end: datetime, ignore_ids: Sequence[int] = ()) -> QuerySet[Appointment]:
    # The lower bound on start is implied by the 12-hour limit and keeps the (…, start) indexes in play.
    return Appointment.objects.filter(
        status__in=ACTIVE, start__lt=end, start__gt=start - MAX_APPOINTMENT_LENGTH, end__gt=start
    ).exclude(pk__in=ignore_ids)


def overlap_conflict(
    *,
    patient: Patient,
    start: datetime,
    end: datetime,
    resource: Resource | None,
    clinician,
    clinician_exclusive: bool,
    ignore_ids: Sequence[int] = (),
) -> tuple[str, str] | None:
    """The first clash with an active booking as (field, message), or None. One query."""
    who = Q(patient=patient)
    if resource is not None:
        who |= Q(resource=resource)
    if clinician is not None and clinician_exclusive:
        who |= Q(clinician=clinician, clinician_exclusive=True)
    clashes = list(
        _active_overlapping(start, end, ignore_ids)
        .filter(who)
        .values("patient_id", "resource_id", "clinician_id", "clinician_exclusive")[:5]
    )
    for clash in clashes:
        if resource is not None and clash["resource_id"] == resource.pk:
            return "start", f"{resource.name} is already booked at that time."
    for clash in clashes:
        if clash["patient_id"] == patient.pk:
            return "patient", "This patient already has an appointment at that time."
    if clashes:
        return "clinician", f"{clinician} is already seeing another patient at that time."
    return None


def clinician_busy(
    clinician, start: datetime, end: datetime, ignore_ids: Sequence[int] = ()
) -> tuple[list[rules.Interval], list[rules.Interval]]:
    """(exclusive, monitoring) active intervals of a clinician overlapping [start, end)."""
    exclusive: list[rules.Interval] = []
    monitoring: list[rules.Interval] = []
    for s, e, excl in (
        _active_overlapping(start, end, ignore_ids)
        .filter(clinician=clinician)
        .values_list("start", "end", "clinician_exclusive")
    ):
        (exclusive if excl else monitoring).append((s, e))
    return exclusive, monitoring


def free_resources(
    *, location: Location, kind: str, start: datetime, end: datetime, ignore_ids: Sequence[int] = ()
) -> list[Resource]:
    taken = _active_overlapping(start, end, ignore_ids).filter(location=location).values("resource_id")
    return list(
        Resource.objects.filter(location=location, kind=kind, active=True)
        .exclude(pk__in=taken)
        .order_by("sort_order", "name")
    )


# --- Finding free slots -----------------------------------------------------------


def find_available(
    *,
    appointment_type: AppointmentType,
    location: Location,
    after: datetime,
    minutes: int | None = None,
    patient: Patient | None = None,
    clinician=None,
    resource: Resource | None = None,
    limit: int = 5,
    horizon_days: int = 14,
    extra_patient_busy: Sequence[rules.Interval] = (),
    ignore_ids: Sequence[int] = (),
    spacing_minutes: int = 30,
) -> list[rules.Slot]:
    """The first ``limit`` free slots for a type at a location, from ``after``, within ``horizon_days``.

    ``resource`` and ``clinician`` are preferences held fixed; without a
    resource every active chair or room of the right kind is tried in order.
    A visit that needs a clinician's whole attention and names none is
    searched for each clinician who works at the site, earliest offers first.
    Seven queries, plus three per clinician searched, however many bookings there are.
    """
    if appointment_type.clinician_exclusive and clinician is None:
        people = list(clinicians().filter(working_hours__location=location)[:MAX_CLINICIANS_SEARCHED])
        offers = []
        for person in people:
            offers += find_available(
                appointment_type=appointment_type,
                location=location,
                after=after,
                minutes=minutes,
                patient=patient,
                clinician=person,
                resource=resource,
                limit=limit,
                horizon_days=horizon_days,
                extra_patient_busy=extra_patient_busy,
                ignore_ids=ignore_ids,
                spacing_minutes=spacing_minutes,
            )
        offers.sort(key=lambda slot: (slot.start, slot.clinician_id or 0))
        out: list[rules.Slot] = []
        for slot in offers:
            if not out or slot.start >= out[-1].start + timedelta(minutes=spacing_minutes):
                out.append(slot)
        return out[:limit]
    minutes = minutes or appointment_type.minutes
    zone = location.zone
    first_day = after.astimezone(zone).date()
    last_day = first_day + timedelta(days=horizon_days)
    window_start, _ = rules.local_day_bounds(first_day, location.time_zone)
    _, window_end = rules.local_day_bounds(last_day, location.time_zone)

    if appointment_type.resource_kind == AppointmentType.NeedsResource.NONE:
        resource_ids: list[int | None] = [None]
    elif resource is not None:
        resource_ids = [resource.pk]
    else:
        resource_ids = list(
            Resource.objects.filter(location=location, kind=appointment_type.resource_kind, active=True)
            .order_by("sort_order", "name")
            .values_list("pk", flat=True)
        )
    busy: dict[int, list[rules.Interval]] = defaultdict(list)
    real_ids = [r for r in resource_ids if r is not None]
    if real_ids:
        for rid, s, e in (
            _active_overlapping(window_start, window_end, ignore_ids)
            .filter(resource_id__in=real_ids)
            .values_list("resource_id", "start", "end")
        ):
            busy[rid].append((s, e))
    patient_busy = list(extra_patient_busy)
    if patient is not None:
        patient_busy += list(
            _active_overlapping(window_start, window_end, ignore_ids)
            .filter(patient=patient)
            .values_list("start", "end")
        )
    av = rules.Availability(
        tz_name=location.time_zone,
        opening=opening_windows(location),
        closed_days=set(closed_days(closures_between(location, first_day, last_day), first_day, last_day)),
        resource_ids=resource_ids,
        resource_busy=busy,
        patient_busy=patient_busy,
        new_is_exclusive=appointment_type.clinician_exclusive,
        capacity=location.monitoring_capacity,
    )
    if clinician is not None:
        exclusive, monitoring = clinician_busy(clinician, window_start, window_end, ignore_ids)
        av.clinician_id = clinician.pk
        av.clinician_hours = clinician_windows(clinician, location)
        av.clinician_exclusive_busy = exclusive
        av.clinician_monitoring_busy = monitoring
    if not resource_ids:
        return []
    return rules.free_slots(
        av, after=after, minutes=minutes, limit=limit, horizon_days=horizon_days, spacing_minutes=spacing_minutes
    )


@dataclass
class OccurrenceCheck:
    """The dry-run verdict on one planned occurrence of a series."""

    index: int
    start: datetime | None
    end: datetime | None
    problems: list[str] = field(default_factory=list)
    alternatives: list[rules.Slot] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def number(self) -> int:
        return self.index + 1


def series_check(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    location: Location,
    occurrences: Sequence[rules.PlannedOccurrence],
    minutes: int,
    resource: Resource | None,
    clinician,
    now: datetime,
    alternatives: int = 3,
) -> list[OccurrenceCheck]:
    """Check every occurrence before anything is saved; suggest alternatives for the ones that fail."""
    length = timedelta(minutes=minutes)
    intervals = [(o.start, o.start + length) if o.start is not None else None for o in occurrences]
    checks = [
        OccurrenceCheck(index=i, start=o.start, end=(o.start + length) if o.start else None)
        for i, o in enumerate(occurrences)
    ]
    for check, planned in zip(checks, occurrences, strict=True):
        if check.start is None:
            check.problems.append(planned.problem or "No time given.")
            continue
        check.problems.extend(
            _occurrence_problems(
                patient=patient,
                appointment_type=appointment_type,
                location=location,
                start=check.start,
                end=check.end,
                resource=resource,
                clinician=clinician,
                now=now,
            )
        )
    for i, j in rules.overlapping_pairs(intervals):
        checks[j].problems.append(f"Overlaps occurrence {i + 1} of this series.")
    for check, planned in zip(checks, occurrences, strict=True):
        if check.ok:
            continue
        others = [iv for k, iv in enumerate(intervals) if iv is not None and k != check.index and checks[k].ok]
        after = check.start or rules.local_day_bounds(planned.day, location.time_zone)[0]
        check.alternatives = find_available(
            appointment_type=appointment_type,
            location=location,
            after=max(after, now),
            minutes=minutes,
            patient=patient,
            clinician=clinician,
            resource=resource,
            limit=alternatives,
            extra_patient_busy=others,
        )
    return checks


def _occurrence_problems(*, patient, appointment_type, location, start, end, resource, clinician, now) -> list[str]:
    problems: list[str] = []
    found = booking_problems(
        patient=patient,
        appointment_type=appointment_type,
        location=location,
        start=start,
        end=end,
        resource=resource,
        clinician=clinician,
        now=now,
    )
    for messages in found.values():
        problems.extend(messages)
    clash = overlap_conflict(
        patient=patient,
        start=start,
        end=end,
        resource=resource,
        clinician=clinician,
        clinician_exclusive=appointment_type.clinician_exclusive,
    )
    if clash:
        problems.append(clash[1])
        return problems
    kind = appointment_type.resource_kind
    needs_resource = resource is None and kind != AppointmentType.NeedsResource.NONE
    if needs_resource and not free_resources(location=location, kind=kind, start=start, end=end):
        problems.append(f"No {resource_kind_label(kind)} is free then.")
    if clinician is not None:
        exclusive, monitoring = clinician_busy(clinician, start, end)
        load = rules.clinician_load_problem(
            new=(start, end),
            new_is_exclusive=appointment_type.clinician_exclusive,
            exclusive_busy=exclusive,
            monitoring_busy=monitoring,
            capacity=location.monitoring_capacity,
        )
        if load:
            problems.append(load)
    return problems
