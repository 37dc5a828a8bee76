"""The patient's confirm/cancel link from a reminder (security-reference A9 shape).

``/schedule/visit/<token>/`` exchanges the token for a scoped session and redirects to the token-free
``/schedule/visit/``, which shows the visit (clinic, date, time, place: never the treatment) and offers
Confirm and Cancel (POST). The token is stored hashed, expires at the visit, is bound to it, and is
spent by the first confirm or cancel. A GET does not spend it: phones fetch links for previews.
The token URL's answer carries ``Referrer-Policy: no-referrer`` (the token never travels in a
Referer); the token-free pages keep the project's ``same-origin`` policy, because under
``no-referrer`` Chromium posts the form with ``Origin: null``, which Django's CSRF check rightly
refuses. Every response carries ``Cache-Control: no-store``; requests are rate-limited per client
address. The session reaches nothing else: the patient is not signed in.
"""

from __future__ import annotations

import functools
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.network import client_ip
from core import ratelimit
from reminders import selectors
from reminders.models import LinkAction
from reminders.services import links

SESSION_LINK = "visit_link_id"
SESSION_LINK_AT = "visit_link_at"
SESSION_DONE = "visit_link_done"
# A scoped session lasts this long after the link was opened (then open the link again).
SESSION_SECONDS = 30 * 60
# Per client address: link openings and replies in a window (security-reference ASVS 2.4.1).
RATE_LIMIT = 20
RATE_WINDOW = timedelta(minutes=10)


def _no_referrer(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped


def _rate_limited(request) -> bool:
    """Per client address, shared by every web process."""
    return ratelimit.hit(f"visit-link:{client_ip(request) or ''}", limit=RATE_LIMIT, window=RATE_WINDOW)


def _page(request, template: str, context: dict | None = None, status: int = 200):
    return render(
        request,
        f"reminders/{template}",
        {"clinic": settings.CLINIC_NAME, **(context or {})},
        status=status,
    )


def _too_many(request):
    return _page(request, "visit_link_invalid.html", {"too_many": True}, status=429)


def _scoped_link(request):
    link_id = request.session.get(SESSION_LINK)
    opened = request.session.get(SESSION_LINK_AT, 0)
    if link_id is None or time.time() - opened > SESSION_SECONDS:
        return None
    return selectors.reminder_link_by_id(link_id)


@login_not_required
@never_cache
@_no_referrer
@require_GET
def visit_link(request, token: str):
    """Exchange the token for a scoped session, then leave the token out of the address bar."""
    if _rate_limited(request):
        return _too_many(request)
    link = selectors.reminder_link_for_token(token)
    if link is None:
        return _page(request, "visit_link_invalid.html", status=404)
    request.session.cycle_key()
    request.session[SESSION_LINK] = link.pk
    request.session[SESSION_LINK_AT] = int(time.time())
    return redirect("reminders:visit-reply")


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def visit_reply(request):
    """Show the visit and take the patient's answer (POST action=confirm|cancel)."""
    if _rate_limited(request):
        return _too_many(request)
    link = _scoped_link(request)
    if link is None:
        return _page(request, "visit_link_invalid.html", status=404)
    appointment = link.appointment
    error = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in LinkAction.values:
            error = "Choose Confirm or Cancel."
        else:
            try:
                links.reminder_link_use(link_id=link.pk, action=action)
            except links.LinkRefused as exc:
                error = str(exc)
            else:
                request.session.pop(SESSION_LINK, None)
                request.session.pop(SESSION_LINK_AT, None)
                request.session[SESSION_DONE] = action
                return redirect("reminders:visit-done")
    local = appointment.start.astimezone(appointment.location.zone)
    return _page(
        request,
        "visit_link_reply.html",
        {
            "visit": local,
            "location": appointment.location,
            "error": error,
            "confirmed": appointment.status == "confirmed",
        },
        status=400 if error else 200,
    )


@login_not_required
@never_cache
@require_GET
def visit_done(request):
    """What the patient's answer did (token-free; shown once)."""
    action = request.session.pop(SESSION_DONE, None)
    return _page(request, "visit_link_done.html", {"action": action})
