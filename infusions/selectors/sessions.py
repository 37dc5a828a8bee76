"""One session: its detail with everything the page shows, its dose, its flowsheet and the
content a signature covers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model, Prefetch, QuerySet, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from infusions import rules
from infusions.models import (
    READING_FIELDS,
    AdverseEvent,
    DoseCalculation,
    DrugGiven,
    FlowsheetReading,
    InfusionPolicy,
    InfusionSession,
    PreCheck,
    RateChange,
    SessionAlert,
    SessionTransition,
)
from infusions.models.session import PAGE_LISTS
from patients.models import beyond_header
from scheduling.hooks import RecordLink
from scheduling.models import ACTIVE_STATUSES

S = rules.SessionStatus
User = get_user_model()
# The page shows the patient's name and MRN only; the other 35 columns stay in the database.
_PATIENT_NOT_SHOWN = beyond_header()
MAX_READINGS = 500  # a 4-hour CRPS infusion every 5 min is ~50; the bound only stops runaways


def policy() -> InfusionPolicy:
    found, _ = InfusionPolicy.objects.get_or_create(pk=1)
    return found


def session_detail(pk: int) -> InfusionSession | None:
    """The session with everything its page shows, in a fixed number of queries.

    Measured on the benchmark data set, the page's cost was Django building queries more than
    PostgreSQL running them, so: few joins (planning time grows steeply with the join count:
    eight cost about 6 ms, five about 1.3 ms), the staff named on the page in one query of their
    own, and each list in one plain query sorted here (an ORDER BY makes Django hash every
    selected column, about 0.7 ms a query). The lists hang off the session for the selectors
    below (:func:`readings`, :func:`alerts`, …), which query when a session came without them.
    """
    session = next(
        iter(
            InfusionSession.objects.select_related("patient", "plan__protocol", "appointment__resource", "pre_check")
            .defer(*_PATIENT_NOT_SHOWN)
            .filter(pk=pk)
        ),
        None,
    )
    if session is None:
        return None
    events = _sorted(AdverseEvent, pk, "onset_at")
    prefetch_related_objects(events, "drugs")
    setattr(
        session,
        _LISTS,
        {
            # Readings keep their SQL order: the bound must cut the oldest, not arbitrary rows.
            "readings": list(FlowsheetReading.objects.filter(session_id=pk).order_by("taken_at", "id")[:MAX_READINGS]),
            "alerts": _sorted(SessionAlert, pk, "raised_at"),
            "adverse_events": events,
            "dose_calculations": _sorted(DoseCalculation, pk, "calculated_at"),
            "transitions": _sorted(SessionTransition, pk, "at"),
            "rate_changes": _sorted(RateChange, pk, "at"),
        },
    )
    _attach_staff(session)
    return session


_LISTS = PAGE_LISTS


def attach_readiness_lists(sessions: list[InfusionSession]) -> None:
    """What discharge readiness reads of each session (readings, alerts, adverse events, the
    pre-check's baseline), for several sessions in a few queries, hung off each session as
    :func:`session_detail` hangs its lists: the chair board judges every recovering patient on
    each 15-second refresh, and read one by one that was six queries a patient."""
    if not sessions:
        return
    ids = [session.pk for session in sessions]
    readings: dict[int, list] = defaultdict(list)
    for reading in FlowsheetReading.objects.filter(session_id__in=ids).order_by("session_id", "taken_at", "id"):
        if len(readings[reading.session_id]) < MAX_READINGS:
            readings[reading.session_id].append(reading)
    alerts: dict[int, list] = defaultdict(list)
    for alert in sorted(SessionAlert.objects.filter(session_id__in=ids), key=attrgetter("raised_at", "pk")):
        alerts[alert.session_id].append(alert)
    events: dict[int, list] = defaultdict(list)
    found = sorted(
        AdverseEvent.objects.filter(session_id__in=ids).select_related("outcome_by"), key=attrgetter("onset_at", "pk")
    )
    prefetch_related_objects(found, Prefetch("drugs", queryset=DrugGiven.objects.select_related("given_by")))
    for event in found:
        events[event.session_id].append(event)
    prefetch_related_objects(sessions, "pre_check")
    for session in sessions:
        lists = {**getattr(session, _LISTS, {})}
        lists.update(readings=readings[session.pk], alerts=alerts[session.pk], adverse_events=events[session.pk])
        setattr(session, _LISTS, lists)


def _sorted(model, session_id: int, field: str) -> list:
    return sorted(model.objects.filter(session_id=session_id).order_by(), key=attrgetter(field, "pk"))


def _loaded(session: InfusionSession, name: str) -> list | None:
    return getattr(session, _LISTS, {}).get(name)


def alerts(session: InfusionSession) -> list[SessionAlert]:
    found = _loaded(session, "alerts")
    return list(session.alerts.order_by("raised_at", "id")) if found is None else found


def adverse_events(session: InfusionSession) -> list[AdverseEvent]:
    found = _loaded(session, "adverse_events")
    if found is None:
        return list(
            session.adverse_events.select_related("outcome_by")
            .prefetch_related(Prefetch("drugs", queryset=DrugGiven.objects.select_related("given_by")))
            .order_by("onset_at", "id")
        )
    return found


def transitions(session: InfusionSession) -> list[SessionTransition]:
    found = _loaded(session, "transitions")
    return list(session.transitions.select_related("by").order_by("at", "id")) if found is None else found


def rate_changes(session: InfusionSession) -> list[RateChange]:
    found = _loaded(session, "rate_changes")
    return list(session.rate_changes.select_related("by").order_by("at", "id")) if found is None else found


# What a name on the page needs (User.__str__ and get_short_name).
STAFF_NAME_FIELDS = ("id", "username", "first_name", "last_name", "display_name", "credentials")


def _attach_staff(session: InfusionSession) -> None:
    """Give every row on the page its member of staff from one query (was a join per list)."""
    lists = getattr(session, _LISTS)
    links: list[tuple[Model, str]] = [(session, "signed_by"), (session, "clinician_decision_by")]
    if _has_pre_check(session):
        links.append((session.pre_check, "recorded_by"))
    links += [(r, "entered_by") for r in lists["readings"]]
    links += [(a, "actioned_by") for a in lists["alerts"]]
    links += [(t, "by") for t in lists["transitions"]]
    links += [(c, "by") for c in lists["rate_changes"]]
    for event in lists["adverse_events"]:
        links.append((event, "outcome_by"))
        links += [(d, "given_by") for d in event.drugs.all()]
    for dose in lists["dose_calculations"]:
        links += [(dose, "calculated_by"), (dose, "verified_by")]
    ids = {getattr(row, f"{name}_id") for row, name in links} - {None}
    if not ids:
        return
    staff = {u.pk: u for u in User.objects.filter(pk__in=ids).only(*STAFF_NAME_FIELDS)}
    for row, name in links:
        user_id = getattr(row, f"{name}_id")
        if user_id is not None:
            setattr(row, name, staff[user_id])


def sessions_for_patient(patient, *, limit: int = 50) -> QuerySet[InfusionSession]:
    return (
        InfusionSession.objects.filter(patient=patient)
        .select_related("appointment__location", "appointment__resource")
        .order_by("-appointment__start")[:limit]
    )


def current_dose(session: InfusionSession) -> DoseCalculation | None:
    """The calculation in force (from the page's lists when :func:`session_detail` loaded them)."""
    return session.current_dose


def readings(session: InfusionSession) -> list[FlowsheetReading]:
    loaded = _loaded(session, "readings")
    if loaded is not None:
        return list(loaded)
    return list(session.readings.order_by("taken_at", "id")[:MAX_READINGS])


def baseline_reading(session: InfusionSession) -> rules.VitalsReading | None:
    """Pre-infusion vitals from the pre-check (the baseline alerts and discharge compare with)."""
    check = getattr(session, "pre_check", None) if _has_pre_check(session) else None
    if check is None or check.sbp_mmhg is None:
        return None
    return rules.VitalsReading(
        sbp_mmhg=check.sbp_mmhg, dbp_mmhg=check.dbp_mmhg, hr_bpm=check.hr_bpm, spo2_pct=check.spo2_pct
    )


def _has_pre_check(session: InfusionSession) -> bool:
    try:
        return session.pre_check is not None
    except InfusionSession.pre_check.RelatedObjectDoesNotExist:
        return False


def phase_of(session: InfusionSession) -> rules.Phase:
    if session.status in (S.INFUSING, S.PAUSED):
        return "intra"
    if session.ended_at is not None:
        return "post"
    return "pre"


@dataclass(frozen=True)
class Due:
    due_at: datetime | None
    overdue: bool


def next_due(session: InfusionSession, *, at: datetime, cadence: rules.Cadence, grace, last_at: datetime | None) -> Due:
    """Next reading due and whether it is overdue, from the phase's cadence."""
    phase = phase_of(session)
    if session.status in (S.SCHEDULED, S.PRE_CHECK, S.CLEARED, S.DEFERRED, S.DISCHARGED, S.SIGNED):
        return Due(None, False)
    started = session.started_at if phase == "intra" else session.ended_at
    due = rules.next_reading_due(last_reading_at=last_at, phase=phase, cadence=cadence, phase_started_at=started)
    return Due(due, rules.is_overdue(due_at=due, at=at, grace=grace))


def record_content(session: InfusionSession) -> dict[str, Any]:
    """The clinical content a signature covers (stable keys, plain values)."""
    dose = current_dose(session)
    return {
        "session": session.pk,
        "patient": session.patient_id,
        "plan": session.plan_id,
        "appointment": session.appointment_id,
        "checked_in_at": session.checked_in_at,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "container_lot": session.container_lot,
        "stop_reason_code": session.stop_reason_code,
        "stop_reason": session.stop_reason,
        "delivered_ml": session.delivered_ml,
        "delivered_mg": session.delivered_mg,
        "clinician_decision_reason": session.clinician_decision_reason,
        "dose": None
        if dose is None
        else {
            "fingerprint": dose.fingerprint,
            "dose_mg": dose.dose_mg,
            "verified_by": dose.verified_by_id,
        },
        "readings": [
            {"taken_at": r.taken_at, **{name: getattr(r, name) for name in READING_FIELDS}}
            for r in session.readings.order_by("taken_at", "id")[:MAX_READINGS]
        ],
        "alerts": list(session.alerts.order_by("id").values("code", "message", "action", "action_note")),
        "adverse_events": list(
            session.adverse_events.order_by("id").values("kind", "severity", "onset_at", "action_taken", "outcome")
        ),
        "escort_name": session.escort_name,
        "instructions_given_at": session.instructions_given_at,
        "readiness": session.readiness,
        "discharged_at": session.discharged_at,
    }


def reference_weight(session: InfusionSession, check: PreCheck | None) -> tuple[Any, str]:
    """The weight a newly typed one is compared with, and what it is: this pre-check's own
    recorded weight, else the patient's last recorded pre-check weight, else the intake's
    ((None, "") when there is none)."""
    if check is not None and check.pk and check.weight_kg is not None:
        return check.weight_kg, "the weight recorded in this pre-check"
    last = (
        PreCheck.objects.filter(session__patient_id=session.patient_id, weight_kg__isnull=False)
        .exclude(session_id=session.pk)
        .order_by("-recorded_at", "-pk")
        .values_list("weight_kg", "recorded_at")
        .first()
    )
    if last is not None:
        return last[0], f"the last recorded weight ({timezone.localtime(last[1]):%m/%d/%Y})"
    intake = session.plan.consultation.weight_kg if session.plan_id else None
    return (intake, "the intake weight") if intake is not None else (None, "")


def plan_completion_problems(plan) -> list[str]:
    """Registered with ``consultations.plan_checks``: an induction series is completed by its
    infusions, so a plan none of whose infusions has started cannot be marked completed."""
    if InfusionSession.objects.filter(plan=plan, started_at__isnull=False).exists():
        return []
    return ["No infusion of this plan has been given yet: the induction cannot be completed."]


def appointment_record_links(appointment, user) -> list[RecordLink]:
    """Registered with ``scheduling.hooks``: the appointment page links to its infusion session, or
    offers to open it, for those who run the chair."""
    if appointment.appointment_type.code != "infusion" or not user.has_perm("infusions.view_infusionsession"):
        return []
    session = InfusionSession.objects.filter(appointment=appointment).only("id", "status").first()
    if session is not None:
        return [
            RecordLink(
                f"Infusion session ({session.status_label.lower()})", reverse("infusions:session", args=[session.pk])
            )
        ]
    if appointment.status in ACTIVE_STATUSES and user.has_perm("infusions.change_infusionsession"):
        return [RecordLink("Open the infusion session", reverse("infusions:open", args=[appointment.pk]), opens=True)]
    return []
