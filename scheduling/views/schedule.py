"""The calendar (day grid and week table) and the printable day sheet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from html import escape
from urllib.parse import quote

from django.contrib.auth.decorators import permission_required
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.models import AuditEvent
from core.audit import Verb
from scheduling import rules, selectors, services
from scheduling.access import in_their_locations
from scheduling.forms import chosen_pk
from scheduling.views.common import SESSION_LOCATION, calendar_url, card_move_items, user_moves

# --- Calendar -------------------------------------------------------------------


# One booking in a week cell, formatted once in Python: a busy week holds hundreds, and five
# template variables per booking were a large share of the page's time.
CHIP_HTML = '<a class="chip {}" href="{}"><strong>{}</strong> {}<br><span class="text-body-secondary">{}</span></a>'


@dataclass(frozen=True)
class WeekDay:
    """A column head of the week table: the day, its classes and why it is closed."""

    day: date
    css: str
    closed: str  # "" when open; "Closed" or "Closed: <reason>"


def _week_table(data: selectors.CalendarData, today: date) -> dict:
    """Heads and rows of the week table, every cell prepared here so the template only loops.

    Per-cell template work (filters, lookups, ``with``) over 14 rows × 7 days was a large share of
    the page's time; the page is the same HTML either way.
    """
    zone = data.location.zone
    url = reverse("scheduling:appointment-detail", args=[0]).replace("/0/", "/{}/")
    heads = []
    for day in data.days:
        reason = data.closed.get(day, "")
        closed = f"Closed: {reason}" if reason else ("" if data.opening.get(day.weekday()) else "Closed")
        css = " ".join(c for c in ("is-today" if day == today else "", "is-closed" if closed else "") if c)
        heads.append(WeekDay(day=day, css=css, closed=closed))
    rows = []
    for column in data.columns:
        cells = []
        for head in heads:
            # Every value is escaped here (html.escape, quotes too); the markup is the constant CHIP_HTML.
            chips = "".join(
                CHIP_HTML.format(
                    escape(f"appt-c-{b.colour} appt-s-{b.status}"),
                    url.format(b.pk),
                    rules.clock(b.start.astimezone(zone)),
                    escape(b.patient_name),
                    escape(f"{b.type_name} · {data.care_states.get(b.pk) or b.status_display}"),
                )
                for b in column.by_day.get(head.day, ())
            )
            cells.append((head.css, mark_safe(chips)))  # noqa: S308 - every interpolated text above is escaped
        rows.append((column, cells))
    return {"heads": heads, "rows": rows}


# The empty half-hours of one day-grid column, as links to the booking form: 14 columns of 28
# half-hours are hundreds of links, and eight template variables each were a large share of the
# day view's time. Every interpolated value is escaped (quotes too); the markup is constant.
SLOT_HTML = '<a class="cal-slot {}" tabindex="-1" href="{}" aria-label="Book {} at {}"></a>'


def _slot_links(data: selectors.CalendarData, column: selectors.Column, book_prefix: str) -> str:
    label = escape(column.label)
    query = column.booking_query
    return mark_safe(  # noqa: S308 - every interpolated text is escaped
        "".join(
            SLOT_HTML.format(css, escape(f"{book_prefix}{hhmm}{query}"), label, escape(clock_text))
            for css, hhmm, clock_text in data.link_rows
        )
    )


def _focus(request) -> int | None:
    """The booking just made or moved, which the page scrolls to and highlights."""
    value = request.GET.get("focus", "")[:12]
    return int(value) if chosen_pk(value) else None


def _calendar_params(request):
    # A scoped user is offered their own sites only; an address naming another falls back to theirs.
    locations = list(in_their_locations(request.user, selectors.active_locations(), field="pk"))
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


def day_context(request, *, location, day, today, columns: str = "resources", show_all: bool = False) -> dict:
    """What the day grid needs (``_day_grid.html``): the page and the in-place move answer share it."""
    data = selectors.calendar(
        location=location,
        start_day=day,
        days=1,
        group_by=columns,
        include_hidden=show_all,
        now=timezone.now(),
    )
    user = request.user
    can_book = user.has_perm("scheduling.add_appointment") and day >= today
    if can_book and not data.closed.get(day):
        prefix = f"{reverse('scheduling:book')}?location={location.pk}&date={day.isoformat()}&start_time="
        grid_columns = [(column, _slot_links(data, column, prefix)) for column in data.columns]
    else:
        grid_columns = [(column, "") for column in data.columns]
    here = calendar_url(location.pk, day, columns=columns, **({"show": "all"} if show_all else {}))
    moves, here_quoted, token = user_moves(user), quote(here), get_token(request)
    card_menus = {
        item.card.pk: card_move_items(item.card, moves, here=here, here_quoted=here_quoted, csrf_token=token)
        for column in data.columns
        for item in column.items
    }
    return {
        "data": data,
        "grid_columns": grid_columns,
        "location": location,
        "day": day,
        "day_iso": day.isoformat(),
        "today": today,
        "columns": columns,
        "show_all": show_all,
        "moves": moves,
        "card_menus": card_menus,
        "care_states": data.care_states,
        "here": here,
        "here_quoted": here_quoted,
        "can_book": can_book,
        "can_manage": user.has_perm("scheduling.manage_bookings"),
        # Dragging changes the chair, so it is offered where the columns are chairs and rooms.
        "can_move": user.has_perm("scheduling.manage_bookings") and day >= today,
        "can_drag": user.has_perm("scheduling.manage_bookings") and day >= today and columns == "resources",
        "chairs": [c.resource for c in data.columns if c.resource is not None and c.resource.active],
        # The night the clocks go back, the Move dialog asks which of the doubled times is meant.
        "clocks_go_back": any(
            rules.is_ambiguous(day, time(h, m), location.time_zone) for h in range(24) for m in (0, 30)
        ),
    }


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
@audit.audited_query("scheduling.calendar.viewed", AuditEvent.Category.SCHEDULING)
def calendar(request):
    p = _calendar_params(request)
    context = {**p, "crumbs": [("Schedule", None)], "moves": user_moves(request.user)}
    location = p["location"]
    if location is not None:
        week = p["view"] == "week"
        step = 7 if week else 1
        if week:
            data = selectors.calendar(
                location=location,
                start_day=p["day"] - timedelta(days=p["day"].weekday()),
                days=step,
                group_by=p["columns"],
                include_hidden=p["show_all"],
                now=timezone.now(),
            )
            context.update(data=data, week=_week_table(data, p["today"]), here=request.get_full_path())
        else:
            context.update(
                day_context(
                    request,
                    location=location,
                    day=p["day"],
                    today=p["today"],
                    columns=p["columns"],
                    show_all=p["show_all"],
                )
            )
        keep = {"view": p["view"], "columns": p["columns"], **({"show": "all"} if p["show_all"] else {})}
        context.update(
            prev_url=calendar_url(location.pk, p["day"] - timedelta(days=step), **keep),
            next_url=calendar_url(location.pk, p["day"] + timedelta(days=step), **keep),
            today_url=calendar_url(location.pk, p["today"], **keep),
            can_book=request.user.has_perm("scheduling.add_appointment") and p["day"] >= p["today"],
            focus=_focus(request),
        )
    return render(request, "scheduling/calendar.html", context)


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
@audit.audited_query("scheduling.day_sheet.viewed", AuditEvent.Category.SCHEDULING)
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
        verb=Verb.PRINT,
        category=services.AUDIT_CATEGORY,
        target=location,
        changes={"date": p["day"].isoformat(), "rows": len(appointments)},
    )
    return render(
        request,
        "scheduling/day_sheet.html",
        {
            **p,
            "appointments": appointments,
            "care_states": selectors.care_states_of(appointments),
            "paperwork": selectors.paperwork_of(appointments),
            "lacking_consent": selectors.lacking_consent_of(appointments),
            "printed_at": timezone.now(),
        },
    )
