from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth import middleware as auth_middleware
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts import access_cache, context, emergency
from accounts.network import client_ip

request_log = logging.getLogger("grace.request")

SESSION_STARTED_KEY = "grace_session_started"
LAST_ACTIVITY_KEY = "grace_last_activity"
# Activity is written to the session (a database write and commit) at most once a minute: a
# request within a minute of the last one written changes nothing. The idle time-out counts from
# the activity written, so it falls at most this much before the configured minutes, never after.
ACTIVITY_WRITE_SECONDS = 60
# Sent by templates on requests the page makes by itself (hx-headers on the polling element).
POLL_HEADER = "X-Background-Poll"
HTMX_STOP_POLLING = 286


class RequestContextMiddleware:
    """Gives each request an id and binds who/where for the audit trail and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = uuid.uuid4().hex
        request.request_id = request_id
        token = context.bind(
            context.RequestContext(
                request_id=request_id,
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class LocationContextMiddleware:
    """Adds the signed-in user and the site they work at (the one last chosen on the calendar) to
    the request's context, once the session and the user are known: the logs name them, and the
    audit trail writes the request's events into that site's chain."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        user_id = user.pk if user is not None and user.is_authenticated else None
        location = request.session.get(context.LOCATION_SESSION_KEY) if user_id else None
        token = context.bind_where(user_id=user_id, location_id=location if isinstance(location, int) else None)
        started = time.monotonic()
        try:
            response = self.get_response(request)
            # The access log: the view's name, never the path's query string (a search is PHI).
            match = getattr(request, "resolver_match", None)
            # The duration is a field, not in the message, whose words tests search for typed values.
            request_log.info(
                "%s %s %s",
                request.method,
                match.view_name if match else "-",
                response.status_code,
                extra={
                    "method": request.method,
                    "view": match.view_name if match else "-",
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000),
                },
            )
            return response
        finally:
            context.reset(token)


# C0 control characters and DEL, except tab, line feed and carriage return (which text areas send).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control_characters(data: QueryDict) -> QueryDict:
    if not any(_CONTROL.search(k) or any(_CONTROL.search(v) for v in data.getlist(k)) for k in data):
        return data
    clean = QueryDict(mutable=True, encoding=data.encoding)
    for key in data:
        clean.setlist(_CONTROL.sub("", key), [_CONTROL.sub("", v) for v in data.getlist(key)])
    clean._mutable = False
    return clean


class ControlCharacterMiddleware:
    """Strips control characters (a NUL above all, which PostgreSQL refuses in text) from every
    query-string and form value, and from the browser's User-Agent (kept on audit rows and
    django-axes' sign-in records), at the edge, so no view, filter or audit row meets one."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        agent = request.META.get("HTTP_USER_AGENT", "")
        if _CONTROL.search(agent):
            request.META["HTTP_USER_AGENT"] = _CONTROL.sub("", agent)
        request.GET = _without_control_characters(request.GET)
        if request.method == "POST" and request.content_type in self.FORM_TYPES:
            request.POST = _without_control_characters(request.POST)
        return self.get_response(request)


def is_background_poll(request) -> bool:
    """A refresh the page makes by itself (the chair board every 15 s, home panels every 30 s):
    its templates send :data:`POLL_HEADER`. Not a sign that anyone is at the screen."""
    return request.headers.get(POLL_HEADER) == "1"


class SessionLifetimeMiddleware:
    """Ends a session after ``SESSION_IDLE_MINUTES`` without activity (ONC (d)(5)) and at its
    absolute lifetime, however active it has been.

    Activity is a request the person made: background polls (:func:`is_background_poll`) do not
    count, so an unattended chair board or home page still signs out at the idle time. Activity is
    written at most once a minute (:data:`ACTIVITY_WRITE_SECONDS`), and the session is saved only
    then: the session row's own expiry (SESSION_COOKIE_AGE, a minute past the idle time) moves
    with it and stays as a backstop.
    An ended session answers htmx with the signed-out fragment, status 286 (htmx stops polling)
    and ``HX-Redirect`` to sign-in, so the page holding patient data is left, not just a panel.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SESSION_STARTED_KEY, now)
            last_activity = request.session.get(LAST_ACTIVITY_KEY, now)
            if (
                now - started > settings.SESSION_ABSOLUTE_HOURS * 3600
                or now - last_activity > settings.SESSION_IDLE_MINUTES * 60
            ):
                logout(request)
                return self._signed_out(request)
            moved = not is_background_poll(request) and now - last_activity >= ACTIVITY_WRITE_SECONDS
            if moved or LAST_ACTIVITY_KEY not in request.session:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)

    @staticmethod
    def _signed_out(request):
        login = f"{reverse(settings.LOGIN_URL)}?expired=1"
        return htmx_signed_out(request, login) if request.headers.get("HX-Request") else redirect(login)


def htmx_signed_out(request, login: str):
    """The answer to an htmx request without a session: the signed-out fragment, status 286 (htmx
    stops polling) and ``HX-Redirect`` so the whole page, not one panel, goes to sign-in."""
    response = render(request, "accounts/_signed_out.html", {"login": login}, status=HTMX_STOP_POLLING)
    response["HX-Redirect"] = login
    return response


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's deny-by-default sign-in, except that an htmx request (a panel, a poll) is told to
    leave for sign-in instead of being handed the sign-in page to put inside a panel."""

    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request"):
            return htmx_signed_out(request, f"{reverse(settings.LOGIN_URL)}?expired=1")
        return super().handle_no_permission(request, view_func)


class RequireTwoFactorMiddleware:
    """Sends every signed-in account to two-factor sign-in before anything else (when OTP_REQUIRED).

    Every account, not only the role groups': an administrator can give someone permissions one by
    one in the admin without putting them in a group, and such an account would otherwise reach
    what those permissions open with a password alone (ASVS 6.3.3). Patients never sign in."""

    EXEMPT_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/static/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.OTP_REQUIRED
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self.EXEMPT_PREFIXES)
        ):
            return redirect("accounts:two-factor")
        return self.get_response(request)


class EmergencyAccessMiddleware:
    """Carries a live break-glass grant from the session onto the user (accounts.emergency), and
    the role and permissions the session keeps (accounts.access_cache)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        access_cache.attach(request)
        emergency.attach(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """Signed-in pages may hold PHI: never cache them on the device (ONC (d)(7))."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response
