"""Reads of the follow-up stage: outcomes trajectory, plan course, worklist, alerts, links.

Every function issues a fixed number of queries whatever the patient's history length.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils import timezone

from assessments import instruments
from assessments.models import InstrumentResponse, ResponseContext
from consultations.choices import DoseUnit, ScheduleMoment
from consultations.models import StandingOrder
from consultations.selectors import live_plan_for
from core import charts
from followups import rules
from followups.models import (
    AlertReason,
    BoosterSuggestion,
    FollowUpVisit,
    QuestionnaireLink,
    SafetyAlert,
    SafetyAlertView,
    SuggestionStatus,
)
from patients.models import Patient, beyond_header
from scheduling.access import in_their_patients, location_ids_for
from scheduling.hooks import RecordLink
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus

MAX_POINTS = 1000
# The worklist shows each list's oldest (or, for scores and links, newest) rows up to this many
# and says when there are more, with a link to that list in full, a page of WORKLIST_PAGE at a time.
# Nothing is cut off unseen: a backlog shows as "All …", not as a list that silently stops.
WORKLIST_SHOWN = 20
WORKLIST_PAGE = 50
WORKLIST_KINDS = ("alert", "follow_up", "worsened", "link", "suggestion")
CHART_CODES = tuple(c for c in instruments.INSTRUMENTS if c in instruments.CHANGE_CODES)


def _current(qs: QuerySet[InstrumentResponse]) -> QuerySet[InstrumentResponse]:
    corrected = InstrumentResponse.objects.filter(supersedes=OuterRef("pk"))
    return qs.filter(~Exists(corrected))


@dataclass
class InstrumentOutcome:
    code: str
    name: str
    total_max: int
    points: list[InstrumentResponse] = field(default_factory=list)  # oldest first
    baseline: InstrumentResponse | None = None
    latest: InstrumentResponse | None = None
    change: instruments.Change | None = None

    @property
    def short_name(self) -> str:
        name = self.name
        return name[name.rfind("(") + 1 : -1] if name.endswith(")") else name

    @property
    def status(self) -> str:
        c = self.change
        if c is None:
            return "Not enough data"
        if c.pain_improvement:
            return f"{c.pain_improvement.capitalize()} improvement (IMMPACT)"
        if c.remission:
            return "Remission"
        if c.response:
            return "Response"
        if c.response is None and c.remission is None:
            return "No response/remission rule" if self.code != "phq9" else "Baseline ≤9: rule not applicable"
        return "No response at the latest score"


@dataclass
class InfusionMark:
    at: datetime
    label: str


@dataclass
class Trajectory:
    outcomes: list[InstrumentOutcome]
    infusions: list[InfusionMark]
    dose_steps: list[InfusionMark] = field(default_factory=list)


def dose_steps(patient, *, limit: int = 50) -> list[InfusionMark]:
    """Each later signed version of a standing order that changed the dose (a titration step),
    oldest first, with its reason. One query."""
    found: list[InfusionMark] = []
    previous: dict[int, Decimal] = {}
    rows = (
        StandingOrder.objects.filter(plan__patient=patient)
        .order_by("plan_id", "number")
        .values_list("plan_id", "number", "dose", "dose_unit", "signed_at", "reason")[: limit * 4]
    )
    for plan_id, number, dose, unit, signed_at, reason in rows:
        before = previous.get(plan_id)
        previous[plan_id] = dose
        if number > 1 and before is not None and dose != before:
            unit_text = DoseUnit(unit).label.split(" ")[0]
            found.append(
                InfusionMark(
                    signed_at,
                    f"Order v{number}: {before.normalize()} → {dose.normalize()} {unit_text}"
                    + (f" ({reason})" if reason else ""),
                )
            )
    return found[-limit:]


def infusion_marks(patient, *, limit: int = 200) -> list[InfusionMark]:
    """Infusion and booster days (completed appointments), with the dose of the session's
    current dose calculation when the ``infusions`` app records one. One query."""
    from django.apps import apps
    from django.db.models import Subquery

    rows = Appointment.objects.filter(
        patient=patient, appointment_type__code__in=("infusion", "booster"), status=AppointmentStatus.COMPLETED
    ).order_by("start")
    try:
        calculation = apps.get_model("infusions", "DoseCalculation") if apps.is_installed("infusions") else None
    except LookupError:
        calculation = None
    if calculation is not None:
        from django.db.models import Q

        # A session that has started counts before its appointment is closed.
        rows = Appointment.objects.filter(
            Q(status=AppointmentStatus.COMPLETED) | Q(infusion_session__started_at__isnull=False),
            patient=patient,
            appointment_type__code__in=("infusion", "booster"),
        ).order_by("start")
        dose = (
            calculation.objects.filter(session__appointment=OuterRef("pk"), superseded_at=None)
            .order_by("-calculated_at")
            .values("dose_mg")[:1]
        )
        rows = rows.annotate(dose_mg=Subquery(dose))
        values: Iterable[tuple[datetime, Decimal | None]] = rows.values_list("start", "dose_mg")[:limit]
    else:
        values = [(start, None) for start in rows.values_list("start", flat=True)[:limit]]
    return [
        InfusionMark(at, f"Infusion {dose_mg.normalize()} mg" if dose_mg is not None else "Infusion")
        for at, dose_mg in values
    ]


def trajectory(patient) -> Trajectory:
    """Every change-capable instrument's current scores over time, baseline/latest/change,
    and infusion marks. Two queries, whatever the number of sessions."""
    rows = list(
        _current(InstrumentResponse.objects.filter(patient=patient, instrument__in=CHART_CODES))
        .only("id", "instrument", "total", "band", "flags", "context", "source", "administered_at", "patient_id")
        .order_by("administered_at", "id")[:MAX_POINTS]
    )
    grouped: dict[str, list[InstrumentResponse]] = defaultdict(list)
    for r in rows:
        grouped[r.instrument].append(r)
    outcomes = []
    for code in CHART_CODES:
        points = grouped.get(code)
        if not points:
            continue
        inst = instruments.INSTRUMENTS[code]
        baselines = [p for p in points if p.context == ResponseContext.BASELINE]
        baseline = baselines[-1] if baselines else points[0]
        latest = points[-1]
        change = instruments.change(code, baseline.total, latest.total) if latest.pk != baseline.pk else None
        outcomes.append(InstrumentOutcome(code, inst.name, inst.total_max, points, baseline, latest, change))
    return Trajectory(outcomes, infusion_marks(patient), dose_steps(patient))


@dataclass
class CourseRow:
    moment: str
    label: str
    codes: list[str]
    expected: int
    recorded: int


def plan_course(patient) -> tuple[Any, list[CourseRow]]:
    """The live plan's measurement schedule against what was recorded. Three queries."""

    plan = live_plan_for(patient)
    if plan is None:
        return None, []
    infusions_done = len(infusion_marks(patient))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for context, code in _current(
        InstrumentResponse.objects.filter(patient=patient, administered_at__gte=plan.created_at)
    ).values_list("context", "instrument")[:MAX_POINTS]:
        counts[(context, code)] += 1
    result = []
    for moment in ScheduleMoment:
        codes = list((plan.measurement_schedule or {}).get(moment.value, []))
        if not codes:
            continue
        expected_each = infusions_done if moment.value in ("pre_infusion", "post_infusion") else None
        for code in codes:
            recorded = counts[(moment.value, code)]
            expected = expected_each if expected_each is not None else recorded
            result.append(CourseRow(moment.value, moment.label, [code], expected, recorded))
    return plan, result


