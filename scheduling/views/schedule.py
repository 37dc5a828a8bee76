"""The calendar (day grid and week table) and the printable day sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from accounts import audit
from scheduling import rules, selectors, services
from scheduling.views.common import SESSION_LOCATION, calendar_url, user_moves

# --- Calendar -------------------------------------------------------------------


@dataclass(frozen=True)
class Chip:
    """One booking in a week cell, formatted once in Python: a busy week holds hundreds."""

    url: str
    css: str
    time: str
    name: str
    detail: str


def _week_chips(data: selectors.CalendarData) -> dict[str, dict[date, list[Chip]]]:
    zone = data.location.zone
    url = reverse("scheduling:appointment-detail", args=[0]).replace("/0/", "/{}/")
    out: dict[str, dict[date, list[Chip]]] = {}
    for column in data.columns:
        out[column.key] = {
            day: [
                Chip(
                    url=url.format(appt.pk),
                    css=f"appt-c-{appt.appointment_type.colour} appt-s-{appt.status}",
                    time=rules.clock(appt.start.astimezone(zone)),
                    name=appt.patient.display_name,
                    detail=f"{appt.appointment_type.name} · {appt.get_status_display()}",
                )
                for appt in appts
            ]
            for day, appts in column.by_day.items()
        }
    return out


def _calendar_params(request):
    locations = list(selectors.active_locations())
    wanted = request.GET.get("location") or request.session.get(SESSION_LOCATION)
    # Without a choice, the oldest site (usually the main one) rather than the first alphabetically.
    default = min(locations, key=lambda loc: loc.pk) if locations else None
    location = next((loc for loc in locations if str(loc.pk) == str(wanted)), default)
    if location is not None:
        request.session[SESSION_LOCATION] = location.pk
    today = timezone.now().astimezone(location.zone).date() if location else timezone.localdate()
    try:
        day = parse_date(request.GET.get("date", "")[:10]) or today
    except ValueError:
        day = today
    return {
        "locations": locations,
        "location": location,
        "today": today,
        "day": day,
        "view": "week" if request.GET.get("view") == "week" else "day",
        "columns": "clinicians" if request.GET.get("columns") == "clinicians" else "resources",
        "show_all": request.GET.get("show") == "all",
    }


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def calendar(request):
    p = _calendar_params(request)
    context = {**p, "crumbs": [("Schedule", None)], "moves": user_moves(request.user)}
    location = p["location"]
    if location is not None:
        week = p["view"] == "week"
        start_day = p["day"] - timedelta(days=p["day"].weekday()) if week else p["day"]
        step = 7 if week else 1
        data = selectors.calendar(
            location=location,
            start_day=start_day,
            days=step,
            group_by=p["columns"],
            include_hidden=p["show_all"],
            now=timezone.now(),
        )
        keep = {"view": p["view"], "columns": p["columns"], **({"show": "all"} if p["show_all"] else {})}
        context.update(
            data=data,
            chips=_week_chips(data) if week else {},
            prev_url=calendar_url(location.pk, p["day"] - timedelta(days=step), **keep),
            next_url=calendar_url(location.pk, p["day"] + timedelta(days=step), **keep),
            today_url=calendar_url(location.pk, p["today"], **keep),
            here=request.get_full_path(),
            can_book=request.user.has_perm("scheduling.add_appointment") and p["day"] >= p["today"],
        )
    return render(request, "scheduling/calendar.html", context)


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def day_sheet(request):
    p = _calendar_params(request)
    location = p["location"]
    if location is None:
        return render(request, "scheduling/day_sheet.html", {**p, "appointments": []})
    appointments = list(
        selectors.appointments_on(day=p["day"], locations=[location]).exclude(status__in=selectors.HIDDEN_BY_DEFAULT)
    )
    # Printing a list of patients is a disclosure worth recording (security-reference D5).
    audit.record(
        actor=request.user,
        action="scheduling.day_sheet.printed",
        verb="print",
        category=services.AUDIT_CATEGORY,
        target=location,
        changes={"date": p["day"].isoformat(), "rows": len(appointments)},
    )
    return render(
        request,
        "scheduling/day_sheet.html",
        {**p, "appointments": appointments, "printed_at": timezone.now()},
    )
