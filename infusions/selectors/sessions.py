"""One session: its detail with everything the page shows, its dose, its flowsheet and the
content a signature covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from infusions import rules
from infusions.models import (
    READING_FIELDS,
    AdverseEvent,
    DoseCalculation,
    FlowsheetReading,
    InfusionPolicy,
    InfusionSession,
    RateChange,
    SessionAlert,
    SessionTransition,
)
from patients.models import HEADER_FIELDS, Patient

S = rules.SessionStatus
User = get_user_model()
# The page shows the patient's name and MRN only; the other 35 columns stay in the database.
_PATIENT_NOT_SHOWN = [f"patient__{f.name}" for f in Patient._meta.concrete_fields if f.name not in HEADER_FIELDS]
MAX_READINGS = 500  # a 4-hour CRPS infusion every 5 min is ~50; the bound only stops runaways


def policy() -> InfusionPolicy:
    found, _ = InfusionPolicy.objects.get_or_create(pk=1)
    return found


def session_detail(pk: int) -> InfusionSession | None:
    """The session with everything its page shows, in a fixed number of queries.

    Few joins: PostgreSQL's planning time grows steeply with the join count (eight joins cost
    about 6 ms to plan, five about 1.3 ms, measured on the benchmark data set), so the staff
    named on the page come in one query of their own instead of a join per name.
    """
    session = next(
        iter(
            InfusionSession.objects.select_related("patient", "plan__protocol", "appointment__resource", "pre_check")
            .defer(*_PATIENT_NOT_SHOWN)
            .prefetch_related(
                Prefetch("readings", queryset=FlowsheetReading.objects.order_by("taken_at", "id")),
                Prefetch("alerts", queryset=SessionAlert.objects.order_by("raised_at", "id")),
                Prefetch(
                    "adverse_events", queryset=AdverseEvent.objects.prefetch_related("drugs").order_by("onset_at", "id")
                ),
                "dose_calculations",
                Prefetch("transitions", queryset=SessionTransition.objects.order_by("at", "id")),
                Prefetch("rate_changes", queryset=RateChange.objects.order_by("at", "id")),
            )
            .filter(pk=pk)  # no .first(): its ORDER BY costs more to compile than the one row needs
        ),
        None,
    )
    if session is not None:
        _attach_staff(session)
    return session


# What a name on the page needs (User.__str__ and get_short_name).
STAFF_NAME_FIELDS = ("id", "username", "first_name", "last_name", "display_name", "credentials")


def _attach_staff(session: InfusionSession) -> None:
    """Give every row on the page its member of staff from one query (was a join per list)."""
    cache = session._prefetched_objects_cache
    links = [(session, "signed_by"), (session, "clinician_decision_by")]
    if _has_pre_check(session):
        links.append((session.pre_check, "recorded_by"))
    links += [(r, "entered_by") for r in cache["readings"]]
    links += [(a, "actioned_by") for a in cache["alerts"]]
    links += [(t, "by") for t in cache["transitions"]]
    links += [(c, "by") for c in cache["rate_changes"]]
    for dose in cache["dose_calculations"]:
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
    """The calculation in force (uses the prefetch when the page loaded one)."""
    cache = getattr(session, "_prefetched_objects_cache", {})
    if "dose_calculations" in cache:
        return next((d for d in cache["dose_calculations"] if d.superseded_at is None), None)
    return (
        DoseCalculation.objects.select_related("calculated_by", "verified_by")
        .filter(session=session, superseded_at__isnull=True)
        .first()
    )


def readings(session: InfusionSession) -> list[FlowsheetReading]:
    cache = getattr(session, "_prefetched_objects_cache", {})
    if "readings" in cache:
        return list(cache["readings"])
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
