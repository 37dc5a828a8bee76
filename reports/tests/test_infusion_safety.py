"""Infusion safety figures on four hand-made sessions of one plan (rows written directly: set-up only).

S0 Mon 26 Jan (before the range): started; infusion 1 of the plan.
S1 Mon 2 Feb: infusion 2; check-in 09:50, 10:10–10:50, discharge-ready 11:20, discharged 11:50
   (chair 120 min, booked 120); two systolic BP alerts; a mild nausea event.
S2 Wed 4 Feb: infusion 3; check-in 09:50, 10:10–10:30 stopped early (vitals limit), ready 11:10,
   discharged 11:20 (chair 90 min, booked 120); a moderate hypertension event.
S3 Fri 6 Feb: checked in, deferred for blood pressure; never started.

In the week: 2 infusions; 2 events → 100.0 per 100; BP alerts: infusion 2 → 200.0 per 100,
infusion 3 → 0.0; early stops 1 → 50.0 per 100; deferrals 1 of 3 check-ins → 33.3 %;
median minutes to discharge-ready (30, 40) → 35.0; chair time 105.0 on average against 120.0 booked.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from consultations import services as consultation_services
from consultations.tests.factories import plan_for, signed_consultation
from infusions.models import AdverseEvent, InfusionSession, SessionTransition
from infusions.models.flowsheet import FlowsheetReading, SessionAlert
from infusions.rules import READY_WHEN_DISCHARGING
from reports.selectors import infusion_safety
from reports.tests.conftest import filters, local
from scheduling.tests.factories import AppointmentFactory, LocationFactory, ResourceFactory, appointment_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(db):
    consultation = signed_consultation()
    plan = plan_for(consultation)
    consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.signed_by)
    nurse = consultation.signed_by
    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    chair = ResourceFactory(location=site, kind="chair")

    def session(start, **fields):
        appointment = AppointmentFactory(
            patient=plan.patient,
            appointment_type=appointment_type("infusion"),
            location=site,
            resource=chair,
            start=start,
            end=start + timedelta(hours=2),
            status="completed",
        )
        return InfusionSession.objects.create(
            appointment=appointment, patient=plan.patient, plan=plan, created_by=nurse, **fields
        )

    def ready(s, at):
        SessionTransition.objects.create(
            session=s, from_status="recovering", to_status="discharge_ready", by=nurse, at=at
        )

    def bp_alert(s, at):
        reading = FlowsheetReading.objects.create(
            session=s, taken_at=at, phase="intra", sbp_mmhg=190, dbp_mmhg=95, entered_by=nurse, entered_at=at
        )
        SessionAlert.objects.create(
            session=s,
            reading=reading,
            code="sbp_high",
            field="sbp_mmhg",
            severity="critical",
            message="BP high",
            source="[S28]",
            raised_at=at,
        )

    def event(s, kind, severity, at):
        AdverseEvent.objects.create(
            session=s,
            kind=kind,
            severity=severity,
            onset_at=at,
            action_taken="Observed",
            outcome="resolved",
            recorded_by=nurse,
            recorded_at=at,
        )

    session(local(26, 10, month=1), status="discharged", started_at=local(26, 10, month=1))
    s1 = session(
        local(2, 10),
        status="discharged",
        checked_in_at=local(2, 9, 50),
        started_at=local(2, 10, 10),
        ended_at=local(2, 10, 50),
        discharged_at=local(2, 11, 50),
    )
    ready(s1, local(2, 11, 20))
    bp_alert(s1, local(2, 10, 20))
    bp_alert(s1, local(2, 10, 30))
    event(s1, "nausea_vomiting", "mild", local(2, 10, 40))
    s2 = session(
        local(4, 10),
        status="stopped_early",
        stop_reason_code="vitals_limit",
        checked_in_at=local(4, 9, 50),
        started_at=local(4, 10, 10),
        ended_at=local(4, 10, 30),
        discharged_at=local(4, 11, 20),
    )
    ready(s2, local(4, 11, 10))
    event(s2, "hypertension", "moderate", local(4, 10, 25))
    session(local(6, 10), status="deferred", deferral_reason_code="blood_pressure", checked_in_at=local(6, 9, 50))
    return plan


def test_adverse_events_per_100_infusions(sessions):
    rows = {r["kind"]: r for r in infusion_safety.adverse_events(filters()).rows}
    assert rows["Nausea/vomiting"]["mild"] == 1
    assert rows["Nausea/vomiting"]["per_100"] == Decimal("50.0")
    assert rows["Hypertension"]["moderate"] == 1
    assert rows["All adverse events"]["total"] == 2
    assert rows["All adverse events"]["per_100"] == Decimal("100.0")
    assert rows["Headache"]["per_100"] == Decimal("0.0")


def test_bp_alerts_by_infusion_number_count_earlier_sessions_of_the_plan(sessions):
    rows = {r["number"]: r for r in infusion_safety.bp_alerts_by_infusion_number(filters()).rows}
    assert set(rows) == {"2", "3"}  # infusion 1 was before the range
    assert (rows["2"]["infusions"], rows["2"]["alerts"], rows["2"]["per_100"]) == (1, 2, Decimal("200.0"))
    assert rows["2"]["share"] == Decimal("100.0")
    assert rows["3"]["per_100"] == Decimal("0.0")


def test_early_stops_and_deferrals(sessions):
    stops, deferrals = infusion_safety.early_stops_and_deferrals(filters())
    assert stops.rows == [{"reason": "vitals_limit", "n": 1, "per_100": Decimal("50.0")}]
    assert deferrals.rows == [{"reason": "blood_pressure", "n": 1, "rate": Decimal("33.3")}]


def test_time_to_discharge_ready_and_chair_time(sessions):
    rows = infusion_safety.discharge_and_chair_time(filters()).rows
    values = [(r["value"], r["n"]) for r in rows]
    assert values == [
        (Decimal("35.0"), 2),
        ("—", 0),
        (Decimal("105.0"), 2),
        (Decimal("105.0"), 2),
        (Decimal("120.0"), 2),
    ]


def test_readiness_found_only_at_the_discharge_is_counted_apart_not_in_the_median(sessions):
    """Nothing posted after the observation time: the discharge records readiness, at its own
    moment, which says nothing of when the criteria came to hold (here 130 minutes after the end)."""
    stopped = InfusionSession.objects.get(stop_reason_code="vitals_limit")
    booked = stopped.appointment
    appointment = AppointmentFactory(
        patient=sessions.patient,
        appointment_type=booked.appointment_type,
        location=booked.location,
        resource=booked.resource,
        start=local(5, 10),
        end=local(5, 12),
        status="completed",
    )
    quiet = InfusionSession.objects.create(
        appointment=appointment,
        patient=sessions.patient,
        plan=sessions,
        created_by=stopped.created_by,
        status="discharged",
        checked_in_at=local(5, 9, 50),
        started_at=local(5, 10, 10),
        ended_at=local(5, 10, 50),
        discharged_at=local(5, 13),
    )
    SessionTransition.objects.create(
        session=quiet,
        from_status="recovering",
        to_status="discharge_ready",
        by=stopped.created_by,
        at=local(5, 13),
        reason=READY_WHEN_DISCHARGING,
    )
    section = infusion_safety.discharge_and_chair_time(filters())
    assert (section.rows[0]["value"], section.rows[0]["n"]) == (Decimal("35.0"), 2)
    assert section.rows[1]["n"] == 1
    assert "left out of the median" in dict(section.definitions)["Discharge-ready"]


def test_an_empty_range_has_no_rates(sessions):
    empty = filters(start=local(1, 0, month=3).date(), end=local(7, 0, month=3).date())
    assert infusion_safety.adverse_events(empty).rows[-1]["per_100"] is None
    assert infusion_safety.bp_alerts_by_infusion_number(empty).rows == []
    assert infusion_safety.discharge_and_chair_time(empty).rows[0]["value"] is None
