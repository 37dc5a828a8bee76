"""Clinic sites, chairs, rooms, hours and a realistic appointment history (synthetic).

Slots are planned on a fixed grid per resource so that no two active bookings
ever overlap (the exclusion constraints would refuse them) and no monitoring
clinician watches more chairs than the site allows; then everything is inserted
with ``bulk_create``. The calendar fills up as real clinics do: once the chairs
and clinicians are booked, later patients wait (they get no appointment), so
a 20,000-patient run is bounded by capacity, not by patient count.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import import_module

import pgtrigger
from django.apps import apps as django_apps
from django.utils import timezone

from demo.context import SeedContext
from patients.models import Patient
from reminders.services.sync import reminders_bulk_create
from scheduling import rules
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    ClinicianHours,
    Closure,
    Location,
    OpeningHours,
    Resource,
    Series,
)

S = AppointmentStatus
BATCH = 5000
HISTORY_DAYS = 548  # about 18 months
FUTURE_DAYS = 28

# name, zone, address, phone (555-01xx: fictional), chairs, rooms, open on Saturday morning
SITES = [
    ("Grace MindCare Midtown", "America/New_York", "350 W 42nd St, New York, NY 10036", "+12125550142", 12, 2, True),
    (
        "Grace MindCare Brooklyn Heights",
        "America/New_York",
        "75 Montague St, Brooklyn, NY 11201",
        "+17185550177",
        4,
        1,
        False,
    ),
]
WEEKDAYS = range(5)
# Who works where, on which weekdays, doing what. "consult": intake and follow-up visits
# all day; "monitor": watches infusion chairs; "split": consults until noon, monitors after.
DUTIES = [
    ("nurse.okafor", 0, (0, 1, 2, 3, 4, 5), "monitor"),
    ("nurse.lindqvist", 0, (0, 2, 4), "monitor"),
    ("nurse.lindqvist", 1, (1, 3), "monitor"),
    ("dr.chen", 0, (0, 1, 2, 3, 4), "split"),
    ("clinician", 1, (0, 2, 4), "split"),
    ("clinician", 0, (1, 3), "consult"),
]
SPLIT_AT = 12  # split duty: consultations before, monitoring from this hour
CHAIR_BLOCK_HOURS = (8, 10, 12, 14, 16)  # 100 minutes of chair time in each two-hour block
CANCEL_REASONS = [
    "Patient request",
    "Patient unwell",
    "No escort available",
    "Did not fast",
    "Weather",
    "Work conflict",
]


@dataclass
class Cell:
    location: int
    day: date
    hour: int
    resource_id: int
    clinician_id: int | None


@dataclass
class Plan:
    appointments: list[Appointment] = field(default_factory=list)
    moves: list[list[tuple[str, str, datetime, int | None, str]]] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    series_of: list[int | None] = field(default_factory=list)  # index into series, per appointment


# --- Reference data -----------------------------------------------------------------


def _us_holidays(first: date, last: date) -> list[tuple[date, str]]:
    def nth_weekday(year, month, weekday, n):
        day = date(year, month, 1)
        day += timedelta(days=(weekday - day.weekday()) % 7 + 7 * (n - 1))
        return day

    def last_monday(year, month):
        day = date(year, month + 1, 1) - timedelta(days=1)
        return day - timedelta(days=day.weekday())

    out = []
    for year in range(first.year, last.year + 1):
        out += [
            (date(year, 1, 1), "New Year's Day"),
            (last_monday(year, 5), "Memorial Day"),
            (date(year, 7, 4), "Independence Day"),
            (nth_weekday(year, 9, 0, 1), "Labor Day"),
            (nth_weekday(year, 11, 3, 4), "Thanksgiving"),
            (date(year, 12, 25), "Christmas Day"),
        ]
    return [(d, name) for d, name in out if first <= d <= last]


def _types() -> dict[str, AppointmentType]:
    # Migration 0002 makes them; a test database flushed between tests may not have them.
    import_module("scheduling.migrations.0002_default_appointment_types").create(django_apps, None)
    return {t.code: t for t in AppointmentType.objects.all()}


def _sites(ctx: SeedContext, first: date, last: date) -> list[Location]:
    sites = []
    for name, zone, address, phone, chairs, rooms, saturday in SITES:
        location, created = Location.objects.get_or_create(
            name=name, defaults={"time_zone": zone, "address": address, "phone": phone}
        )
        sites.append(location)
        if not created:
            continue
        hours = [OpeningHours(location=location, weekday=d, opens=time(8), closes=time(18)) for d in WEEKDAYS]
        if saturday:
            hours.append(OpeningHours(location=location, weekday=5, opens=time(8), closes=time(12)))
        OpeningHours.objects.bulk_create(hours)
        Resource.objects.bulk_create(
            [Resource(location=location, kind="chair", name=f"Chair {i}", sort_order=i) for i in range(1, chairs + 1)]
            + [
                Resource(location=location, kind="room", name=f"Consult room {i}", sort_order=i)
                for i in range(1, rooms + 1)
            ]
        )
        Closure.objects.bulk_create(
            Closure(location=location, starts_on=d, ends_on=d, reason=reason) for d, reason in _us_holidays(first, last)
        )
    return sites


def _clinician_hours(ctx: SeedContext, sites: list[Location]) -> None:
    windows = {site.pk: _windows(site) for site in sites}
    for username, site_index, weekdays, _duty in DUTIES:
        user = ctx.staff.get(username)
        if user is None:
            continue
        site = sites[site_index]
        for weekday in weekdays:
            for opens, closes in windows[site.pk].get(weekday, []):
                ClinicianHours.objects.get_or_create(
                    clinician=user, location=site, weekday=weekday, starts=opens, ends=closes
                )


def _windows(site: Location) -> dict[int, list[tuple[time, time]]]:
    out: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for hours in site.opening_hours.all():
        out[hours.weekday].append((hours.opens, hours.closes))
    return out


# --- The slot grid --------------------------------------------------------------------


def _grid(ctx, sites, first, last, chair_minutes, taken):
    """Free consult cells and chair cells per (site index, day), shuffled within the day."""
    consult: dict[tuple[int, date], deque[Cell]] = {}
    chairs: dict[tuple[int, date], deque[Cell]] = {}
    closed = set(Closure.objects.filter(location__in=sites).values_list("location_id", "starts_on"))
    for index, site in enumerate(sites):
        windows = _windows(site)
        resources = list(site.resources.filter(active=True).order_by("kind", "sort_order"))
        site_chairs = [r for r in resources if r.kind == "chair"]
        site_rooms = [r for r in resources if r.kind == "room"]
        day = first
        while day <= last:
            if (site.pk, day) in closed or day.weekday() not in windows:
                day += timedelta(days=1)
                continue
            opens, closes = windows[day.weekday()][0]
            working = [
                (ctx.staff[u].pk, duty)
                for u, i, days, duty in DUTIES
                if i == index and u in ctx.staff and day.weekday() in days
            ]
            consult_cells, chair_cells = [], []
            room_iter = iter(site_rooms)
            for clinician_id, duty in working:
                if duty in ("consult", "split"):
                    room = next(room_iter, None)
                    end_hour = SPLIT_AT if duty == "split" else closes.hour
                    for hour in range(opens.hour, end_hour):
                        if room is not None:
                            consult_cells.append(Cell(index, day, hour, room.pk, clinician_id))
            monitors = [(cid, duty) for cid, duty in working if duty in ("monitor", "split")]
            capacity = site.monitoring_capacity
            for k, (clinician_id, duty) in enumerate(monitors):
                for chair in site_chairs[k * capacity : (k + 1) * capacity]:
                    for hour in CHAIR_BLOCK_HOURS:
                        if duty == "split" and hour < SPLIT_AT:
                            continue
                        if hour * 60 + chair_minutes > closes.hour * 60 + closes.minute:
                            continue
                        chair_cells.append(Cell(index, day, hour, chair.pk, clinician_id))
            consult_cells = [c for c in consult_cells if (c.resource_id, c.day, c.hour) not in taken]
            chair_cells = [c for c in chair_cells if (c.resource_id, c.day, c.hour) not in taken]
            ctx.rng.shuffle(consult_cells)
            ctx.rng.shuffle(chair_cells)
            consult[(index, day)] = deque(consult_cells)
            chairs[(index, day)] = deque(chair_cells)
            day += timedelta(days=1)
    return consult, chairs


def _taken(sites, first, last) -> set[tuple[int, date, int]]:
    """Grid cells already booked by an earlier run (seed_demo --force)."""
    taken = set()
    zones = {s.pk: s.zone for s in sites}
    start, _ = rules.local_day_bounds(first, "UTC")
    for resource_id, location_id, begins in Appointment.objects.filter(
        location__in=sites, status__in=ACTIVE_STATUSES, start__gte=start
    ).values_list("resource_id", "location_id", "start"):
        local = begins.astimezone(zones[location_id])
        taken.add((resource_id, local.date(), local.hour))
    return taken


def _take(pool, site_index, first_day, last_day, busy_days) -> Cell | None:
    day = first_day
    while day <= last_day:
        if day not in busy_days:
            cells = pool.get((site_index, day))
            if cells:
                return cells.popleft()
        day += timedelta(days=1)
    return None


# --- Statuses consistent with time ----------------------------------------------------


def _history(ctx, start, end, now, *, requires_escort, desk_id, clinician_id):
    """(final status, cancel reason, moves, escort confirmed at) for a booking at [start, end)."""
    rng = ctx.rng
    booked_at = min(start - timedelta(days=rng.randint(2, 21)), now)
    moves = [("", S.BOOKED, booked_at, desk_id, "")]
    confirmed_at = start - timedelta(days=1, hours=rng.randint(0, 6))

    def go(status, at, by=desk_id, reason=""):
        moves.append((moves[-1][1], status, at, by, reason))

    escort = None
    if end <= now:
        roll = rng.random()
        if roll < 0.07:
            reason = rng.choice(CANCEL_REASONS)
            go(S.CANCELLED, start - timedelta(hours=rng.randint(3, 48)), reason=reason)
            return S.CANCELLED, reason, moves, None
        go(S.CONFIRMED, confirmed_at)
        if requires_escort:
            escort = confirmed_at
        if roll < 0.11:
            go(S.NO_SHOW, start + timedelta(minutes=20))
            return S.NO_SHOW, "", moves, escort
        go(S.CHECKED_IN, start - timedelta(minutes=rng.randint(5, 20)))
        go(S.IN_PROGRESS, start, by=clinician_id)
        go(S.COMPLETED, end, by=clinician_id)
        return S.COMPLETED, "", moves, escort
    if start <= now:  # happening now
        go(S.CONFIRMED, confirmed_at)
        go(S.CHECKED_IN, start - timedelta(minutes=10))
        go(S.IN_PROGRESS, start, by=clinician_id)
        return S.IN_PROGRESS, "", moves, confirmed_at if requires_escort else None
    if rng.random() < 0.04:
        reason = rng.choice(CANCEL_REASONS)
        go(S.CANCELLED, max(booked_at, now - timedelta(hours=rng.randint(1, 48))), reason=reason)
        return S.CANCELLED, reason, moves, None
    if start - now < timedelta(days=3) and rng.random() < 0.75 or rng.random() < 0.3:
        at = min(confirmed_at, now - timedelta(minutes=rng.randint(5, 600)))
        go(S.CONFIRMED, max(at, booked_at))
        if requires_escort and rng.random() < 0.7:
            escort = max(at, booked_at)
        return S.CONFIRMED, "", moves, escort
    return S.BOOKED, "", moves, None


# --- Seeding ------------------------------------------------------------------------------


def seed(ctx: SeedContext) -> None:
    types = _types()
    first_day = ctx.today - timedelta(days=HISTORY_DAYS)
    last_day = ctx.today + timedelta(days=FUTURE_DAYS)
    sites = _sites(ctx, first_day, last_day)
    _clinician_hours(ctx, sites)
    now = timezone.now()
    chair_minutes = types["infusion"].minutes
    consult_pool, chair_pool = _grid(ctx, sites, first_day, last_day, chair_minutes, _taken(sites, first_day, last_day))
    desk = ctx.staff.get("frontdesk")
    desk_id = desk.pk if desk else None
    plan = Plan()
    statuses = dict(Patient.objects.filter(pk__in=ctx.patient_ids).values_list("pk", "status"))

    def add(patient_id, type_code, cell: Cell, minutes: int, series_index=None):
        site = sites[cell.location]
        start = rules.to_utc(cell.day, time(cell.hour), site.time_zone, fold=0)
        end = start + timedelta(minutes=minutes)
        kind = types[type_code]
        status, reason, moves, escort = _history(
            ctx,
            start,
            end,
            now,
            requires_escort=kind.requires_escort,
            desk_id=desk_id,
            clinician_id=cell.clinician_id,
        )
        plan.appointments.append(
            Appointment(
                patient_id=patient_id,
                appointment_type=kind,
                location=site,
                resource_id=cell.resource_id,
                clinician_id=cell.clinician_id,
                start=start,
                end=end,
                status=status,
                cancel_reason=reason,
                clinician_exclusive=kind.clinician_exclusive,
                escort_confirmed_at=escort,
                escort_confirmed_by_id=desk_id if escort else None,
                created_by_id=desk_id,
                version=len(moves),
            )
        )
        plan.moves.append(moves)
        plan.series_of.append(series_index)
        return status

    rng = ctx.rng
    span = (last_day - first_day).days
    for patient_id in ctx.patient_ids:
        deceased = statuses.get(patient_id) == Patient.Status.DECEASED
        latest = ctx.today - timedelta(days=1) if deceased else last_day
        home = 0 if rng.random() < 0.78 or len(sites) == 1 else 1
        busy: set[date] = set()
        if rng.random() < 0.3:  # patients in treatment now, so that today and the coming weeks are busy
            wanted = ctx.today + timedelta(days=rng.randint(-35, FUTURE_DAYS - 8))
        else:
            wanted = first_day + timedelta(days=rng.randint(0, span - 3))
        intake = _take(consult_pool, home, wanted, min(wanted + timedelta(days=14), latest), busy)
        if intake is None:
            continue  # the clinic is full around then: this patient is on the waiting list
        busy.add(intake.day)
        if add(patient_id, "consultation", intake, types["consultation"].minutes) == S.CANCELLED:
            continue
        if rng.random() > 0.72:
            continue
        # Induction series: six infusions over two to three weeks [S6].
        plan.series.append(
            Series(
                patient_id=patient_id,
                appointment_type=types["infusion"],
                location=sites[home],
                time_zone=sites[home].time_zone,
                created_by_id=desk_id,
            )
        )
        series_index = len(plan.series) - 1
        occurrences, weekdays = [], set()
        wanted = intake.day + timedelta(days=rng.randint(3, 10))
        for _ in range(6):
            cell = _take(chair_pool, home, wanted, min(wanted + timedelta(days=3), latest), busy)
            if cell is None:
                break
            busy.add(cell.day)
            occurrences.append(cell)
            weekdays.add(cell.day.weekday())
            add(patient_id, "infusion", cell, chair_minutes, series_index)
            wanted = cell.day + timedelta(days=rng.choice([2, 2, 3]))
        series = plan.series[series_index]
        series.planned_count = len(occurrences)
        series.weekdays = ",".join(str(d) for d in sorted(weekdays))
        series.local_time = time(occurrences[0].hour) if occurrences else None
        if len(occurrences) < 6 or rng.random() > 0.7:
            continue
        wanted = occurrences[-1].day + timedelta(days=rng.randint(14, 28))
        follow_up = _take(consult_pool, home, wanted, min(wanted + timedelta(days=10), latest), busy)
        if follow_up is None:
            continue
        busy.add(follow_up.day)
        add(patient_id, "follow_up", follow_up, types["follow_up"].minutes)
        if rng.random() > 0.45:
            continue
        previous = follow_up.day
        for _ in range(rng.randint(1, 4)):  # maintenance boosters
            wanted = previous + timedelta(days=rng.randint(28, 42))
            cell = _take(chair_pool, home, wanted, min(wanted + timedelta(days=7), latest), busy)
            if cell is None:
                break
            busy.add(cell.day)
            add(patient_id, "booster", cell, types["booster"].minutes)
            previous = cell.day

    _insert(ctx, plan)


# The demo history is a bulk import, not a sequence of user changes: skipping the
# row-history insert triggers makes it about five times faster. History starts
# with the first real change to a row.
HISTORY_INSERT_TRIGGERS = ("scheduling.Series:insert_insert", "scheduling.Appointment:insert_insert")


def _insert(ctx: SeedContext, plan: Plan) -> None:
    series = [s for s in plan.series if s.planned_count]
    for appt, index in zip(plan.appointments, plan.series_of, strict=True):
        if index is not None:
            appt.series = plan.series[index]
    with pgtrigger.ignore(*HISTORY_INSERT_TRIGGERS):
        Series.objects.bulk_create(series, batch_size=BATCH)
        created = Appointment.objects.bulk_create(plan.appointments, batch_size=BATCH)
    changes = [
        AppointmentStatusChange(appointment_id=appt.pk, from_status=a, to_status=b, at=at, by_id=by, reason=reason)
        for appt, moves in zip(created, plan.moves, strict=True)
        for a, b, at, by, reason in moves
    ]
    AppointmentStatusChange.objects.bulk_create(changes, batch_size=BATCH)
    by_type: dict[str, list[int]] = defaultdict(list)
    for appt in created:
        by_type[appt.appointment_type.code].append(appt.pk)
    # Later stages (consultations, infusions, follow-ups) attach their records to these.
    ctx.appointments = dict(by_type)
    ctx.series_ids = [s.pk for s in series]
    ctx.counts["appointments"] = len(created)
    ctx.counts["series"] = len(series)
    # Reminders for the next four weeks' bookings (the dispatcher sends them under `make run`).
    horizon = timezone.now() + timedelta(days=28)
    upcoming = [a for a in created if a.is_active and a.start <= horizon]
    ctx.counts["reminders"] = reminders_bulk_create(appointments=upcoming)
