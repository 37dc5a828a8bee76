"""Operations: bookings, attendance, chair utilisation, intake conversion, reminders.

Every figure is one aggregate query in PostgreSQL; Python only lays the
aggregated rows out as table rows and chart series.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import formats, timezone

from consultations.choices import PROCEED_DECISIONS, PlanStatus
from consultations.models import Consultation, TreatmentPlan
from core import charts
from reminders.models import Reminder
from reports.sql import Hours, local_date, local_hour, local_period, local_weekday, utc_window
from reports.tables import Column, Section, display, one_decimal, rate
from scheduling.models import (
    Appointment,
    AppointmentStatus,
    AppointmentStatusChange,
    AppointmentType,
    Location,
)

S = AppointmentStatus
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
REPORTED_STATUSES = [s for s in S if s != S.ENTERED_IN_ERROR]
ATTENDED = (S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED)


def appointments_in(*, start: date, end: date, location: Location | None) -> QuerySet[Appointment]:
    """Appointments whose local start day is in [start, end], entered-in-error rows left out.

    The UTC bound (a day either side covers every zone) lets the start index
    narrow the rows before the exact per-row local-day test.
    """
    low, high = utc_window(start, end)
    qs = Appointment.objects.exclude(status=S.ENTERED_IN_ERROR).filter(start__gte=low, start__lt=high)
    if location is not None:
        qs = qs.filter(location=location)
    return qs.alias(local_day=local_date()).filter(local_day__gte=start, local_day__lte=end)


# --- 1. Appointments by type and status per week or month -------------------------------------


def appointments_by_type_and_status(f: dict) -> Section:
    qs = appointments_in(start=f["start"], end=f["end"], location=f["location"])
    rows = list(
        qs.annotate(period=local_period(f["period"]))
        .values("period", "appointment_type__name")
        .annotate(total=Count("id"), **{s.value: Count("id", filter=Q(status=s)) for s in REPORTED_STATUSES})
        .order_by("period", "appointment_type__name")
    )
    for row in rows:
        row["type"] = row.pop("appointment_type__name")
    periods = sorted({r["period"] for r in rows})
    types = sorted({r["type"] for r in rows})
    by_key = {(r["period"], r["type"]): r["total"] for r in rows}
    chart = charts.bar_chart(
        categories=[_period_label(p, f["period"]) for p in periods],
        series=[(t, [by_key.get((p, t), 0) for p in periods]) for t in types],
        title=f"Appointments per {f['period']} by type",
        y_label="appointments",
        stacked=True,
    )
    columns = [Column("period", f"{f['period'].title()} starting", numeric=False), Column("type", "Type", False)]
    columns += [Column(s.value, s.label) for s in REPORTED_STATUSES] + [Column("total", "Total")]
    return Section(
        key="appointments",
        title=f"Appointments by type and status per {f['period']}",
        columns=columns,
        rows=rows,
        chart=chart,
        definitions=[
            (
                "Period",
                f"The local {f['period']} (ISO weeks start on Monday) of the appointment's start, in "
                "the time zone of its location.",
            ),
            (
                "Status",
                "The appointment's status now. Booked and confirmed rows in the past are visits "
                "whose outcome was not recorded.",
            ),
            (
                "Total",
                "Every appointment in the period, entered-in-error rows excluded; rescheduled "
                "appointments appear twice: the cancelled original and the new booking.",
            ),
        ],
    )


def _period_label(day: date, period: str) -> str:
    return day.strftime("%b %Y") if period == "month" else day.strftime("%d %b")


# --- 2. No-show and late-cancellation rates by type, weekday and hour -------------------------


def due_appointments(f: dict, *, now: datetime) -> QuerySet[Appointment]:
    """The denominator of attendance rates: appointments that should have happened.

    Start in the range and already passed; cancellations made at least N hours
    before the start (the slot could be re-used) and cancellations by
    rescheduling (the new booking is counted instead) are left out.
    """
    late_limit = timedelta(hours=f["late_cancel_hours"])
    cancelled_at = Subquery(
        AppointmentStatusChange.objects.filter(appointment=OuterRef("pk"), to_status=S.CANCELLED)
        .order_by("-at")
        .values("at")[:1]
    )
    return (
        appointments_in(start=f["start"], end=f["end"], location=f["location"])
        .filter(start__lt=now)
        .annotate(cancelled_at=Coalesce(cancelled_at, F("updated_at")))
        .exclude(Q(status=S.CANCELLED) & Q(rescheduled_to__isnull=False))
        .exclude(Q(status=S.CANCELLED) & Q(cancelled_at__lte=F("start") - late_limit))
    )


def _attendance_counts() -> dict:
    return {
        "due": Count("id"),
        "attended": Count("id", filter=Q(status__in=ATTENDED)),
        "no_show": Count("id", filter=Q(status=S.NO_SHOW)),
        "late_cancel": Count("id", filter=Q(status=S.CANCELLED)),
        "unrecorded": Count("id", filter=Q(status__in=(S.BOOKED, S.CONFIRMED))),
    }


def _with_rates(row: dict) -> dict:
    row["no_show_rate"] = rate(row["no_show"], row["due"])
    row["late_cancel_rate"] = rate(row["late_cancel"], row["due"])
    return row


ATTENDANCE_COLUMNS = [
    Column("due", "Due (denominator)"),
    Column("attended", "Attended"),
    Column("no_show", "No-shows"),
    Column("late_cancel", "Late cancellations"),
    Column("unrecorded", "Outcome not recorded"),
    Column("no_show_rate", "No-show rate %"),
    Column("late_cancel_rate", "Late-cancellation rate %"),
]


def _attendance_definitions(f: dict) -> list[tuple[str, str]]:
    return [
        (
            "Due (denominator)",
            "Appointments whose local start day is in the range and whose start has passed, "
            f"less cancellations made {f['late_cancel_hours']} hours or more before the start and cancellations "
            "by rescheduling (the new booking is counted instead). Entered-in-error rows never count.",
        ),
        ("Attended", "Checked in, in progress or completed."),
        ("No-shows", "Recorded as a no-show."),
        (
            "Late cancellations",
            f"Cancelled less than {f['late_cancel_hours']} hours before the start "
            "(clinic policy; change it in the filter). The cancellation time is the status change's time.",
        ),
        ("Outcome not recorded", "Still booked or confirmed after the start: nobody recorded what happened."),
        ("No-show rate %", "No-shows ÷ due × 100, one decimal; — when nothing was due."),
        ("Late-cancellation rate %", "Late cancellations ÷ due × 100, one decimal; — when nothing was due."),
    ]


def attendance(f: dict, *, now: datetime) -> list[Section]:
    due = due_appointments(f, now=now)
    by_type = [
        _with_rates(r)
        for r in due.values(type=F("appointment_type__name")).annotate(**_attendance_counts()).order_by("type")
    ]
    by_weekday = [
        _with_rates(r | {"weekday": WEEKDAYS[r["weekday_no"]]})
        for r in due.annotate(weekday_no=local_weekday())
        .values("weekday_no")
        .annotate(**_attendance_counts())
        .order_by("weekday_no")
    ]
    by_hour = [
        _with_rates(r | {"hour": formats.time_format(time(r["hour_no"]))})
        for r in due.annotate(hour_no=local_hour())
        .values("hour_no")
        .annotate(**_attendance_counts())
        .order_by("hour_no")
    ]
    definitions = _attendance_definitions(f)

    def chart(rows, key, title):
        return charts.bar_chart(
            categories=[r[key] for r in rows],
            series=[
                ("No-show %", [r["no_show_rate"] for r in rows]),
                ("Late cancellation %", [r["late_cancel_rate"] for r in rows]),
            ],
            title=title,
            y_label="% of due",
        )

    return [
        Section(
            key="attendance-type",
            title="No-shows and late cancellations by appointment type",
            columns=[Column("type", "Type", False), *ATTENDANCE_COLUMNS],
            rows=by_type,
            chart=chart(by_type, "type", "No-show and late-cancellation rates by type"),
            definitions=definitions,
        ),
        Section(
            key="attendance-weekday",
            title="…by local weekday",
            columns=[Column("weekday", "Weekday", False), *ATTENDANCE_COLUMNS],
            rows=by_weekday,
            chart=chart(by_weekday, "weekday", "No-show and late-cancellation rates by weekday"),
            definitions=[("Weekday", "The weekday of the local start time at the appointment's location.")],
        ),
        Section(
            key="attendance-hour",
            title="…by local start hour",
            columns=[Column("hour", "Start hour", False), *ATTENDANCE_COLUMNS],
            rows=by_hour,
            chart=chart(by_hour, "hour", "No-show and late-cancellation rates by start hour"),
            definitions=[("Start hour", "The hour of the local start time (9:00 AM = 9:00–9:59 AM).")],
        ),
    ]


# --- 3. Chair utilisation ---------------------------------------------------------------------

_OPEN_HOURS_SQL = """
SELECT l.id,
       l.name,
       (SELECT COUNT(*) FROM scheduling_resource r
         WHERE r.location_id = l.id AND r.kind = 'chair' AND r.active) AS chairs,
       COALESCE((
         SELECT SUM(EXTRACT(EPOCH FROM (oh.closes - oh.opens))) / 3600.0
           FROM generate_series(%(start)s::date, %(end)s::date, interval '1 day') AS d(day)
           JOIN scheduling_openinghours oh
             ON oh.location_id = l.id AND oh.weekday = EXTRACT(ISODOW FROM d.day)::integer - 1
            AND (oh.effective_from IS NULL OR d.day::date >= oh.effective_from)
            AND (oh.effective_until IS NULL OR d.day::date <= oh.effective_until)
          WHERE NOT EXISTS (
                SELECT 1 FROM scheduling_closure c
                 WHERE c.location_id = l.id AND d.day::date BETWEEN c.starts_on AND c.ends_on)
       ), 0) AS open_hours
  FROM scheduling_location l
 WHERE l.active AND (%(location)s::bigint IS NULL OR l.id = %(location)s::bigint)
 ORDER BY l.name
