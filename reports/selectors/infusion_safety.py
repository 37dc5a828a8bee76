"""Infusion-day safety and flow: adverse events, blood-pressure alerts by infusion number,
early stops, deferrals, time to discharge-ready and chair time against the booking.

Denominators are infusion sessions whose appointment falls on a local day in the range
(at the location filter); "infusions" are those that started.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet, Subquery

from core import charts
from infusions import rules as infusion_rules
from infusions.models import AdverseEvent, InfusionSession, SessionTransition
from infusions.models.flowsheet import AdverseEventKind, Severity
from reports.sql import Median, Minutes, local_date, utc_window
from reports.tables import Column, Section, one_decimal, per_100, rate

BP_FIELDS = ("sbp_mmhg", "dbp_mmhg")
LAST_NUMBER = 7  # infusion numbers 7 and above share a row ("7+")


def sessions_in(f: dict) -> QuerySet[InfusionSession]:
    low, high = utc_window(f["start"], f["end"])
    sessions = InfusionSession.objects.filter(appointment__start__gte=low, appointment__start__lt=high)
    if f["location"] is not None:
        sessions = sessions.filter(appointment__location=f["location"])
    return sessions.alias(day=local_date("appointment__start", "appointment__location__time_zone")).filter(
        day__gte=f["start"], day__lte=f["end"]
    )


def adverse_events(f: dict) -> Section:
    sessions = sessions_in(f)
    infusions = sessions.filter(started_at__isnull=False).count()
    counts = {
        (r["kind"], r["severity"]): r["n"]
        for r in AdverseEvent.objects.filter(session__in=sessions.values("pk"))
        .values("kind", "severity")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = []
    for kind in AdverseEventKind:
        by_severity = {s.value: counts.get((kind.value, s.value), 0) for s in Severity}
        total = sum(by_severity.values())
        rows.append({"kind": kind.label, **by_severity, "total": total, "per_100": per_100(total, infusions)})
    total = sum(counts.values())
    rows.append(
        {
            "kind": "All adverse events",
            **{s.value: sum(n for (_, sev), n in counts.items() if sev == s.value) for s in Severity},
            "total": total,
            "per_100": per_100(total, infusions),
        }
    )
    return Section(
        key="adverse-events",
        title="Adverse events per 100 infusions",
        columns=[
            Column("kind", "Kind", False),
            *[Column(s.value, s.label) for s in Severity],
            Column("total", "Events"),
            Column("per_100", "Per 100 infusions"),
        ],
        rows=rows,
        note=f"Denominator: {infusions} infusions started.",
        chart=charts.bar_chart(
            categories=[r["kind"] for r in rows[:-1]],
            series=[(s.label, [r[s.value] for r in rows[:-1]]) for s in Severity],
            title="Adverse events by kind and severity",
            y_label="events",
            stacked=True,
        ),
        definitions=[
            ("Infusions (denominator)", "Infusion sessions that started, booked on a local day in the range."),
            ("Events", "Adverse events recorded on those sessions, by the severity recorded."),
            ("Per 100 infusions", "Events ÷ infusions × 100; — when no infusion started."),
        ],
    )


_BP_BY_NUMBER_SQL = """
WITH numbered AS (
    SELECT s.id,
           a.location_id,
           (timezone(l.time_zone, a.start))::date AS day,
           row_number() OVER (PARTITION BY s.plan_id ORDER BY s.started_at, s.id) AS n
      FROM infusions_infusionsession s
      JOIN scheduling_appointment a ON a.id = s.appointment_id
      JOIN scheduling_location l ON l.id = a.location_id
     WHERE s.started_at IS NOT NULL
)
SELECT LEAST(numbered.n, %(last)s) AS number,
       COUNT(*) AS infusions,
       COUNT(*) FILTER (WHERE alerts.n > 0) AS with_alert,
       COALESCE(SUM(alerts.n), 0) AS alerts
  FROM numbered
  LEFT JOIN LATERAL (
        SELECT COUNT(*) AS n FROM infusions_sessionalert al
         WHERE al.session_id = numbered.id AND al.field IN ('sbp_mmhg', 'dbp_mmhg')
  ) alerts ON true
 WHERE numbered.day BETWEEN %(start)s AND %(end)s
   AND (%(location)s::bigint IS NULL OR numbered.location_id = %(location)s::bigint)
 GROUP BY 1
 ORDER BY 1