# --- Chart ------------------------------------------------------------------------------


def chart_svg(traj: Trajectory) -> str:
    """One SVG with every instrument as a percentage of its maximum, infusion days marked."""
    series = [
        charts.Series(
            o.short_name,
            points=[
                charts.Point(
                    p.administered_at,
                    float(Decimal(p.total) * 100 / o.total_max) if o.total_max else 0.0,
                    label=f"{o.short_name} {p.total}/{o.total_max} on {timezone.localtime(p.administered_at):%m/%d/%Y}",
                )
                for p in o.points
            ],
        )
        for o in traj.outcomes
    ]
    if not series:
        return ""
    markers = [charts.Marker(m.at, m.label) for m in traj.infusions]
    markers += [charts.Marker(m.at, f"Dose step: {m.label}") for m in traj.dose_steps]
    return charts.line_chart(
        series=series,
        title="Scores over time (% of each instrument's maximum)",
        y_label="% of maximum",
        y_min=0,
        y_max=100,
        markers=markers,
    )


# --- Worklist and alerts -----------------------------------------------------------------


def open_alerts(*, user=None, limit: int = 50) -> list[SafetyAlert]:
    """Unacknowledged alerts, oldest first: the user's own first, then everyone's unassigned.

    For lists (the worklist, the clinician's home), which show the patient's name, the reason and
    the time: the answers and the clinician stay in the database."""
    qs = SafetyAlert.objects.filter(acknowledged_at=None).select_related("patient").defer(*beyond_header())
    if user is not None:
        from django.db.models import Q

        # Theirs or nobody's, about a patient of their locations.
        qs = in_their_patients(user, qs.filter(Q(clinician=user) | Q(clinician=None)))
    return list(qs.order_by("created_at", "id")[:limit])


