"""The administrator's home: the few figures that matter this week, each with a 12-week
sparkline and a link into the report behind it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from consultations.models import Consultation
from core import charts
from reports.forms import LATE_CANCEL_HOURS_DEFAULT, UNSIGNED_DAYS_DEFAULT
from reports.selectors import operations
from reports.sql import local_period
from reports.tables import display, rate
from scheduling.models import AppointmentStatus, Location

WEEKS = 12
CACHE_SECONDS = 300  # the home page is opened often; five-minute-old weekly figures are fine


def cached_administrator_figures(
    *, today: date, now: datetime, location: Location | None = None
) -> tuple[list[dict], datetime]:
    """The figures (of every location, or of ``location``) and when they were computed, shared for
    five minutes (per cache)."""
    from django.core.cache import cache

    key = f"reports:administrator-figures:{today.isoformat()}:{location.pk if location else 'all'}"
    found = cache.get(key)
    if found is None:
        found = (administrator_figures(today=today, now=now, location=location), now)
        cache.set(key, found, CACHE_SECONDS)
    return found


def administrator_figures(*, today: date, now: datetime, location: Location | None = None) -> list[dict]:
    """This week's figures of every location, or of ``location`` (an administrator scoped to some
    locations sees the first of theirs, as their reports open on it)."""
    this_monday = today - timedelta(days=today.weekday())
    first_monday = this_monday - timedelta(weeks=WEEKS - 1)
    f: dict[str, Any] = {  # the shape of ReportFilterForm.cleaned_data, which the operations selectors take
        "start": first_monday,
        "end": this_monday + timedelta(days=6),
        "location": location,
        "period": "week",
        "late_cancel_hours": LATE_CANCEL_HOURS_DEFAULT,
        "unsigned_days": UNSIGNED_DAYS_DEFAULT,
    }
    mondays = [first_monday + timedelta(weeks=i) for i in range(WEEKS)]
    booked = dict(
        operations.appointments_in(start=f["start"], end=f["end"], location=location)
        .exclude(status=AppointmentStatus.CANCELLED)
        .annotate(week=local_period("week"))
        .values("week")
        .annotate(n=Count("id"))
        .values_list("week", "n")
    )
    attendance = {
        row["week"]: row
        for row in operations.due_appointments(f, now=now)
        .annotate(week=local_period("week"))
        .values("week")
        .annotate(due=Count("id"), no_show=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)))
    }
    no_show = [rate(attendance[m]["no_show"], attendance[m]["due"]) if m in attendance else None for m in mondays]
    week_only = {**f, "start": this_monday}
    utilisation = operations.chair_utilisation(week_only).rows
    open_hours = sum(r["open_chair_hours"] or 0 for r in utilisation)
    booked_hours = sum(r["booked_chair_hours"] or 0 for r in utilisation)

    drafts = Consultation.objects.filter(
        status=Consultation.Status.DRAFT, created_at__lt=now - timedelta(days=UNSIGNED_DAYS_DEFAULT)
    )
    if location is not None:  # as the compliance report counts them at a location
        drafts = drafts.filter(appointment__location=location)
    unsigned = drafts.count()
    where = "all locations" if location is None else location.name
    week_query = urlencode({"start": this_monday.isoformat(), "end": (this_monday + timedelta(days=6)).isoformat()})
    trend_query = urlencode({"start": f["start"].isoformat(), "end": f["end"].isoformat()})
    this_week = attendance.get(this_monday, {"due": 0, "no_show": 0})
    return [
        {
            "label": "Appointments booked this week",
            "value": booked.get(this_monday, 0),
            "detail": "not cancelled; any status",
            "sparkline": charts.sparkline(
                [booked.get(m, 0) for m in mondays], title=f"Appointments per week, last {WEEKS} weeks"
            ),
            "url": f"{reverse('reports:appointments')}?{trend_query}",
        },
        {
            "label": "No-show rate this week",
            "value": f"{display(no_show[-1])}%" if no_show[-1] is not None else "—",
            "detail": f"{this_week['no_show']} of {this_week['due']} due so far",
            "sparkline": charts.sparkline(no_show, title=f"No-show rate per week, last {WEEKS} weeks"),
            "url": f"{reverse('reports:attendance')}?{trend_query}",
        },
        {
            "label": "Chair utilisation this week",
            "value": f"{display(rate(booked_hours, open_hours))}%" if open_hours else "—",
            "detail": f"{booked_hours} of {open_hours} open chair-hours",
            "sparkline": "",
            "url": f"{reverse('reports:utilisation')}?{week_query}",
        },
        {
            "label": f"Consultations unsigned after {UNSIGNED_DAYS_DEFAULT} days",
            "value": unsigned,
            "detail": f"drafts, {where} ({UNSIGNED_DAYS_DEFAULT} days is clinic policy)",
            "sparkline": "",
            "url": reverse("reports:compliance"),
        },
    ]