"""


def bp_alerts_by_infusion_number(f: dict) -> Section:
    with connection.cursor() as cursor:
        cursor.execute(
            _BP_BY_NUMBER_SQL,
            {
                "start": f["start"],
                "end": f["end"],
                "location": f["location"].pk if f["location"] else None,
                "last": LAST_NUMBER,
            },
        )
        found = cursor.fetchall()
    rows = [
        {
            "number": f"{n}+" if n == LAST_NUMBER else str(n),
            "infusions": infusions,
            "with_alert": with_alert,
            "alerts": alerts,
            "per_100": per_100(alerts, infusions),
            "share": rate(with_alert, infusions),
        }
        for n, infusions, with_alert, alerts in found
    ]
    return Section(
        key="bp-alerts",
        title="Blood-pressure alerts per 100 infusions, by infusion number",
        columns=[
            Column("number", "Infusion number in the plan", False),
            Column("infusions", "Infusions (denominator)"),
            Column("alerts", "BP alerts"),
            Column("per_100", "BP alerts per 100 infusions"),
            Column("with_alert", "Infusions with a BP alert"),
            Column("share", "% of infusions with a BP alert"),
        ],
        rows=rows,
        chart=charts.bar_chart(
            categories=[r["number"] for r in rows],
            series=[("BP alerts per 100 infusions", [r["per_100"] for r in rows])],
            title="Blood-pressure alerts by infusion number",
            y_label="per 100 infusions",
        ),
        definitions=[
            (
                "Infusion number",
                "The session's place among the plan's started sessions (all time, by start), "
                f"so surges in the first infusions show; {LAST_NUMBER} and above share a row.",
            ),
            ("BP alerts", "Flowsheet alerts on systolic or diastolic blood pressure (thresholds: infusion policy)."),
            ("Per 100 infusions", "BP alerts ÷ infusions × 100; — when no infusion started."),
        ],
    )


def early_stops_and_deferrals(f: dict) -> list[Section]:
    sessions = sessions_in(f)
    started = sessions.filter(started_at__isnull=False).count()
    stops = list(
        sessions.exclude(stop_reason_code="")
        .values(reason=F("stop_reason_code"))
        .annotate(n=Count("id"))
        .order_by("reason")
    )
    for row in stops:
        row["per_100"] = per_100(row["n"], started)
    checked_in = sessions.filter(checked_in_at__isnull=False).count()
    deferrals = list(
        sessions.exclude(deferral_reason_code="")
        .values(reason=F("deferral_reason_code"))
        .annotate(n=Count("id"))
        .order_by("-n", "reason")
    )
    for row in deferrals:
        row["rate"] = rate(row["n"], checked_in)
    return [
        Section(
            key="early-stops",
            title="Infusions stopped early, by reason",
            columns=[
                Column("reason", "Reason", False),
                Column("n", "Stopped early"),
                Column("per_100", "Per 100 infusions"),
            ],
            rows=stops,
            note=f"Denominator: {started} infusions started.",
            chart=charts.bar_chart(
                categories=[r["reason"] for r in stops],
                series=[("Per 100 infusions", [r["per_100"] for r in stops])],
                title="Early stops by reason",
                y_label="per 100 infusions",
            ),
            definitions=[
                ("Stopped early", "Sessions with a coded stop reason (the infusion ended before the planned dose)."),
                ("Per 100 infusions", "Stops ÷ infusions started × 100."),
            ],
        ),
        Section(
            key="deferrals",
            title="Deferrals by reason",
            columns=[Column("reason", "Reason", False), Column("n", "Deferred"), Column("rate", "% of check-ins")],
            rows=deferrals,
            note=f"Denominator: {checked_in} sessions checked in.",
            chart=charts.bar_chart(
                categories=[r["reason"] for r in deferrals],
                series=[("Deferred", [r["n"] for r in deferrals])],
                title="Deferrals by reason",
                y_label="sessions",
            ),
            definitions=[
                ("Deferred", "Sessions deferred on the day with a coded reason."),
                ("% of check-ins", "Deferred ÷ sessions checked in × 100; — when nobody checked in."),
            ],
        ),
    ]


def discharge_and_chair_time(f: dict) -> Section:
    first_ready = SessionTransition.objects.filter(session=OuterRef("pk"), to_status="discharge_ready").order_by(
        "at", "id"
    )
    figures = (
        sessions_in(f)
        .annotate(
            ready_at=Subquery(first_ready.values("at")[:1]),
            ready_reason=Subquery(first_ready.values("reason")[:1]),
        )
        .aggregate(
            ended=Count("id", filter=Q(ended_at__isnull=False)),
            ready=Count("id", filter=Q(ended_at__isnull=False, ready_at__isnull=False)),
            # Readiness recorded by the discharge itself: its moment is the discharge's, so the
            # median counts only the sessions where a reading, a score or the discharge details
            # showed every criterion met as it happened; the others are counted beside it.
            ready_as_it_happened=Count(
                "id",
                filter=Q(ended_at__isnull=False, ready_at__isnull=False)
                & ~Q(ready_reason=infusion_rules.READY_WHEN_DISCHARGING),
            ),
            ready_at_discharge=Count(
                "id",
                filter=Q(ended_at__isnull=False, ready_reason=infusion_rules.READY_WHEN_DISCHARGING),
            ),
            median_to_ready=Median(
                Minutes(F("ready_at") - F("ended_at")),
                filter=~Q(ready_reason=infusion_rules.READY_WHEN_DISCHARGING),
            ),
            discharged=Count("id", filter=Q(checked_in_at__isnull=False, discharged_at__isnull=False)),
            avg_chair=Avg(
                Minutes(F("discharged_at") - F("checked_in_at")),
                filter=Q(checked_in_at__isnull=False, discharged_at__isnull=False),
            ),
            avg_booked=Avg(
                Minutes(F("appointment__end") - F("appointment__start")),
                filter=Q(checked_in_at__isnull=False, discharged_at__isnull=False),
            ),
            median_chair=Median(Minutes(F("discharged_at") - F("checked_in_at"))),
        )
    )
    rows = [
        {
            "figure": "Median minutes from end of infusion to discharge-ready (recorded as it happened)",
            "value": one_decimal(figures["median_to_ready"]),
            "n": figures["ready_as_it_happened"],
        },
        {
            "figure": "Sessions found discharge-ready only at the discharge (not in the median)",
            "value": "—",
            "n": figures["ready_at_discharge"],
        },
        {
            "figure": "Average chair minutes (check-in to discharge)",
            "value": one_decimal(figures["avg_chair"]),
            "n": figures["discharged"],
        },
        {
            "figure": "Median chair minutes (check-in to discharge)",
            "value": one_decimal(figures["median_chair"]),
            "n": figures["discharged"],
        },
        {
            "figure": "Average booked minutes, same sessions",
            "value": one_decimal(figures["avg_booked"]),
            "n": figures["discharged"],
        },
    ]
    return Section(
        key="chair-time",
        title="Time to discharge-ready and chair time against the booking",
        columns=[Column("figure", "Figure", False), Column("value", "Minutes"), Column("n", "Sessions (denominator)")],
        rows=rows,
        chart=charts.bar_chart(
            categories=["Chair time (average)", "Booked (average)"],
            series=[("Minutes", [rows[2]["value"], rows[4]["value"]])],
            title="Average chair time against booked time",
            y_label="minutes",
        ),
        definitions=[
            (
                "Discharge-ready",
                "The first time the session was recorded discharge-ready (a reading, a score or the discharge "
                "details showed every criterion met), minus the infusion's end. When the observation time ran out "
                "with nothing posted, readiness is recorded by the discharge itself; the moment the criteria came "
                "to hold is not known then, so those sessions are counted apart and left out of the median.",
            ),
            ("Chair time", "Discharge minus check-in: infusion plus recovery as it happened."),
            ("Booked", "The appointment's length for the same sessions."),
        ],
    )


def infusion_safety(f: dict) -> list[Section]:
    return [
        adverse_events(f),
        bp_alerts_by_infusion_number(f),
        *early_stops_and_deferrals(f),
        discharge_and_chair_time(f),
    ]