def open_alerts_by_patient(patient_ids, *, limit: int = 200) -> dict[int, list[SafetyAlert]]:
    """Unacknowledged alerts of these patients, oldest first (the chair board: who is in clinic today)."""
    found: dict[int, list[SafetyAlert]] = defaultdict(list)
    if patient_ids:
        qs = SafetyAlert.objects.filter(patient_id__in=patient_ids, acknowledged_at=None).only(
            "id", "patient_id", "reason", "created_at"
        )
        for alert in qs.order_by("created_at", "id")[:limit]:
            found[alert.patient_id].append(alert)
    return dict(found)


def alert_detail(alert_id: int) -> SafetyAlert | None:
    return (
        SafetyAlert.objects.select_related("patient", "response", "clinician", "acknowledged_by")
        .filter(pk=alert_id)
        .first()
    )


def alert_seen_by(alert: SafetyAlert) -> list[SafetyAlertView]:
    """Who has opened the alert, first look first."""
    return list(SafetyAlertView.objects.filter(alert=alert).select_related("user").order_by("first_seen_at", "id"))


@dataclass
class Worklist:
    """The worklist's rows as plain values (ids, the patient's display name, times, text)."""

    follow_ups: list[tuple[int, int, str, datetime, str]]  # appointment, patient, name, start, due/overdue
    worsened: list[tuple[int, str, int, int]]  # patient, name, previous PHQ-9, latest PHQ-9
    alerts: list[tuple[int, str, str, datetime]]  # alert, name, reason, raised at
    not_returned: list[tuple[int, str, datetime, datetime]]  # patient, name, sent, expired
    suggestions: list[tuple[int, int, str, str]]  # suggestion, patient, name, reason
    more: frozenset[str] = frozenset()  # the kinds (WORKLIST_KINDS) with rows beyond those listed


