"""Intake conversion, unsigned records and outcomes on a hand-computed set of three intakes.

P1: consultation Tue 3 Feb 2026 10:00 New York (15:00 UTC); signed eligible 12 h later;
    plan agreed 24 h after that; first infusion completed 48 h after the plan.
    Baseline PHQ-9 10, GAD-7 4. Day 20: PHQ-9 4; day 30: PHQ-9 9, corrected to 3.
P2: consultation Wed 4 Feb; signed eligible 12 h later, plan 24 h after that, no infusion.
    Baseline PHQ-9 10; day 19 after its baseline: PHQ-9 6.
P3: consultation Thu 5 Feb, still a draft (unsigned for 5+ days at the report's clock).

Conversion: 3 consultations, 2 signed, 2 eligible, 2 plans, 1 first infusion;
medians 0.5 d (decision), 1.0 d (plan), 2.0 d (infusion), total 3.5 d.
End of induction (days 14–42) PHQ-9 mdd: follow-up 2 (P1 3 after correction, P2 6):
responders 1/2 (P1 -70%), remitters 1/2 (3 ≤ 4), median change (-7, -4) = -5.5,
median % (-70, -40) = -55.0. 3 months closed by 1 June → lost 2; 6 months open → pending 2.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from assessments.models import ResponseContext
from assessments.services import response_record
from consultations import services as consultation_services
from consultations.choices import Decision
from consultations.tests.factories import ConsultationFactory, fill_clean_intake, plan_for
from reports.selectors import clinical, compliance, operations
from reports.tests.conftest import filters
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 2, 3, 15, 0, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _intake(site, at, *, sign: str | None, plan_after: timedelta | None = None):
    with time_machine.travel(at, tick=False):
        appointment = AppointmentFactory(
            appointment_type=appointment_type("consultation"),
            location=site,
            start=at,
            end=at + timedelta(hours=1),
            status="completed",
        )
        consultation = ConsultationFactory(patient=appointment.patient, appointment=appointment)
        consultation = fill_clean_intake(consultation)
    plan = None
    if sign:
        with time_machine.travel(at + timedelta(hours=12), tick=False):
            consultation = consultation_services.consultation_sign(
                consultation=consultation, by=consultation.clinician, decision=sign, justifications={}
            )
        if plan_after:
            with time_machine.travel(at + timedelta(hours=12) + plan_after, tick=False):
                plan = plan_for(consultation)
                consultation_services.plan_transition(plan=plan, to_status="active", by=consultation.clinician)
    return consultation, plan


PHQ9 = {3: [1, 1, 1, 0, 0, 0, 0, 0, 0], 4: [1, 1, 1, 1, 0, 0, 0, 0, 0], 6: [1] * 6 + [0] * 3, 9: [2] + [1] * 7 + [0]}


@pytest.fixture
def intakes(db):
    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    c1, plan1 = _intake(site, T0, sign=Decision.ELIGIBLE, plan_after=timedelta(days=1))
    c2, _ = _intake(site, T0 + timedelta(days=1), sign=Decision.ELIGIBLE, plan_after=timedelta(days=1))
    c3, _ = _intake(site, T0 + timedelta(days=2), sign=None)
    AppointmentFactory(
        patient=c1.patient,
        appointment_type=appointment_type("infusion"),
        location=site,
        start=plan1.created_at + timedelta(days=2),
        end=plan1.created_at + timedelta(days=2, hours=2),
        status="completed",
    )
    with time_machine.travel(JUNE, tick=False):
        clin = c1.clinician

        def follow_up(consultation, days, total, **extra):
            return response_record(
                patient=consultation.patient,
                code="phq9",
                answers=PHQ9[total],
                context=ResponseContext.FOLLOW_UP,
                by=clin,
                administered_at=T0 + timedelta(days=days),
                **extra,
            )

        follow_up(c1, 20, 4)
        wrong = follow_up(c1, 30, 9)
        follow_up(c1, 30, 3, supersedes=wrong, correction_reason="Transcription error")
        follow_up(c2, 20, 6)
    return site, c1, c2, c3


def test_conversion_counts_and_median_days(intakes):
    rows = {r["step"]: r for r in operations.conversion(filters()).rows}
    assert [r["count"] for r in rows.values()] == [3, 2, 2, 2, 1]
    assert rows["Signed"]["of_previous"] == Decimal("66.7")
    assert rows["First infusion completed"]["of_previous"] == Decimal("50.0")
    assert rows["Eligible (signed, proceed)"]["median_days"] == Decimal("0.5")
    assert rows["Treatment plan agreed"]["median_days"] == Decimal("1.0")
    assert rows["First infusion completed"]["median_days"] == Decimal("2.0")
    assert "3.5" in operations.conversion(filters()).note


def test_conversion_location_filter(intakes):
    other = LocationFactory(name="Elsewhere")
    assert operations.conversion(filters(location=other)).rows[0]["count"] == 0


def test_unsigned_consultations_older_than_n_days(intakes):
    _, _, _, c3 = intakes
    now = datetime(2026, 2, 10, 15, 0, tzinfo=UTC)
    by_clinician, oldest = compliance.unsigned_consultations(filters(unsigned_days=3), now=now)
    assert sum(r["count"] for r in by_clinician.rows) == 1
    assert oldest.rows[0]["consultation"] == f"#{c3.pk}"
    assert oldest.rows[0]["age_days"] == Decimal("5.0")
    by_clinician, _ = compliance.unsigned_consultations(filters(unsigned_days=6), now=now)
    assert by_clinician.rows == []


def test_amendments_counted_by_section_and_kind(intakes):
    _, c1, _, _ = intakes
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        consultation_services.amendment_add(
            consultation=c1, by=c1.clinician, kind="amends", section="vitals", reason="Typo", text="BP was 128/80."
        )
    rows = compliance.amendments(filters()).rows
    assert rows == [{"section": "Vital signs", "amends": 1, "appends": 0, "total": 1}]
    assert compliance.amendments(filters(start=date(2026, 3, 1), end=date(2026, 3, 31))).rows == []


def _outcome(rows, instrument, time_point):
    return next(r for r in rows if r["instrument_code"] == instrument and r["time_point"] == time_point)


def test_response_and_remission_at_end_of_induction(intakes):
    rows = clinical.outcome_rows(filters(), now=JUNE)
    eoi = _outcome(rows, "phq9", "End of induction")
    assert eoi["indication"] == "MDD"
    assert (eoi["baseline_n"], eoi["followup_n"], eoi["lost"], eoi["pending"]) == (2, 2, 0, 0)
    assert (eoi["response_den"], eoi["response_n"], eoi["response_rate"]) == (2, 1, Decimal("50.0"))
    assert (eoi["remission_den"], eoi["remission_n"], eoi["remission_rate"]) == (2, 1, Decimal("50.0"))
    assert eoi["median_change"] == Decimal("-5.5")
    assert eoi["median_pct"] == Decimal("-55.0")


def test_lost_to_follow_up_and_open_windows(intakes):
    rows = clinical.outcome_rows(filters(), now=JUNE)
    m3, m6 = _outcome(rows, "phq9", "3 months"), _outcome(rows, "phq9", "6 months")
    assert (m3["followup_n"], m3["lost"], m3["pending"]) == (0, 2, 0)
    assert m3["response_rate"] is None
    assert m3["median_change"] is None
    assert (m6["lost"], m6["pending"]) == (0, 2)


def test_instruments_without_a_response_rule_show_no_rate(intakes):
    gad = _outcome(clinical.outcome_rows(filters(), now=JUNE), "gad7", "End of induction")
    assert gad["baseline_n"] == 2
    assert gad["followup_n"] == 0
    assert gad["lost"] == 2
    assert gad["response_n"] is None
    assert gad["remission_rate"] is None


def test_a_baseline_below_the_phq9_measure_floor_is_outside_the_denominator(intakes):
    site, *_ = intakes
    c4, _ = _intake(site, T0 + timedelta(days=3), sign=Decision.ELIGIBLE, plan_after=timedelta(days=1))
    baseline = c4.patient.instrument_responses.get(instrument="phq9", context="baseline")
    with time_machine.travel(JUNE, tick=False):
        response_record(
            patient=c4.patient,
            code="phq9",
            answers=[1] * 8 + [0],
            context=ResponseContext.BASELINE,
            by=c4.clinician,
            administered_at=baseline.administered_at,
            supersedes=baseline,
            correction_reason="Re-scored",
        )
        response_record(
            patient=c4.patient,
            code="phq9",
            answers=PHQ9[3],
            context=ResponseContext.FOLLOW_UP,
            by=c4.clinician,
            administered_at=baseline.administered_at + timedelta(days=20),
        )
    eoi = _outcome(clinical.outcome_rows(filters(), now=JUNE), "phq9", "End of induction")
    assert (eoi["baseline_n"], eoi["followup_n"], eoi["response_den"], eoi["remission_den"]) == (3, 3, 2, 2)


def test_no_baselines_in_range_gives_no_rows(intakes):
    assert clinical.outcome_rows(filters(start=date(2025, 1, 1), end=date(2025, 1, 31)), now=JUNE) == []
