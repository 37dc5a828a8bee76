"""The calendar read model (day grid, week table), people's lists and the feed: fixed query counts."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from consents.selectors import lacking_consent
from core.formatting import clock
from patients.models import Patient
from scheduling import hooks, rules
from scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    CalendarFeed,
    ClinicianHours,
    Location,
    Resource,
)
from scheduling.selectors.availability import active_locations, closed_days, closures_between, opening_windows

HIDDEN_BY_DEFAULT = [AppointmentStatus.CANCELLED.value, AppointmentStatus.ENTERED_IN_ERROR.value]
RELATED = ("patient", "appointment_type", "location", "resource", "clinician")
# What calendar lists show of a patient. The rest of the row is deferred: loading three
# phone numbers per booking (parsed by phonenumbers) was most of a busy week view's time.
PATIENT_SHOWN = {
    "id",
    "mrn",
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "date_of_birth",
    "status",
    "escort_name",
}


# Each timestamp column costs a parse per row; these are never shown on lists or grids.
UNSHOWN = (
    "created_at",
    "updated_at",
    "location__phone",
    "location__address",
    "clinician__password",
    "clinician__last_login",
    "clinician__date_joined",
    "clinician__email",
)


def lean(queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
    unused = [f"patient__{f.name}" for f in Patient._meta.concrete_fields if f.name not in PATIENT_SHOWN]
    return queryset.select_related(*RELATED).defer(*unused, *UNSHOWN)


# --- Calendar read model ----------------------------------------------------------

SLOT_MINUTES = 5  # one grid row
BOOKING_LINK_MINUTES = 30  # empty-slot links on the day grid


@dataclass
class Column:
    key: str
    label: str
    sublabel: str = ""
    resource: Resource | None = None
    clinician: Any = None
    items: list[Any] = field(default_factory=list)
    lanes: int = 1
    by_day: dict[date, list[Any]] = field(default_factory=dict)  # WeekBooking (week table) or Appointment (day)

    @property
    def booking_query(self) -> str:
        """What an empty slot in this column pre-fills on the booking form."""
        if self.resource is not None:
            return f"&resource={self.resource.pk}"
        if self.clinician is not None:
            return f"&clinician={self.clinician.pk}"
        return ""


@dataclass(frozen=True)
class DayCard:
    """What a day-grid card shows of one booking, formatted once here.

    A day of 12 chairs holds about 40 cards; each one running filters (two clocks, a zone
    change, lookups) and reversing five URLs in the template was most of the day view's time.
    """

    pk: int
    version: int
    status: str
    css: str  # "appt-c-<colour> appt-s-<status>"
    start_text: str  # "9:30 AM", the clinic's clock
    end_text: str
    start_hhmm: str  # "09:30", what the Move dialog's time field takes
    patient_name: str
    type_name: str
    clinician_name: str  # "" without a clinician
    state_text: str  # where the patient is ("In chair") or the status in words
    escort: str  # "" when no escort is asked for (or the visit is over), else "confirmed" or "missing"
    resource_id: str  # "" without a chair or room
    movable: bool  # booked or confirmed: may be moved or rescheduled
    detail_url: str
    status_url: str
    move_url: str
    cancel_url: str
    reschedule_url: str


MOVABLE = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def day_card(appt: Appointment, care_states: dict[int, str]) -> DayCard:
    """The card of one booking (its location, type, patient and clinician loaded with it)."""
    zone = appt.location.zone
    start, end = appt.start.astimezone(zone), appt.end.astimezone(zone)
    kind = appt.appointment_type
    clinician = appt.clinician
    escort = ""
    if kind.requires_escort and appt.is_active:
        escort = "confirmed" if appt.escort_confirmed_at else "missing"
    return DayCard(
        pk=appt.pk,
        version=appt.version,
        status=appt.status,
        css=f"appt-c-{kind.colour} appt-s-{appt.status}",
        start_text=clock(start),
        end_text=clock(end),
        start_hhmm=f"{start.hour:02d}:{start.minute:02d}",
        patient_name=appt.patient.display_name,
        type_name=kind.name,
        clinician_name=(clinician.last_name or str(clinician)) if clinician is not None else "",
        state_text=care_states.get(appt.pk) or STATUS_LABELS.get(appt.status, appt.status),
        escort=escort,
        resource_id=str(appt.resource_id or ""),
        movable=appt.status in MOVABLE,
        detail_url=_url_pattern("scheduling:appointment-detail").format(appt.pk),
        status_url=_url_pattern("scheduling:appointment-status").format(appt.pk),
        move_url=_url_pattern("scheduling:appointment-move").format(appt.pk),
        cancel_url=_url_pattern("scheduling:appointment-cancel").format(appt.pk),
        reschedule_url=_url_pattern("scheduling:appointment-reschedule").format(appt.pk),
    )


@dataclass
class GridItem:
    appointment: Appointment
    row: int
    span: int
    lane: int
    card: DayCard

    @property
    def css(self) -> str:
        # Placement as class names (no inline styles under the CSP); strings, so the
        # template does not run number localisation hundreds of times.
        return f"gr-s{self.row} gr-n{self.span} lane-{self.lane}"


@dataclass
class CalendarData:
    location: Location
    days: list[date]
    columns: list[Column]
    appointments: list[Appointment]
    opening: dict[int, list[rules.Window]]
    closed: dict[date, str]
    grid_start: time = time(8)
    grid_rows: int = 0
    hour_rows: list[tuple[str, str]] = field(default_factory=list)
    now_row: int | None = None
    link_rows: list[tuple[str, str, str]] = field(default_factory=list)
    # Where the patient of each visit under way is ("In chair", "Recovering"), by appointment id.
    care_states: dict[int, str] = field(default_factory=dict)

    @property
    def grid_start_minutes(self) -> int:
        """Wall-clock minutes after local midnight of the first row (rows are local wall time)."""
        return self.grid_start.hour * 60 + self.grid_start.minute

    @property
    def fill_css(self) -> str:
        return f"gr-s{self.grid_rows} gr-n1"

    @property
    def now_css(self) -> str:
        return f"gr-s{self.now_row} gr-n1" if self.now_row else ""


def appointments_between(
    *, location: Location, start: datetime, end: datetime, include_hidden: bool = False
) -> QuerySet[Appointment]:
    qs = lean(Appointment.objects.filter(location=location, start__gte=start, start__lt=end))
    if not include_hidden:
        qs = qs.exclude(status__in=HIDDEN_BY_DEFAULT)
    return qs.order_by("start", "id")


def _columns(location: Location, group_by: str, appointments: list[Appointment]) -> list[Column]:
    columns: list[Column] = []
    if group_by == "clinicians":
        people: dict[int, Any] = {}
        for hours in (
            ClinicianHours.objects.filter(location=location)
            .select_related("clinician")
            .order_by("clinician__last_name", "clinician__first_name")
        ):
            people.setdefault(hours.clinician_id, hours.clinician)
        for appt in appointments:
            if appt.clinician_id is not None:
                people.setdefault(appt.clinician_id, appt.clinician)
        columns = [Column(key=f"c{pk}", label=str(user), clinician=user) for pk, user in people.items()]
        if any(a.clinician_id is None for a in appointments):
            columns.append(Column(key="c-none", label="No clinician yet"))
        return columns
    resources = list(Resource.objects.filter(location=location).order_by("kind", "sort_order", "name"))
    used = {a.resource_id for a in appointments}
    columns = [
        Column(key=f"r{r.pk}", label=r.name, sublabel=r.get_kind_display(), resource=r)
        for r in resources
        if r.active or r.pk in used
    ]
    if any(a.resource_id is None for a in appointments):
        columns.append(Column(key="r-none", label="No chair or room"))
    return columns


def _column_key(appt: Appointment, group_by: str) -> str:
    if group_by == "clinicians":
        return f"c{appt.clinician_id}" if appt.clinician_id else "c-none"
    return f"r{appt.resource_id}" if appt.resource_id else "r-none"


@dataclass(frozen=True)
class WeekBooking:
    """What a week-table cell shows of one booking: read as plain values, no model instances.

    A busy week of a 12-chair site holds a few hundred bookings; building an Appointment with its
    patient, type, location, resource and clinician for each was most of the week view's time.
    """

    pk: int
    start: datetime
    status: str
    resource_id: int | None
    clinician_id: int | None
    patient_name: str
    type_name: str
    colour: str

    @property
    def status_display(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


STATUS_LABELS = {value: str(label) for value, label in AppointmentStatus.choices}
WEEK_VALUES = (
    "pk",
    "start",
    "status",
    "resource_id",
    "clinician_id",
    "patient__legal_last_name",
    "patient__preferred_name",
    "patient__legal_first_name",
    "appointment_type__name",
    "appointment_type__colour",
)


def week_bookings(*, location: Location, start: datetime, end: datetime, include_hidden: bool = False):
    """The week table's bookings as :class:`WeekBooking` values (one query, no model instances)."""
    qs = Appointment.objects.filter(location=location, start__gte=start, start__lt=end)
    if not include_hidden:
        qs = qs.exclude(status__in=HIDDEN_BY_DEFAULT)
    return [
        WeekBooking(pk, when, status, resource, clinician, f"{last}, {preferred or first}", type_name, colour)
        for pk, when, status, resource, clinician, last, preferred, first, type_name, colour in qs.order_by(
            "start", "id"
        ).values_list(*WEEK_VALUES)
    ]