"""


def chair_utilisation(f: dict) -> Section:
    with connection.cursor() as cursor:
        cursor.execute(
            _OPEN_HOURS_SQL,
            {"start": f["start"], "end": f["end"], "location": f["location"].pk if f["location"] else None},
        )
        sites = cursor.fetchall()
    booked = dict(
        appointments_in(start=f["start"], end=f["end"], location=f["location"])
        .filter(resource__kind="chair")
        .exclude(status=S.CANCELLED)
        .values("location")
        .annotate(hours=Sum(Hours(F("end") - F("start"))))
        .values_list("location", "hours")
    )
    rows = []
    for location_id, name, chairs, open_hours in sites:
        open_chair_hours = one_decimal(float(open_hours) * chairs)
        booked_hours = one_decimal(booked.get(location_id) or 0)
        rows.append(
            {
                "location": name,
                "chairs": chairs,
                "open_hours": one_decimal(float(open_hours)),
                "open_chair_hours": open_chair_hours,
                "booked_chair_hours": booked_hours,
                "utilisation": rate(booked_hours, open_chair_hours) if open_chair_hours else None,
            }
        )
    chart = charts.bar_chart(
        categories=[r["location"] for r in rows],
        series=[("Utilisation %", [r["utilisation"] for r in rows])],
        title="Chair utilisation by location",
        y_label="% of open chair-hours",
    )
    return Section(
        key="utilisation",
        title="Chair utilisation",
        columns=[
            Column("location", "Location", False),
            Column("chairs", "Active chairs"),
            Column("open_hours", "Opening hours in range"),
            Column("open_chair_hours", "Open chair-hours (denominator)"),
            Column("booked_chair_hours", "Booked chair-hours"),
            Column("utilisation", "Utilisation %"),
        ],
        rows=rows,
        chart=chart,
        definitions=[
            (
                "Opening hours in range",
                "For every local day in the range, the location's opening windows for "
                "that weekday that were in effect on that day (hours added later do not count "
                "backwards), minus whole days closed (closures).",
            ),
            ("Active chairs", "Infusion chairs marked active today (chair history is not kept)."),
            ("Open chair-hours (denominator)", "Opening hours × active chairs."),
            (
                "Booked chair-hours",
                "Length of every chair booking starting in the range that was not "
                "cancelled (no-shows still held the chair).",
            ),
            (
                "Utilisation %",
                "Booked ÷ open chair-hours × 100; — when the site was never open. "
                "Can exceed 100% when chairs are booked outside opening hours.",
            ),
        ],
    )


# --- 4. Intake conversion ---------------------------------------------------------------------


def _days(later: str, earlier: str) -> str:
    return (
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"
        " FILTER (WHERE eligible)"
    )


def _conversion_figures(per_consultation) -> dict:
    """Aggregate over the per-consultation rows as a derived table, so that the plan and
    infusion subqueries run once per consultation instead of once per figure."""
    inner_sql, params = per_consultation.query.get_compiler(using=per_consultation.db).as_sql()
    figures = {
        "consultations": "COUNT(*)",
        "signed": "COUNT(*) FILTER (WHERE status = 'signed')",
        "eligible": "COUNT(*) FILTER (WHERE eligible)",
        "planned": "COUNT(*) FILTER (WHERE eligible AND plan_at IS NOT NULL)",
        "infused": "COUNT(*) FILTER (WHERE eligible AND plan_at IS NOT NULL AND infusion_at IS NOT NULL)",
        "days_to_decision": _days("signed_at", "consult_at"),
        "days_to_plan": _days("plan_at", "signed_at"),
        "days_to_infusion": _days("infusion_at", "plan_at"),
        "days_total": _days("infusion_at", "consult_at"),
    }
    select = ", ".join(f"{sql} AS {name}" for name, sql in figures.items())
    with connection.cursor() as cursor:
        # Only our own constant SQL is interpolated; values travel as parameters.
        cursor.execute(f"SELECT {select} FROM ({inner_sql}) AS per_consultation", params)  # noqa: S608
        return dict(zip(figures, cursor.fetchone(), strict=True))


def conversion(f: dict) -> Section:
    consult_at = Coalesce(F("appointment__start"), F("created_at"))
    zone = Coalesce(F("appointment__location__time_zone"), Value(settings.TIME_ZONE))
    consultations = Consultation.objects.annotate(consult_at=consult_at).alias(consult_day=local_date(consult_at, zone))
    consultations = consultations.filter(consult_day__gte=f["start"], consult_day__lte=f["end"])
    if f["location"] is not None:
        consultations = consultations.filter(appointment__location=f["location"])
    plan_at = Subquery(
        TreatmentPlan.objects.filter(consultation=OuterRef("pk"))
        .exclude(status=PlanStatus.DRAFT)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    infusion_at = Subquery(
        Appointment.objects.filter(
            patient=OuterRef("patient"),
            appointment_type__code=AppointmentType.Code.INFUSION,
            status=S.COMPLETED,
            start__gte=OuterRef("plan_at"),
        )
        .order_by("start")
        .values("start")[:1]
    )
    eligible = Q(status=Consultation.Status.SIGNED, decision__in=list(PROCEED_DECISIONS))
    per_consultation = (
        consultations.annotate(plan_at=plan_at)
        .annotate(
            infusion_at=infusion_at,
            eligible=ExpressionWrapper(eligible, output_field=BooleanField()),
        )
        .values("status", "signed_at", "consult_at", "plan_at", "infusion_at", "eligible")
    )
    figures = _conversion_figures(per_consultation)
    n = figures["consultations"]
    rows = [
        {"step": "Consultations", "count": n, "of_previous": None, "of_consultations": rate(n, n), "median_days": None},
        {
            "step": "Signed",
            "count": figures["signed"],
            "of_previous": rate(figures["signed"], n),
            "of_consultations": rate(figures["signed"], n),
            "median_days": None,
        },
        {
            "step": "Eligible (signed, proceed)",
            "count": figures["eligible"],
            "of_previous": rate(figures["eligible"], figures["signed"]),
            "of_consultations": rate(figures["eligible"], n),
            "median_days": one_decimal(figures["days_to_decision"]),
        },
        {
            "step": "Treatment plan agreed",
            "count": figures["planned"],
            "of_previous": rate(figures["planned"], figures["eligible"]),
            "of_consultations": rate(figures["planned"], n),
            "median_days": one_decimal(figures["days_to_plan"]),
        },
        {
            "step": "First infusion completed",
            "count": figures["infused"],
            "of_previous": rate(figures["infused"], figures["planned"]),
            "of_consultations": rate(figures["infused"], n),
            "median_days": one_decimal(figures["days_to_infusion"]),
        },
    ]
    chart = charts.bar_chart(
        categories=[r["step"] for r in rows],
        series=[("Patients", [r["count"] for r in rows])],
        title="Consultation to first infusion",
        y_label="consultations",
    )
    return Section(
        key="conversion",
        title="Consultation → eligible → plan → first infusion",
        columns=[
            Column("step", "Step", False),
            Column("count", "Consultations reaching it"),
            Column("of_previous", "% of previous step"),
            Column("of_consultations", "% of consultations"),
            Column("median_days", "Median days from previous step"),
        ],
        rows=rows,
        chart=chart,
        note=f"Median days from consultation to first infusion: {display(one_decimal(figures['days_total']))}.",
        definitions=[
            (
                "Consultations",
                "Intake consultations whose appointment (or, without one, creation) falls on a "
                "local day in the range; with a location filter, only those booked at that location.",
            ),
            (
                "Eligible",
                'Signed with the decision "eligible" or "proceed despite findings"; days from the '
                "consultation's start to the signature.",
            ),
            (
                "Treatment plan agreed",
                "An eligible consultation with a plan that left draft; days from the signature to the plan's creation.",
            ),
            (
                "First infusion completed",
                "The patient's first completed infusion appointment on or after the "
                "plan; days from the plan to its start.",
            ),
            ("% of previous step", "Count ÷ the previous step's count × 100; — when the previous step is 0."),
            (
                "Median",
                "The middle value (the median, half above and half below) over consultations that reached the "
                "step; — when none did.",
            ),
        ],
    )


# --- 5. Reminders and their effect on no-shows ------------------------------------------------


def reminders(f: dict, *, now: datetime) -> list[Section]:
    in_range = appointments_in(start=f["start"], end=f["end"], location=f["location"])
    R = Reminder.Status
    by_channel = list(
        Reminder.objects.filter(appointment__in=in_range.values("pk"))
        .values("channel")
        .annotate(
            total=Count("id"),
            sent=Count("id", filter=Q(status=R.SENT)),
            failed=Count("id", filter=Q(status=R.FAILED)),
            pending=Count("id", filter=Q(status__in=(R.PENDING, R.SENDING))),
            void=Count("id", filter=Q(status=R.VOID)),
        )
        .order_by("channel")
    )
    for row in by_channel:
        row["failure_rate"] = rate(row["failed"], row["sent"] + row["failed"])
    sent = Reminder.objects.filter(appointment=OuterRef("pk"), status=R.SENT)
    first_sent = Subquery(sent.order_by("sent_at").values("sent_at")[:1])
    confirmed_after = AppointmentStatusChange.objects.filter(
        appointment=OuterRef("pk"), to_status=S.CONFIRMED, at__gte=OuterRef("first_sent_at")
    )
    effect = list(
        due_appointments(f, now=now)
        .annotate(reminded=Exists(sent), first_sent_at=first_sent)
        .annotate(confirmed_after=Exists(confirmed_after))
        .values("reminded")
        .annotate(**_attendance_counts(), confirmed=Count("id", filter=Q(confirmed_after=True)))
        .order_by("-reminded")
    )
    for row in effect:
        _with_rates(row)
        row["group"] = "With a sent reminder" if row["reminded"] else "Without a sent reminder"
        row["confirmed_rate"] = rate(row["confirmed"], row["due"]) if row["reminded"] else None
    return [
        Section(
            key="reminders",
            title="Reminders by channel",
            columns=[
                Column("channel", "Channel", False),
                Column("total", "Reminders"),
                Column("sent", "Sent"),
                Column("failed", "Failed"),
                Column("pending", "Pending"),
                Column("void", "Void"),
                Column("failure_rate", "Failure rate %"),
            ],
            rows=by_channel,
            chart=charts.bar_chart(
                categories=[r["channel"] for r in by_channel],
                series=[("Sent", [r["sent"] for r in by_channel]), ("Failed", [r["failed"] for r in by_channel])],
                title="Reminders sent and failed by channel",
                y_label="reminders",
                stacked=True,
            ),
            definitions=[
                (
                    "Reminders",
                    "Reminder messages (one per appointment, rule and channel) for appointments starting in the range.",
                ),
                ("Void", "No longer needed (the visit was cancelled or moved before sending)."),
                ("Failure rate %", "Failed ÷ (sent + failed) × 100; — when none were attempted."),
            ],
        ),
        Section(
            key="reminder-effect",
            title="No-shows with and without a sent reminder",
            columns=[
                Column("group", "Appointments", False),
                Column("due", "Due (denominator)"),
                Column("confirmed", "Confirmed after a reminder"),
                Column("confirmed_rate", "Confirmed %"),
                Column("no_show", "No-shows"),
                Column("no_show_rate", "No-show rate %"),
            ],
            rows=effect,
            chart=charts.bar_chart(
                categories=[r["group"] for r in effect],
                series=[("No-show %", [r["no_show_rate"] for r in effect])],
                title="No-show rate with and without a sent reminder",
                y_label="% of due",
            ),
            definitions=[
                ("Due (denominator)", "As in the attendance tables: started, less timely cancellations."),
                ("With a sent reminder", "At least one reminder for the appointment was sent (any channel)."),
                (
                    "Confirmed after a reminder",
                    "The appointment was moved to confirmed at or after its first sent reminder.",
                ),
                (
                    "No-show rate %",
                    "No-shows ÷ due × 100. An association, not proof that reminders cause "
                    "attendance: who gets a reminder is not random.",
                ),
            ],
        ),
    ]


def operations(f: dict) -> list[Section]:
    now = timezone.now()
    return [
        appointments_by_type_and_status(f),
        *attendance(f, now=now),
        chair_utilisation(f),
        conversion(f),
        *reminders(f, now=now),
    ]
