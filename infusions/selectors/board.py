"""The chair board, the homes' infusion panels and the patient panel: bounded reads for a
location's day (one query per table, whatever the number of chairs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import timezone

from consultations.models import StandingOrder
from infusions import rules, signing
from infusions.models import (
    IN_CHAIR_STATUSES,
    OPEN_STATUSES,
    RECOVERING_STATUSES,
    FlowsheetReading,
    InfusionSession,
    SessionAlert,
)
from infusions.rules import NEEDS_CLINICIAN_DECISION, SessionStatus
from infusions.selectors import sessions as session_selectors
from patients.models import beyond_header
from scheduling.models import Appointment, Location, Resource

S = rules.SessionStatus
READINESS_STATUSES = (S.RECOVERING, S.DISCHARGE_READY)
MAX_CHAIRS = 100
MAX_SESSIONS = 200


def day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(location.time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, start + timedelta(days=1)


def _annotated(qs):
    last = FlowsheetReading.objects.filter(session=OuterRef("pk")).order_by("-taken_at").values("taken_at")[:1]
    return qs.annotate(
        last_reading_at=Subquery(last),
        open_alerts=Count("alerts", filter=Q(alerts__action="")),
        critical_alerts=Count("alerts", filter=Q(alerts__action="", alerts__severity="critical")),
    )


def appointment_care_states(appointment_ids: list[int]) -> dict[int, str]:
    """The desk's words for the calendar ("In chair", "Recovering") of the sessions under way
    among these appointments (one query); a visit not yet begun or over keeps its own status."""
    under_way = InfusionSession.objects.filter(
        appointment_id__in=appointment_ids, status__in=(*IN_CHAIR_STATUSES, *RECOVERING_STATUSES)
    ).values_list("appointment_id", "status")
    return {
        appointment_id: "In chair" if status in IN_CHAIR_STATUSES else "Recovering"
        for appointment_id, status in under_way
    }


def front_status(session: InfusionSession | None) -> str:
    """What the front desk may say: in chair, recovering, done — nothing clinical."""
    if session is None or session.status == S.SCHEDULED:
        return "Expected"
    if session.status in IN_CHAIR_STATUSES:
        return "In chair"
    if session.status in RECOVERING_STATUSES:
        return "Recovering"
    if session.status == S.DEFERRED:
        return "Not treated today"
    return "Left"


def expected_out(appointment: Appointment, session: InfusionSession | None) -> datetime:
    """When the escort can expect the patient: infusion + recovery after the actual start."""
    if session is None or session.started_at is None:
        return appointment.end
    recovery = appointment.appointment_type.recovery_minutes or 0
    return max(appointment.end, session.started_at + timedelta(minutes=session.plan.infusion_minutes + recovery))


@dataclass
class ChairRow:
    chair: Resource
    appointment: Appointment | None
    session: InfusionSession | None
    front_status: str
    expected_out: datetime | None
    minutes_since_start: int | None = None
    # Once the infusion has ended the chair is watching recovery: the time since the end,
    # not a frozen time since the start.
    minutes_in_recovery: int | None = None
    dose_progress_pct: int | None = None
    next_due: datetime | None = None
    overdue: bool = False
    open_alerts: int = 0
    critical_alerts: int = 0
    initials: str = ""
    safety_alerts: list = field(default_factory=list)  # filled by the view for clinicians (followups builds on us)
    # Drug drawn today at this chair (a deferred, stopped or cancelled session included) and not
    # yet closed out by a witnessed waste; from the ledger through ``signing.open_draw_chairs``.
    open_draw: bool = False
    # The session's status as of now (the view fills it for clinical viewers).
    status_label: str = ""


def _pick(appointments: list[Appointment], now: datetime, sessions: dict[int, InfusionSession]) -> Appointment | None:
    """The chair's current appointment: an open session first, else the next one due, else the last."""
    for a in appointments:
        s = sessions.get(a.pk)
        if s is not None and s.status in (*IN_CHAIR_STATUSES, *RECOVERING_STATUSES):
            return a
    upcoming = [a for a in appointments if a.end >= now and a.pk not in sessions]
    return upcoming[0] if upcoming else (appointments[-1] if appointments else None)


