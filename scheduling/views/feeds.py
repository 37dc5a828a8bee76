"""A clinician's private calendar feed and the page that issues and revokes it."""

from __future__ import annotations

import icalendar
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core import tokens
from scheduling import selectors, services
from scheduling.models import AppointmentStatus
from scheduling.views.common import SESSION_NEW_FEED

# --- Calendar feed -----------------------------------------------------------------


@permission_required("scheduling.subscribe_calendar_feed", raise_exception=True)
@require_GET
def feeds(request):
    token = request.session.pop(SESSION_NEW_FEED, None)
    feed_url = request.build_absolute_uri(reverse("scheduling:feed", args=[token])) if token else ""
    return render(
        request,
        "scheduling/feeds.html",
        {
            "feed": selectors.live_feed(clinician=request.user),
            "feed_url": feed_url,
            "crumbs": [("Schedule", reverse("scheduling:calendar")), ("Calendar feed", None)],
        },
    )


@permission_required("scheduling.subscribe_calendar_feed", raise_exception=True)
@require_POST
def feed_regenerate(request):
    token = services.calendar_feed_issue(clinician=request.user, by=request.user)
    # Shown once on the next page, then forgotten: only its hash is stored.
    request.session[SESSION_NEW_FEED] = token
    messages.success(request, "New feed address created. Any old address has stopped working.")
    return redirect("scheduling:feeds")


@permission_required("scheduling.subscribe_calendar_feed", raise_exception=True)
@require_POST
def feed_revoke(request):
    if services.calendar_feed_revoke(clinician=request.user, by=request.user):
        messages.success(request, "Feed revoked. Calendar apps using it will stop updating.")
    return redirect("scheduling:feeds")


@login_not_required
@never_cache
@require_GET
def feed(request, feed_token: str):
    """The private iCalendar feed: initials and appointment type only, never names."""
    found = selectors.feed_by_token_hash(tokens.hash_token(feed_token[:100]))
    if found is None:
        raise Http404("No such feed.")
    now = timezone.now()
    appointments = selectors.feed_appointments(clinician=found.clinician, now=now)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Grace MindCare//Schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Grace MindCare appointments")
    for appt in appointments:
        event = icalendar.Event()
        event.add("uid", f"appointment-{appt.pk}@grace-mindcare")
        event.add("dtstamp", now)
        event.add("dtstart", appt.start)
        event.add("dtend", appt.end)
        event.add("summary", f"{appt.patient.initials} · {appt.appointment_type.name}")
        event.add("location", f"{appt.location.name} · {appt.resource.name}" if appt.resource else appt.location.name)
        cancelled = appt.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        cal.add_component(event)
    services.calendar_feed_used(feed=found, events=len(appointments))
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="grace-mindcare.ics"'
    response["Referrer-Policy"] = "no-referrer"
    return response