def worklist(
    *, user, today: date, min_rise: int, days_back: int = 30, only: str | None = None, page: int = 1
) -> Worklist:
    """The clinician's follow-up worklist in one statement (``_WORKLIST_SQL``): each list's first
    ``WORKLIST_SHOWN`` rows, or with ``only`` (one of ``WORKLIST_KINDS``) that list alone, page
    ``page`` of ``WORKLIST_PAGE`` rows; ``more`` names the lists that go on.

    Its five lists were five ORM statements building some 150 model instances: compiling them and
    building the instances was about half the page's CPU, and each was a round trip. The rows are
    plain values: the page shows names, times and text, and links by id."""
    now = timezone.now()
    zone = timezone.get_current_timezone()
    since = now - timedelta(days=days_back)
    params = {
        "user": user.pk,
        # Unsigned visits on the clinic's days up to today are exactly the due and overdue ones:
        # filtered here, so the limit counts only those; the days as a UTC range the index serves.
        "day_from": datetime.combine(today - timedelta(days=days_back), time.min, tzinfo=zone),
        "day_to": datetime.combine(today + timedelta(days=1), time.min, tzinfo=zone),
        "statuses": [str(s) for s in (*ACTIVE_STATUSES, AppointmentStatus.COMPLETED)],
        "since": since,
        "min_rise": min_rise,
        "now": now,
        "links_since": now - timedelta(days=30),
        "open": str(SuggestionStatus.OPEN),
        # A scoped clinician's lists hold their locations' patients, whose charts they may open.
        "locations": None if (ids := location_ids_for(user)) is None else sorted(ids),
    }
    shown = {kind: (WORKLIST_PAGE if kind == only else 0) if only else WORKLIST_SHOWN for kind in WORKLIST_KINDS}
    for kind in WORKLIST_KINDS:
        # One row more than is shown tells whether the list goes on; a list not asked for reads none.
        params[f"{kind}_limit"] = shown[kind] + 1 if shown[kind] else 0
        params[f"{kind}_offset"] = (page - 1) * WORKLIST_PAGE if kind == only else 0
    with connection.cursor() as cursor:
        cursor.execute(_WORKLIST_SQL, params)
        cursor.nextset()  # past the setting, to the lists
        rows = cursor.fetchall()
    lists: dict[str, list] = defaultdict(list)
    for kind, pk, patient_id, last, first, preferred, at, until, text, previous, latest in rows:
        lists[kind].append((pk, patient_id, Patient.name_of(last, first, preferred), at, until, text, previous, latest))
    # A UNION ALL keeps no order between or within its branches: each list is sorted here.
    more = frozenset(kind for kind in WORKLIST_KINDS if len(lists[kind]) > shown[kind])
    follow_ups = sorted(lists["follow_up"], key=lambda r: (r[3], r[0]))[: shown["follow_up"]]
    alerts = sorted(lists["alert"], key=lambda r: (r[3], r[0]))[: shown["alert"]]
    worsened = sorted(lists["worsened"], key=lambda r: r[3], reverse=True)[: shown["worsened"]]
    links = sorted(lists["link"], key=lambda r: (r[3], r[0]), reverse=True)[: shown["link"]]
    suggestions = sorted(lists["suggestion"], key=lambda r: (r[3], r[0]))[: shown["suggestion"]]
    reasons = dict(AlertReason.choices)
    return Worklist(
        more=more,
        follow_ups=[
            (
                pk,
                patient,
                name,
                at,
                rules.follow_up_state(start=timezone.localtime(at).date(), today=today, has_signed_note=False),
            )
            for pk, patient, name, at, *_ in follow_ups
        ],
        worsened=[(patient, name, previous, latest) for _, patient, name, _at, _, _, previous, latest in worsened],
        alerts=[(pk, name, reasons.get(reason, reason), at) for pk, _, name, at, _, reason, *_ in alerts],
        not_returned=[(patient, name, at, until) for _, patient, name, at, until, *_ in links],
        suggestions=[(pk, patient, name, reason) for pk, patient, name, _at, _, reason, *_ in suggestions],
    )


def models_q_clinician(user):
    from django.db.models import Q

    return Q(clinician=user) | Q(clinician__isnull=True)


