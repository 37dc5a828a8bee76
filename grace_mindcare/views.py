"""Project-level views: the role home pages, the health check and error pages.

The project package is the composition root: it may read from every app, so
the home pages gather each stage's panel without the apps knowing each other.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from accounts import audit, heartbeat
from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired
from accounts.roles import CLINICAL_ROLES, Role, role_of
from consultations.selectors import clinician_home
from controlled_substances.selectors import registration_statuses
from followups import selectors as followups
from packets.selectors import lacking_forms
from prescribers import selectors as prescribers
from prescribers.selectors import prescribers_without_complete_profile
from reminders import selectors as reminders
from reminders.services import alerting
from reports.selectors.home import cached_administrator_figures
from scheduling import selectors as schedule
from scheduling.access import location_ids_for, may_see_location
from scheduling.models import Location
from scheduling.views import user_moves

logger = logging.getLogger(__name__)

HOME_TEMPLATES: dict[str, str] = {  # keyed by role_of(), a plain code
    Role.FRONT_DESK: "home/front_desk.html",
    Role.NURSE: "home/clinician.html",
    Role.PRESCRIBER: "home/clinician.html",
    Role.ADMINISTRATOR: "home/administrator.html",
}


@audit.audited_query("home.viewed", AuditEvent.Category.SCHEDULING)
def home(request):
    role = role_of(request.user)
    template = HOME_TEMPLATES.get(role, "home/no_role.html")
    context: dict[str, Any] = {"role": role, "role_label": Role(role).label if role else ""}
    if (role == Role.FRONT_DESK or role in CLINICAL_ROLES) and request.user.has_perm("scheduling.view_appointment"):
        context.update(_schedule_panels(request, role))
    if role in CLINICAL_ROLES and request.user.has_perm("prescribers.sign_off_policy"):
        context.update(_policy_sign_off(request))
    if role in CLINICAL_ROLES:
        context.update(_clinician_panels(request, context.get("todays_patients")))
    context.update(_followup_panels(request, role))
    if role == Role.FRONT_DESK and request.user.has_perm("packets.view_packet"):
        context["lacking_forms"] = lacking_forms(today=timezone.localdate(), user=request.user)
    if role == Role.ADMINISTRATOR:
        context.update(_reminder_health())
        context.update(_incomplete_prescribers())
    if role == Role.ADMINISTRATOR and request.user.has_perm("controlled_substances.manage_stock"):
        context.update(_ledger_reminders(request.user))
    if role == Role.ADMINISTRATOR and request.user.has_perm("reports.view_reports"):
        context.update(_report_figures(request.user))
    return render(request, template, context)


def _ledger_reminders(user) -> dict:
    """Per DEA registration of the user's locations: the biennial inventory coming due, an
    expiring registration."""

    statuses = registration_statuses(today=timezone.localdate())
    theirs = [s for s in statuses if may_see_location(user, s.registration.location_id)]
    return {"ledger_reminders": [s for s in theirs if s.reminders]}


def _incomplete_prescribers() -> dict:
    """Prescribers who cannot make a prescriber's decision yet (profile, licence or DEA
    registration missing or expired): the administrator completes them or moves them to Nurse."""

    return {"incomplete_prescribers": prescribers_without_complete_profile(today=timezone.localdate())}


def _policy_sign_off(request) -> dict:
    """The medical director's count of clinical policy changes waiting for their sign-off."""

    return {"policy_changes_pending": prescribers.pending_policy_changes_for(request.user)}


def _report_figures(user) -> dict:
    """This week's figures with 12-week sparklines, each linking into its report: of every
    location, or of the first of a scoped administrator's locations (where their reports open)."""

    ids = location_ids_for(user)
    location = None if ids is None else Location.objects.filter(pk__in=ids).order_by("name").first()
    if ids is not None and location is None:
        return {"figures": [], "figures_as_of": None}
    today, now = timezone.localdate(), timezone.now()
    figures, as_of = cached_administrator_figures(today=today, now=now, location=location)
    return {"figures": figures, "figures_as_of": as_of}


def _followup_panels(request, role) -> dict:
    """Unacknowledged safety alerts for clinicians; outstanding questionnaires (no answers) for the desk."""

    if role in CLINICAL_ROLES and request.user.has_perm("followups.view_safetyalert"):
        return {"safety_alerts": followups.open_alerts(user=request.user, limit=20)}
    if role == Role.FRONT_DESK:
        outstanding = followups.outstanding_links(limit=20, user=request.user)
        return {"outstanding_questionnaires": outstanding, "now": timezone.now()}
    return {}


def _schedule_panels(request, role) -> dict:
    """Today from the calendar: arrivals, escorts and tomorrow for the desk; own patients for clinicians."""

    today = timezone.localdate()
    panels = {"moves": user_moves(request.user), "here": request.get_full_path()}
    if role == Role.FRONT_DESK:
        panels.update(schedule.front_desk_day(today=today, location_ids=location_ids_for(request.user)))
        panels["link_replies"] = _link_replies(request.user)
    else:
        panels["todays_patients"] = schedule.clinician_day(
            clinician=request.user, today=today, location_ids=location_ids_for(request.user)
        )
    return panels


def _link_replies(user):
    """Confirmations and cancellations patients sent through reminder links in the last 24 hours,
    about visits at the desk's locations."""
    return reminders.link_replies(since=timezone.now() - timedelta(hours=24), limit=20, user=user)


def _reminder_health() -> dict:
    """Overdue unsent reminders for the administrator's home; alerts (once per reminder) at most once a minute.

    The dispatcher checks this every minute too, but it cannot when Celery beat or the worker is down.
    """
    if cache.add("reminders-overdue-check", 1, 60):
        alerting.reminders_overdue_check()
    return {"reminders_overdue": reminders.overdue_unsent_count()}


def _clinician_panels(request, todays_appointments=None) -> dict:
    """Today's consultations, drafts to finish, screenings awaiting a decision."""

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
    """Unauthenticated and cheap (two queries and a broker ping), for a load balancer or a monitor:
    the database, the broker (Redis in production), and the worker's and beat's heartbeats, each
    stale past ``HEARTBEAT_STALE_SECONDS``. No patient data, no session."""
    database = _database_ok()
    ages = heartbeat.ages() if database else {heartbeat.WORKER: None, heartbeat.BEAT: None}
    checks = {
        "database": database,
        "broker": _broker_ok(),
        "worker": heartbeat.fresh(ages[heartbeat.WORKER]),
        "beat": heartbeat.fresh(ages[heartbeat.BEAT]),
    }
    healthy = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "checks": checks,
            "heartbeat_age_seconds": {name: None if age is None else round(age) for name, age in ages.items()},
        },
        status=200 if healthy else 503,
    )


@login_not_required
def permission_denied(request, exception=None):
    # A prescriber-only refusal says who may act; any other 403 says nothing about why.
    reason = str(exception) if isinstance(exception, PrescriberRequired) else ""
    return render(request, "403.html", {"reason": reason}, status=403)


@login_not_required
def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


@login_not_required
def server_error(request):
    # No context processors: the failing request may be the reason we are here.
    return HttpResponseServerError(loader.get_template("500.html").render())