def week_booking_of(appt: Appointment) -> WeekBooking:
    return WeekBooking(
        appt.pk,
        appt.start,
        appt.status,
        appt.resource_id,
        appt.clinician_id,
        appt.patient.display_name,
        appt.appointment_type.name,
        appt.appointment_type.colour,
    )


def calendar(
    *,
    location: Location,
    start_day: date,
    days: int,
    group_by: str = "resources",
    include_hidden: bool = False,
    now: datetime | None = None,
) -> CalendarData:
    """The day grid (days=1) or the week table (days=7) of one location. Fixed query count.

    The week table's ``appointments`` (and ``column.by_day``) hold :class:`WeekBooking` values;
    the day grid's hold Appointment instances (its cards show more and link quick actions).
    """
    tz_name = location.time_zone
    zone = location.zone
    day_list = [start_day + timedelta(days=i) for i in range(days)]
    range_start, _ = rules.local_day_bounds(day_list[0], tz_name)
    _, range_end = rules.local_day_bounds(day_list[-1], tz_name)
    appointments: list[Any]
    if days > 1 and group_by == "resources":
        appointments = week_bookings(location=location, start=range_start, end=range_end, include_hidden=include_hidden)
    else:
        appointments = list(
            appointments_between(location=location, start=range_start, end=range_end, include_hidden=include_hidden)
        )
    columns = _columns(location, group_by, appointments)
    if days > 1 and group_by != "resources":
        appointments = [week_booking_of(a) for a in appointments]
    data = CalendarData(
        location=location,
        days=day_list,
        columns=columns,
        appointments=appointments,
        opening=opening_windows(location),
        closed=closed_days(closures_between(location, day_list[0], day_list[-1]), day_list[0], day_list[-1]),
        care_states=care_states_of(appointments),
    )
    by_key = {c.key: c for c in data.columns}
    for appt in appointments:
        column = by_key.get(_column_key(appt, group_by))
        if column is not None:
            column.by_day.setdefault(appt.start.astimezone(zone).date(), []).append(appt)
    if days == 1:
        _lay_out_day(data, now=now)
    return data