# The worklist's five lists, each its own branch with its own order and limit, each of the user's
# locations' patients only (``locations``: their ids, NULL for chain-wide), in the columns
# (kind, id, patient, last name, first name, preferred name, time, second time, text, previous
# score, latest score). Worsened PHQ-9: patients with a current (not corrected) PHQ-9 in the window,
# then each one's two latest current PHQ-9s read in the order of the (patient, instrument, time)
# index and stopped after two: a short index read per patient instead of ranking every score of
# theirs with window functions (EXPLAIN ANALYZE at 2,000 patients: 12 ms, now 2.5). The previous
# score may be older than the window. The whole is wrapped in one outer SELECT: django-pghistory
# prefixes every statement that does not begin with SELECT (a write, it assumes) with two
# set_config calls carrying the request's context, which a read pays for nothing.
# It runs without parallel workers: on a large data set the planner chose to scan the window's PHQ-9
# scores with a parallel worker, whose start-up (about 3 ms of a 6 ms statement at 20,000 patients)
# cost more than the scan of a few thousand index entries it shared. The setting is local to the
# transaction, which for the two statements sent together is their own implicit one.
_WORKLIST_SQL = """
SELECT set_config('max_parallel_workers_per_gather', '0', true);
SELECT * FROM (
(SELECT 'follow_up', a.id, a.patient_id, p.legal_last_name, p.legal_first_name, p.preferred_name,
        a.start, NULL::timestamptz, NULL::text, NULL::integer, NULL::integer
 FROM scheduling_appointment a
 JOIN scheduling_appointmenttype t ON t.id = a.appointment_type_id
 JOIN patients_patient p ON p.id = a.patient_id
 WHERE t.code IN ('follow_up', 'booster')
   AND a.start >= %(day_from)s AND a.start < %(day_to)s
   AND a.status = ANY(%(statuses)s)
   AND (a.clinician_id = %(user)s OR a.clinician_id IS NULL)
   AND (%(locations)s::bigint[] IS NULL OR EXISTS (
          SELECT 1 FROM scheduling_patientlocation pl
          WHERE pl.patient_id = a.patient_id AND pl.location_id = ANY(%(locations)s::bigint[])))
   AND NOT EXISTS (
       SELECT 1 FROM followups_followupvisit v WHERE v.appointment_id = a.id AND v.signed_at IS NOT NULL
   )
 ORDER BY a.start, a.id
 LIMIT %(follow_up_limit)s OFFSET %(follow_up_offset)s)
UNION ALL
(SELECT 'worsened', NULL::bigint, p.id, p.legal_last_name, p.legal_first_name, p.preferred_name,
        w.latest_at, NULL::timestamptz, NULL::text, w.totals[2], w.totals[1]
 -- The few worsened patients are found first and only they are joined to the registry: joined
 -- before the filter, the planner expected a thousand rows and hashed the whole registry.
 FROM (
     SELECT recent.patient_id, two.totals, two.latest_at
     FROM (
         -- Any PHQ-9 in the window makes a candidate, corrected or not: the lateral below reads only
         -- current scores and the filter after it wants the latest of them in the window, so asking
         -- here too only made the planner hash every correction ever recorded (4 ms at 20,000).
         SELECT DISTINCT r.patient_id FROM assessments_instrumentresponse r
         WHERE r.instrument = 'phq9' AND r.administered_at >= %(since)s
           AND (%(locations)s::bigint[] IS NULL OR EXISTS (
                  SELECT 1 FROM scheduling_patientlocation pl
                  WHERE pl.patient_id = r.patient_id AND pl.location_id = ANY(%(locations)s::bigint[])))
     ) recent
     CROSS JOIN LATERAL (
         SELECT array_agg(last.total ORDER BY last.administered_at DESC, last.id DESC) AS totals,
                max(last.administered_at) AS latest_at
         FROM (
             SELECT r.id, r.total, r.administered_at FROM assessments_instrumentresponse r
             WHERE r.patient_id = recent.patient_id AND r.instrument = 'phq9'
               AND NOT EXISTS (SELECT 1 FROM assessments_instrumentresponse c WHERE c.supersedes_id = r.id)
             ORDER BY r.administered_at DESC
             LIMIT 2
         ) last
     ) two
     WHERE two.totals[2] IS NOT NULL AND two.totals[1] - two.totals[2] >= %(min_rise)s
       AND two.latest_at >= %(since)s
     ORDER BY two.latest_at DESC, recent.patient_id
     LIMIT %(worsened_limit)s OFFSET %(worsened_offset)s
 ) w
 JOIN patients_patient p ON p.id = w.patient_id
 ORDER BY w.latest_at DESC)
UNION ALL
(SELECT 'alert', s.id, s.patient_id, p.legal_last_name, p.legal_first_name, p.preferred_name,
        s.created_at, NULL::timestamptz, s.reason::text, NULL::integer, NULL::integer
 FROM followups_safetyalert s JOIN patients_patient p ON p.id = s.patient_id
 WHERE s.acknowledged_at IS NULL AND (s.clinician_id = %(user)s OR s.clinician_id IS NULL)
   AND (%(locations)s::bigint[] IS NULL OR EXISTS (
          SELECT 1 FROM scheduling_patientlocation pl
          WHERE pl.patient_id = s.patient_id AND pl.location_id = ANY(%(locations)s::bigint[])))
 ORDER BY s.created_at, s.id
 LIMIT %(alert_limit)s OFFSET %(alert_offset)s)
UNION ALL
(SELECT 'link', l.id, l.patient_id, p.legal_last_name, p.legal_first_name, p.preferred_name,
        l.created_at, l.expires_at, NULL::text, NULL::integer, NULL::integer
 FROM followups_questionnairelink l JOIN patients_patient p ON p.id = l.patient_id
 WHERE l.completed_at IS NULL AND l.revoked_at IS NULL AND l.created_at >= %(links_since)s AND l.expires_at <= %(now)s
   AND (%(locations)s::bigint[] IS NULL OR EXISTS (
          SELECT 1 FROM scheduling_patientlocation pl
          WHERE pl.patient_id = l.patient_id AND pl.location_id = ANY(%(locations)s::bigint[])))
 ORDER BY l.created_at DESC, l.id DESC
 LIMIT %(link_limit)s OFFSET %(link_offset)s)
UNION ALL
(SELECT 'suggestion', b.id, b.patient_id, p.legal_last_name, p.legal_first_name, p.preferred_name,
        b.created_at, NULL::timestamptz, b.reason::text, NULL::integer, NULL::integer
 -- The page's suggestions first, then their patients (a merge join walked the registry's index).
 FROM (
     SELECT id, patient_id, created_at, reason FROM followups_boostersuggestion bs
     WHERE status = %(open)s
       AND (%(locations)s::bigint[] IS NULL OR EXISTS (
              SELECT 1 FROM scheduling_patientlocation pl
              WHERE pl.patient_id = bs.patient_id AND pl.location_id = ANY(%(locations)s::bigint[])))
     ORDER BY created_at, id
     LIMIT %(suggestion_limit)s OFFSET %(suggestion_offset)s
 ) b
 JOIN patients_patient p ON p.id = b.patient_id
 ORDER BY b.created_at, b.id)
) AS lists
"""


