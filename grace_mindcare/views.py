"""Project-level views: the role home pages, the health check and error pages.

The project package is the composition root: it may read from every app, so
the home pages gather each stage's panel without the apps knowing each other.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from accounts.roles import Role, role_of

logger = logging.getLogger(__name__)

HOME_TEMPLATES = {
    Role.FRONT_DESK: "home/front_desk.html",
    Role.CLINICIAN: "home/clinician.html",
    Role.ADMINISTRATOR: "home/administrator.html",
}


def home(request):
    role = role_of(request.user)
    template = HOME_TEMPLATES.get(role, "home/no_role.html")
    context = {"role": role}
    if role in (Role.FRONT_DESK, Role.CLINICIAN) and request.user.has_perm("scheduling.view_appointment"):
        context.update(_schedule_panels(request, role))
    if role == Role.CLINICIAN:
        context.update(_clinician_panels(request, context.get("todays_patients")))
    return render(request, template, context)


def _schedule_panels(request, role) -> dict:
    """Today from the calendar: arrivals, escorts and tomorrow for the desk; own patients for clinicians."""
    from scheduling import selectors as schedule
    from scheduling.views import user_moves

    today = timezone.localdate()
    panels = {"moves": user_moves(request.user), "here": request.get_full_path()}
    if role == Role.FRONT_DESK:
        panels.update(schedule.front_desk_day(today=today))
    else:
        panels["todays_patients"] = schedule.clinician_day(clinician=request.user, today=today)
    return panels


def _clinician_panels(request, todays_appointments=None) -> dict:
    """Today's consultations, drafts to finish, screenings awaiting a decision."""
    from consultations.selectors import clinician_home

    return clinician_home(user=request.user, today=timezone.localdate(), appointments=todays_appointments)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        logger.exception("health check: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001
        logger.warning("health check: broker unreachable")
        return False


@login_not_required
@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


@login_not_required
def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


@login_not_required
def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


@login_not_required
def server_error(request):
    # No context processors: the failing request may be the reason we are here.
    return HttpResponseServerError(loader.get_template("500.html").render())
