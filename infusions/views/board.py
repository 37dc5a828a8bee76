"""The chair board, the homes' infusion panels and the patient page's panel."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts import audit
from accounts.models import AuditEvent
from assessments.selectors import current_responses_by_subject
from infusions import chair_alerts, rules
from infusions.access import VIEW, require_chairs, sees_sessions
from infusions.selectors import board
from infusions.selectors import recovery as recovery_selectors
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY
from infusions.services.precheck import OVERRIDE
from patients.access import get_patient_for_user, require_clinical
from scheduling import selectors as scheduling_selectors
from scheduling.access import location_ids_for, may_see_location
from scheduling.models import Location


@require_GET
def board_index(request):
    require_chairs(request)
    locations = [loc for loc in board.locations_with_chairs() if may_see_location(request.user, loc.pk)]
    if len(locations) == 1:
        return redirect("infusions:board", location_id=locations[0].pk)
    return render(request, "infusions/board_index.html", {"locations": locations})


@require_GET
@audit.audited_query("infusions.chair_board.viewed", AuditEvent.Category.SCHEDULING)
def chair_board(request, location_id: int):
    require_chairs(request)
    if not may_see_location(request.user, location_id):
        raise PermissionDenied  # another location's chairs
    location = get_object_or_404(Location, pk=location_id, active=True)
    clinical = sees_sessions(request.user, patient_id=None)  # the board shows many patients: roles only
    rows = board.chair_board(location=location, open_draws=clinical)
    if clinical:
        _shown_statuses(rows)
    if clinical:
        _attach_safety_alerts(request.user, rows)
    earlier = board.earlier_open_draw_chairs(location=location) if clinical else []
    context = {
        "location": location,
        "rows": rows,
        "clinical": clinical,
        "earlier_open_draws": earlier,
        "now": timezone.now(),
        # Said in words rather than an empty board that looks broken (a demo started at night).
        "open_state": scheduling_selectors.open_state(location, timezone.now()),
    }
    template = "infusions/_board_chairs.html" if request.htmx else "infusions/board.html"
    return render(request, template, context)


def _shown_statuses(rows: list[board.ChairRow]) -> None:
    """The board refreshes itself every 15 seconds: each refresh shows a patient whose
    observation time has just run out with every criterion met as discharge-ready, without
    anyone posting anything and without this GET writing (``recovery_selectors.shown_status``)."""
    in_recovery = [r for r in rows if r.session is not None and r.session.status in board.READINESS_STATUSES]
    if not in_recovery:
        return
    at, policy = timezone.now(), session_selectors.policy()
    sessions = [row.session for row in in_recovery if row.session is not None]
    # Everything readiness reads, for every recovering chair at once.
    session_selectors.attach_readiness_lists(sessions)
    scores = current_responses_by_subject(subjects=sessions, instruments=rules.DISCHARGE_SCORE_CODES)
    for row in in_recovery:
        status = recovery_selectors.shown_status(
            row.session, at=at, policy=policy, responses=scores.get(row.session.pk, []) if row.session else None
        )
        row.status_label = rules.STATUS_LABELS[status]


def _attach_safety_alerts(user, rows: list[board.ChairRow]) -> None:
    """A patient's unacknowledged questionnaire safety alert shows on their chair while they are in clinic
    (the follow-up stage registers them in ``infusions.chair_alerts``)."""
    patient_ids = {r.appointment.patient_id for r in rows if r.appointment}
    if not patient_ids:
        return
    by_patient = chair_alerts.alerts_by_patient(user, patient_ids)
    for row in rows:
        if row.appointment:
            row.safety_alerts = by_patient.get(row.appointment.patient_id, [])


@require_GET
def patient_panel(request, patient_id: int):
    """Clinicians: the patient's sessions. Front desk: today's chair status only."""
    require_chairs(request)
    patient = get_patient_for_user(request, patient_id)
    clinical = sees_sessions(request.user, patient_id=patient.pk)
    sessions = list(session_selectors.sessions_for_patient(patient))
    if clinical:
        audit.record_read(
            actor=request.user,
            action="infusions.patient_panel.viewed",
            target=patient,
            patient=patient,
            category=AUDIT_CATEGORY,
        )
    today = timezone.localdate()
    current = [
        (s, board.front_status(s), board.expected_out(s.appointment, s))
        for s in sessions
        if timezone.localdate(s.appointment.start) == today
    ]
    return render(
        request,
        "infusions/_patient_panel.html",
        {"patient": patient, "sessions": sessions, "clinical": clinical, "current": current},
    )


@require_GET
@audit.audited_query("infusions.clinician_home.viewed", AuditEvent.Category.CLINICAL)
def clinician_home_panel(request):
    require_clinical(request, VIEW, patient_id=None)  # many patients: roles only
    locations = location_ids_for(request.user)
    return render(
        request,
        "infusions/_clinician_home.html",
        {
            "alerts": board.open_alerts(locations=locations),
            "sessions": board.todays_sessions(locations=locations),
            # Only those who can answer a request see the list.
            "requests": board.prescriber_requests(locations=locations) if request.user.has_perm(OVERRIDE) else None,
        },
    )


@require_GET
@audit.audited_query("infusions.front_desk_home.viewed", AuditEvent.Category.SCHEDULING)
def front_desk_home_panel(request):
    require_chairs(request)
    rows = board.in_chair_today(locations=location_ids_for(request.user))
    return render(request, "infusions/_front_desk_home.html", {"rows": rows})