def ready_to_book(*, limit: int = 100, user=None) -> list[BoosterSuggestion]:
    """Accepted booster suggestions with no booster booked since: for the front desk (booking facts
    only), of ``user``'s locations' patients when given."""

    booked = Appointment.objects.filter(
        patient=OuterRef("patient"),
        appointment_type__code="booster",
        created_at__gte=OuterRef("decided_at"),
        status__in=[*ACTIVE_STATUSES, AppointmentStatus.COMPLETED],
    )
    accepted = BoosterSuggestion.objects.filter(status=SuggestionStatus.ACCEPTED)
    if user is not None:
        accepted = in_their_patients(user, accepted)
    return list(accepted.filter(~Exists(booked)).select_related("patient", "decided_by").order_by("decided_at")[:limit])


def outstanding_links(*, patient=None, limit: int = 50, user=None) -> list[QuestionnaireLink]:
    """Questionnaires sent and not yet answered (no answers: safe for the front desk); of
    ``user``'s locations' patients when given."""
    qs = QuestionnaireLink.objects.filter(completed_at=None, revoked_at=None).select_related("patient")
    if patient is not None:
        qs = qs.filter(patient=patient)
    if user is not None:
        qs = in_their_patients(user, qs)
    return list(qs.order_by("-created_at")[:limit])


def patient_panel(patient) -> dict[str, Any]:
    visits = list(
        FollowUpVisit.objects.filter(patient=patient)
        .select_related("appointment", "clinician")
        .order_by("-created_at")[:20]
    )
    suggestions = list(BoosterSuggestion.objects.filter(patient=patient).order_by("-created_at")[:10])
    alerts = list(SafetyAlert.objects.filter(patient=patient).select_related("response", "acknowledged_by")[:20])

    upcoming = list(
        Appointment.objects.filter(
            patient=patient, appointment_type__code__in=("follow_up", "booster"), status__in=ACTIVE_STATUSES
        )
        .annotate(has_visit=Exists(FollowUpVisit.objects.filter(appointment=OuterRef("pk"))))
        .select_related("appointment_type")
        .order_by("-start")[:10]
    )
    return {
        "visits": visits,
        "suggestions": suggestions,
        "alerts": alerts,
        "links": outstanding_links(patient=patient, limit=10),
        "followup_appointments": upcoming,
    }


def visit_detail(visit_id: int) -> FollowUpVisit | None:
    return (
        FollowUpVisit.objects.select_related("patient", "appointment__appointment_type", "clinician", "signed_by")
        .prefetch_related("amendments__author")
        .filter(pk=visit_id)
        .first()
    )


def self_report_link(link_id: int | None) -> QuestionnaireLink | None:
    if not link_id:
        return None
    return QuestionnaireLink.objects.select_related("patient").filter(pk=link_id).first()


def appointment_record_links(appointment, user) -> list[RecordLink]:
    """Registered with ``scheduling.hooks``: a follow-up or booster appointment's page links to its
    note, or offers to open it, for those who write follow-up notes."""
    if appointment.appointment_type.code not in rules.VISIT_TYPE_CODES:
        return []
    if not user.has_perm("followups.view_followupvisit"):
        return []
    visit = FollowUpVisit.objects.filter(appointment=appointment).only("id", "status").first()
    if visit is not None:
        label = f"Follow-up note ({visit.get_status_display().lower()})"
        return [RecordLink(label, reverse("followups:visit-detail", args=[visit.pk]))]
    if appointment.status in ACTIVE_STATUSES and user.has_perm("followups.add_followupvisit"):
        url = reverse("followups:visit-open", args=[appointment.pk])
        return [RecordLink("Open the follow-up note", url, opens=True)]
    return []