# Far enough back for any draw a clinic still holds open. The window costs nothing: only draws not
# certainly closed out are read, whatever the years of sessions behind them.
EARLIER_OPEN_DRAWS_DAYS = 366


def earlier_open_draw_chairs(*, location: Location, at: datetime | None = None) -> list[Resource]:
    """The chairs whose sessions of an earlier day still hold drug drawn and not closed out:
    the board names them above the chairs until a witnessed waste closes each (1 query, and
    one for the policy when any is open)."""
    at = at or timezone.now()
    today, _ = day_bounds(location, timezone.localtime(at, ZoneInfo(location.time_zone)).date())
    ids = signing.open_draw_chairs(location.pk, today - timedelta(days=EARLIER_OPEN_DRAWS_DAYS), today)
    if not ids:
        return []
    return list(Resource.objects.filter(pk__in=ids).order_by("sort_order", "name"))


def chair_board(*, location: Location, at: datetime | None = None, open_draws: bool = False) -> list[ChairRow]:
    """Every chair of the location with who is in it (4 queries), and with ``open_draws`` which
    chairs hold drug drawn and not closed out (1 more)."""
    at = at or timezone.now()
    policy = session_selectors.policy()
    chairs = list(
        Resource.objects.filter(location=location, kind="chair", active=True).order_by("sort_order", "name")[
            :MAX_CHAIRS
        ]
    )
    start, end = day_bounds(location, timezone.localtime(at, ZoneInfo(location.time_zone)).date())
    appointments = list(
        Appointment.objects.filter(
            location=location, resource__in=chairs, start__gte=start, start__lt=end, appointment_type__code="infusion"
        )
        .exclude(status__in=("cancelled", "entered_in_error"))
        .select_related("patient", "appointment_type")
        # The board shows a patient's initials only: the other patient columns (about forty, three
        # phone numbers parsed per row) stay in the database.
        .defer(*beyond_header())
        .order_by("start")[:MAX_SESSIONS]
    )
    sessions = {
        s.appointment_id: s
        for s in _annotated(
            InfusionSession.objects.filter(appointment__in=[a.pk for a in appointments])
        ).select_related("plan")
    }
    # Drug drawn and not closed out stays on its chair, a cancelled appointment's too
    # (clinical viewers only: the front desk sees no drug).
    open_chairs = signing.open_draw_chairs(location.pk, start, end) if open_draws else set()
    by_chair: dict[int | None, list[Appointment]] = {}
    for a in appointments:
        by_chair.setdefault(a.resource_id, []).append(a)
    rows = []
    for chair in chairs:
        booked = by_chair.get(chair.pk, [])
        appointment = _pick(booked, at, sessions)
        session = sessions.get(appointment.pk) if appointment else None
        row = ChairRow(
            chair=chair,
            appointment=appointment,
            session=session,
            front_status=front_status(session) if appointment else "Free",
            expected_out=expected_out(appointment, session) if appointment else None,
            open_draw=chair.pk in open_chairs,
        )
        if appointment:
            p = appointment.patient
            row.initials = f"{(p.preferred_name or p.legal_first_name)[:1]}{p.legal_last_name[:1]}".upper()
        if session is not None:
            row.open_alerts = session.open_alerts
            row.critical_alerts = session.critical_alerts
            if session.started_at:
                end_at = session.ended_at or at
                row.minutes_since_start = int((end_at - session.started_at).total_seconds() // 60)
                row.dose_progress_pct = min(
                    100, int(row.minutes_since_start * 100 / max(1, session.plan.infusion_minutes))
                )
                if session.ended_at:
                    row.minutes_in_recovery = max(0, int((at - session.ended_at).total_seconds() // 60))
            due = session_selectors.next_due(
                session, at=at, cadence=policy.cadence, grace=policy.overdue_grace, last_at=session.last_reading_at
            )
            row.next_due, row.overdue = due.due_at, due.overdue
        rows.append(row)
    return rows


def locations_with_chairs():
    return Location.objects.filter(active=True, resources__kind="chair").distinct().order_by("name")[:50]


def _at_locations(queryset, locations: frozenset[int] | None, *, via: str = "appointment__"):
    """Sessions at ``locations`` only (None: every location; ``scheduling.access.location_ids_for``)."""
    return queryset if locations is None else queryset.filter(**{f"{via}location_id__in": locations})


def todays_sessions(
    *, at: datetime | None = None, limit: int = 50, locations: frozenset[int] | None = None
) -> list[InfusionSession]:
    """Sessions booked today across ``locations`` (clinician home)."""
    at = at or timezone.now()
    today = timezone.localdate(at)
    start = datetime.combine(today, time(0), tzinfo=timezone.get_current_timezone())
    return list(
        _annotated(
            _at_locations(
                InfusionSession.objects.filter(
                    appointment__start__gte=start, appointment__start__lt=start + timedelta(days=1)
                ),
                locations,
            )
        )
        .select_related("patient", "appointment__resource", "appointment__location")
        .order_by("appointment__start")[:limit]
    )


def open_alerts(*, limit: int = 50, locations: frozenset[int] | None = None) -> list[SessionAlert]:
    """Alerts nobody has acted on yet, on sessions still open (clinician home, chair board),
    critical ones first."""
    alerts = list(
        _at_locations(
            SessionAlert.objects.filter(action="", session__status__in=OPEN_STATUSES),
            locations,
            via="session__appointment__",
        )
        .select_related("session__patient", "session__appointment__resource")
        .order_by("-raised_at")[:limit]
    )
    return sorted(alerts, key=lambda a: not a.is_critical)


def prescriber_requests(*, limit: int = 50, locations: frozenset[int] | None = None) -> list[InfusionSession]:
    """Sessions where a nurse asked for a prescriber, oldest request first (prescribers' home):
    a pre-check that needs a decision (drops off once cleared or deferred), or an order whose
    dose is above the protocol's usual range with no override (drops off once a new version
    is signed)."""

    dose_needs_prescriber = StandingOrder.objects.filter(
        plan=OuterRef("plan"),
        superseded_at__isnull=True,
        dose__gt=OuterRef("plan__protocol__dose_max"),
        dose_override_reason="",
        signed_at__lt=OuterRef("prescriber_requested_at"),
    )
    return list(
        _at_locations(
            InfusionSession.objects.filter(
                Q(status=SessionStatus.PRE_CHECK, clearance=NEEDS_CLINICIAN_DECISION)
                | Q(Exists(dose_needs_prescriber), status__in=(SessionStatus.PRE_CHECK, SessionStatus.CLEARED)),
                prescriber_requested_at__isnull=False,
            ),
            locations,
        )
        .select_related("patient", "appointment__resource", "prescriber_requested_by")
        .order_by("prescriber_requested_at")[:limit]
    )


def in_chair_today(
    *, at: datetime | None = None, limit: int = 50, locations: frozenset[int] | None = None
) -> list[tuple[InfusionSession, str, datetime]]:
    """Front desk: who is in a chair or recovering at ``locations``, and when they are expected out."""
    at = at or timezone.now()
    sessions = (
        _at_locations(InfusionSession.objects.filter(status__in=(*IN_CHAIR_STATUSES, *RECOVERING_STATUSES)), locations)
        .select_related("patient", "plan", "appointment__appointment_type", "appointment__resource")
        .order_by("appointment__start")[:limit]
    )
    return [(s, front_status(s), expected_out(s.appointment, s)) for s in sessions]
