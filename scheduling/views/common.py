"""What the calendar views share: safe redirects, calendar links, the moves a user may make."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme

from accounts import context
from scheduling import rules, selectors
from scheduling.forms import chosen_pk, parse_instant
from scheduling.models import AppointmentStatus

SESSION_LOCATION = context.LOCATION_SESSION_KEY  # also read by the audit trail and the logs
SESSION_NEW_FEED = "scheduling_new_feed_token"
PATIENT_CHOICES = 8
MOVE_LABELS: dict[str, str] = {
    AppointmentStatus.CONFIRMED: "Confirm",
    AppointmentStatus.CHECKED_IN: "Check in",
    AppointmentStatus.IN_PROGRESS: "Start visit",
    AppointmentStatus.COMPLETED: "Complete",
    AppointmentStatus.NO_SHOW: "No-show",
    AppointmentStatus.CANCELLED: "Cancel…",
    AppointmentStatus.ENTERED_IN_ERROR: "Entered in error…",
}
# Moves that need a reason go through a page with a form, not a one-click button.
NEEDS_REASON = {AppointmentStatus.CANCELLED, AppointmentStatus.ENTERED_IN_ERROR}


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return fallback


def parse_date_or_none(text: str) -> date | None:
    try:
        return parse_date((text or "")[:10])
    except ValueError:
        return None


def calendar_url(location_id, day: date, **extra) -> str:
    query = {"location": location_id, "date": day.isoformat(), **extra}
    return f"{reverse('scheduling:calendar')}?{urlencode(query)}"


def user_moves(user) -> dict[str, list[tuple[str, str, bool]]]:
    """For each status: the (target, label, needs-reason) moves this user may make."""
    out = {}
    for status, targets in rules.TRANSITIONS.items():
        out[status] = [
            (t, MOVE_LABELS[t], t in NEEDS_REASON)
            for t in sorted(targets, key=list(MOVE_LABELS).index)
            if user.has_perm(rules.TRANSITION_PERMISSION[t])
        ]
    return out


def resource_names(slots) -> dict[int, str]:
    ids = {s.resource_id for s in slots or () if s.resource_id}
    return dict(selectors.bookable_resources().filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def with_alternative(request, data):
    """Re-post the form with an offered alternative slot filled in (one click books it)."""
    value = request.POST.get("alternative", "")
    instant_text, _, resource_id = value.partition("|")
    start = parse_instant(instant_text)
    location_id = str(data.get("location", ""))
    location = selectors.active_locations().filter(pk=location_id).first() if start and chosen_pk(location_id) else None
    if start is None or location is None:
        return data
    local = start.astimezone(location.zone)
    data = data.copy()
    data["date"] = local.date().isoformat()
    data["first_date"] = data["date"]
    data["start_time"] = local.strftime("%H:%M")
    data["fold"] = str(local.fold)
    data["end_time"] = ""
    if chosen_pk(resource_id):
        data["resource"] = resource_id
    return data
