"""What the calendar views share: safe redirects, calendar links, the moves a user may make."""

from __future__ import annotations

from datetime import date
from html import escape
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString

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


# A card's status moves in its action menu: a day of 12 chairs is about 40 cards of three or four
# moves, and each move's form was eight template variables and a csrf_token tag, most of the day
# view's rendering. Every interpolated value is escaped (html.escape, quotes too); the markup is
# constant and the same as the card template wrote.
_MOVE_LINK = '\n      <li><a class="dropdown-item" href="{}?next={}">{}</a></li>\n      '
_MOVE_FORM = (
    '\n      <li><form method="post" action="{url}" hx-post="{url}" hx-target="#appt-{pk}" hx-swap="outerHTML">'
    '<input type="hidden" name="csrfmiddlewaretoken" value="{token}">\n'
    '        <input type="hidden" name="to_status" value="{target}"><input type="hidden" name="version" '
    'value="{version}"><input type="hidden" name="next" value="{here}">\n'
    '        <button class="dropdown-item" type="submit">{label}</button></form></li>\n      '
)


def card_move_items(card, moves: dict, *, here: str, here_quoted: str, csrf_token: str) -> SafeString:
    """The menu items of ``card``'s status moves (``moves`` from ``user_moves``)."""
    items = []
    for target, label, needs_reason in moves.get(card.status, ()):
        item = ""
        if target == AppointmentStatus.CANCELLED:
            item = _MOVE_LINK.format(escape(card.cancel_url), escape(here_quoted), escape(str(label)))
        elif not needs_reason:
            item = _MOVE_FORM.format(
                url=escape(card.status_url),
                pk=int(card.pk),
                token=escape(csrf_token),
                target=escape(str(target)),
                version=int(card.version),
                here=escape(here),
                label=escape(str(label)),
            )
        items.append(f"\n      {item}\n      ")
    return SafeString("".join(items))  # nosec B703 - every interpolated value is escaped, the markup is constant