def _lay_out_day(data: CalendarData, *, now: datetime | None) -> None:
    """Rows of 5 minutes from the first opening hour (or earlier booking) to the last."""
    zone = data.location.zone
    day = data.days[0]
    windows = data.opening.get(day.weekday(), [])
    first = min([w[0] for w in windows] + [a.start.astimezone(zone).time() for a in data.appointments], default=time(8))
    last_minutes = max(
        [w[1].hour * 60 + w[1].minute for w in windows]
        + [_wall_minutes(a.end.astimezone(zone), day) for a in data.appointments],
        default=18 * 60,
    )
    start_minutes = first.hour * 60
    end_minutes = min(24 * 60, -(-last_minutes // 60) * 60)
    if end_minutes <= start_minutes:
        end_minutes = start_minutes + 60
    data.grid_start = time(first.hour)
    data.grid_rows = (end_minutes - start_minutes) // SLOT_MINUTES
    data.hour_rows = [
        (f"gr-s{1 + (m - start_minutes) // SLOT_MINUTES} gr-n12", _hour_label(m // 60))
        for m in range(start_minutes, end_minutes, 60)
    ]
    # (grid placement, "HH:MM" for the booking form, "9:30 AM" for people): formatted once for every column.
    data.link_rows = [
        (
            f"gr-s{1 + (m - start_minutes) // SLOT_MINUTES} gr-n{BOOKING_LINK_MINUTES // SLOT_MINUTES}",
            f"{m // 60:02d}:{m % 60:02d}",
            rules.clock(time(m // 60, m % 60)),
        )
        for m in range(start_minutes, end_minutes, BOOKING_LINK_MINUTES)
        if any(w[0] <= time(m // 60, m % 60) < w[1] for w in windows)
        # The night the clocks go forward, the skipped hour offers nothing to book.
        and not rules.is_nonexistent(day, time(m // 60, m % 60), data.location.time_zone)
    ]
    if now is not None:
        local_now = now.astimezone(zone)
        minutes = local_now.hour * 60 + local_now.minute
        if local_now.date() == day and start_minutes <= minutes < end_minutes:
            data.now_row = 1 + (minutes - start_minutes) // SLOT_MINUTES
    for column in data.columns:
        lanes_end: list[datetime] = []
        for appt in column.by_day.get(day, []):
            local_start = appt.start.astimezone(zone)
            row_minutes = local_start.hour * 60 + local_start.minute - start_minutes
            span_minutes = max(
                SLOT_MINUTES, _wall_minutes(appt.end.astimezone(zone), day) - (row_minutes + start_minutes)
            )
            lane = next((i for i, end in enumerate(lanes_end) if end <= appt.start), None)
            if lane is None:
                lanes_end.append(appt.end)
                lane = len(lanes_end) - 1
            else:
                lanes_end[lane] = appt.end
            row = 1 + max(0, row_minutes) // SLOT_MINUTES
            span = max(1, min(-(-span_minutes // SLOT_MINUTES), data.grid_rows - row + 1))
            card = day_card(appt, data.care_states)
            column.items.append(GridItem(appointment=appt, row=row, span=span, lane=lane + 1, card=card))
        column.lanes = max(1, len(lanes_end))


def _hour_label(hour: int) -> str:
    return f"{hour % 12 or 12} {'AM' if hour < 12 else 'PM'}"


def _wall_minutes(local: datetime, day: date) -> int:
    """Minutes since local midnight of ``day`` (24:00 for a booking ending at midnight)."""
    if local.date() > day:
        return 24 * 60
    return local.hour * 60 + local.minute


# --- Lists for people ---------------------------------------------------------------


def appointments_on(*, day: date, locations: Iterable[Location], **filters: Any) -> QuerySet[Appointment]:
    """Appointments starting on a local day, each location in its own zone."""
    when = Q(pk__in=[])
    for location in locations:
        start, end = rules.local_day_bounds(day, location.time_zone)
        when |= Q(location=location, start__gte=start, start__lt=end)
    return lean(Appointment.objects.filter(when, **filters)).order_by("start", "id")


@dataclass(frozen=True)
class DeskRow:
    """One appointment on the front-desk home, read as plain values and formatted once.

    The home lists every arrival of the day at every site with its quick actions; building
    Appointment instances with five related rows each, and formatting them in the template, was
    most of that page's time.
    """

    pk: int
    version: int
    start: datetime  # in the location's zone
    status: str
    patient_id: int
    patient_name: str
    escort_name: str
    type_name: str
    colour: str
    place: str
    escort_missing: bool
    lacks_consent: bool = False  # a consent the clinic requires before an infusion is not current

    @property
    def time_text(self) -> str:
        return rules.clock(self.start)

    @property
    def detail_url(self) -> str:
        return _url_pattern("scheduling:appointment-detail").format(self.pk)

    @property
    def status_url(self) -> str:
        return _url_pattern("scheduling:appointment-status").format(self.pk)

    @property
    def escort_url(self) -> str:
        return _url_pattern("scheduling:appointment-escort").format(self.pk)

    @property
    def patient_url(self) -> str:
        return _url_pattern("patients:detail").format(self.patient_id)

    @property
    def status_display(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


UNDER_WAY = (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS)


def lacking_consent_of(appointments: Iterable[Any]) -> set[int]:
    """The patients of these visits who lack a current consent the clinic requires (two queries)."""
    return lacking_consent({a.patient_id for a in appointments})


def care_states_of(appointments: Iterable[Any]) -> dict[int, str]:
    """Where the patient of each visit under way is, from the apps that follow the care
    (``hooks.register_care_states``): one query for the whole list, none when nothing is under way."""
    return hooks.care_states([a.pk for a in appointments if a.status in UNDER_WAY])


def paperwork_of(appointments: Iterable[Any]) -> dict[int, str]:
    """What the patient of each visit still has to fill in (``hooks.register_paperwork``)."""
    return hooks.paperwork([a.pk for a in appointments])


@functools.cache
def _url_pattern(name: str) -> str:
    """A URL with one integer argument as a format string: reversed once, not once per row."""
    return reverse(name, args=[987654321]).replace("987654321", "{}")


DESK_VALUES = (
    "pk",
    "version",
    "start",
    "status",
    "patient_id",
    "patient__legal_last_name",
    "patient__preferred_name",
    "patient__legal_first_name",
    "patient__escort_name",
    "appointment_type__name",
    "appointment_type__colour",
    "appointment_type__requires_escort",
    "escort_confirmed_at",
    "location__name",
    "location__time_zone",
    "resource__name",
)


def desk_rows(*, day: date, locations: Iterable[Location]) -> list[DeskRow]:
    """The day's shown appointments (cancelled and entered-in-error left out) as DeskRows. One query."""
    when = Q(pk__in=[])
    zones = {}
    for location in locations:
        start, end = rules.local_day_bounds(day, location.time_zone)
        when |= Q(location=location, start__gte=start, start__lt=end)
        zones[location.time_zone] = location.zone
    rows = (
        Appointment.objects.filter(when)
        .exclude(status__in=HIDDEN_BY_DEFAULT)
        .order_by("start", "id")
        .values_list(*DESK_VALUES)
    )
    active = {str(s) for s in ACTIVE_STATUSES}
    return [
        DeskRow(
            pk=pk,
            version=version,
            start=start.astimezone(zones[tz_name]),
            status=status,
            patient_id=patient_id,
            patient_name=f"{last}, {preferred or first}",
            escort_name=escort_name,
            type_name=type_name,
            colour=colour,
            place=f"{location_name} · {resource_name}" if resource_name else location_name,
            escort_missing=requires_escort and status in active and escort_confirmed_at is None,
        )
        for (
            pk,
            version,
            start,
            status,
            patient_id,
            last,
            preferred,
            first,
            escort_name,
            type_name,
            colour,
            requires_escort,
            escort_confirmed_at,
            location_name,
            tz_name,
            resource_name,
        ) in rows
    ]


def front_desk_day(*, today: date, location_ids: frozenset[int] | None = None) -> dict[str, Any]:
    """Today's arrivals, tomorrow's list, and who still lacks an escort confirmation, at
    ``location_ids`` (None: every location; ``scheduling.access.location_ids_for``). Three queries.

    Rows are :class:`DeskRow` values (``pk``, ``version``, formatted names and times).
    """
    sites = active_locations()
    locations = list(sites if location_ids is None else sites.filter(pk__in=location_ids))
    arrivals = desk_rows(day=today, locations=locations)
    upcoming = desk_rows(day=today + timedelta(days=1), locations=locations)
    lacking = lacking_consent_of(arrivals + upcoming)
    arrivals = [replace(row, lacks_consent=row.patient_id in lacking) for row in arrivals]
    upcoming = [replace(row, lacks_consent=row.patient_id in lacking) for row in upcoming]
    escort_missing = [a for a in arrivals + upcoming if a.escort_missing]
    return {"arrivals": arrivals, "tomorrow": upcoming, "escort_missing": escort_missing}


def clinician_day(*, clinician, today: date, location_ids: frozenset[int] | None = None) -> list[Appointment]:
    """The clinician's own visits today, at ``location_ids`` (None: every location)."""
    sites = active_locations()
    locations = list(sites if location_ids is None else sites.filter(pk__in=location_ids))
    return list(
        appointments_on(day=today, locations=locations, clinician=clinician).exclude(status__in=HIDDEN_BY_DEFAULT)
    )


def patient_appointments(*, patient: Patient, now: datetime, past_limit: int = 20) -> dict[str, list[Appointment]]:
    """Upcoming (all of them, soonest first) and the most recent past appointments. Two queries."""
    base = lean(Appointment.objects.filter(patient=patient))
    upcoming = list(base.filter(start__gte=now).order_by("start", "id")[:100])
    past = list(base.filter(start__lt=now).order_by("-start", "-id")[:past_limit])
    return {"upcoming": upcoming, "past": past}


def appointment_detail(pk: int) -> Appointment | None:
    return (
        Appointment.objects.select_related(
            *RELATED, "rescheduled_from", "rescheduled_to", "series", "escort_confirmed_by", "created_by"
        )
        .prefetch_related("status_changes__by")
        .filter(pk=pk)
        .first()
    )


# --- Calendar feed ------------------------------------------------------------------


def live_feed(*, clinician) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(clinician=clinician, revoked_at__isnull=True).first()


def feed_by_token_hash(token_hash: str) -> CalendarFeed | None:
    return (
        CalendarFeed.objects.filter(token_hash=token_hash, revoked_at__isnull=True, clinician__is_active=True)
        .select_related("clinician")
        .first()
    )


def feed_appointments(*, clinician, now: datetime, days_back: int = 30, days_ahead: int = 120) -> list[Appointment]:
    return list(
        Appointment.objects.filter(
            clinician=clinician,
            start__gte=now - timedelta(days=days_back),
            start__lt=now + timedelta(days=days_ahead),
        )
        .exclude(status=AppointmentStatus.ENTERED_IN_ERROR)
        .select_related("patient", "appointment_type", "location", "resource")
        .order_by("start")[:2000]
    )
