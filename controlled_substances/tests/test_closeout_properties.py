"""Properties over the whole chain at the chair, for any weight, vial, dilution, duration,
draw, rate-change sequence, pauses and end: each step is refused, or the delivered mg stays
within the verified dose and within the rate ceiling × the time infused, and the draw is
accounted for: drawn = delivered + the bag's remainder wasted at the bag's concentration,
within the close-out tolerance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from controlled_substances import rules as ledger
from controlled_substances import selectors, services
from controlled_substances.tests.factories import ProductFactory, receive, registration
from infusions import rules
from infusions import services as infusion_services
from infusions.models import InfusionSession
from infusions.services.delivery import session_delivery
from infusions.tests.factories import S, advance, nurse, open_session, set_policy

PUMP = rules.PumpLimits(D("0.1"), D("999.9"), D("1000"))
LIMITS = rules.DEFAULT_DOSING_LIMITS
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
PERCENT = ledger.DRAW_TOLERANCE_PERCENT_DEFAULT

weights = st.decimals(min_value=D("25"), max_value=D("350"), places=1)
doses = st.decimals(min_value=D("0.1"), max_value=D("0.75"), places=2)
vials = st.sampled_from([D(10), D(50), D(100)])
diluents = st.decimals(min_value=D("0"), max_value=D("500"), places=0)
durations = st.integers(min_value=1, max_value=400)
graduations = st.integers(min_value=-5, max_value=5)  # the draw, off the calculated volume by 0.01 mL steps
rate_changes = st.lists(
    st.tuples(st.integers(min_value=0, max_value=480), st.decimals(min_value=D("0"), max_value=D("999.9"), places=1)),
    max_size=6,
)
pauses = st.lists(
    st.tuples(st.integers(min_value=0, max_value=480), st.integers(min_value=0, max_value=60)), max_size=3
)
ends = st.integers(min_value=0, max_value=600)


def _minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


@settings(max_examples=300, deadline=None)
@given(weights, doses, vials, diluents, durations, graduations, rate_changes, pauses, ends)
def test_every_step_is_refused_or_delivery_stays_within_the_dose_and_the_draw_is_accounted_for(
    weight, mg_per_kg, vial, diluent, duration, off, changes, held, end
):
    try:
        calc = rules.calculate_dose(
            weight_kg=weight,
            mg_per_kg=mg_per_kg,
            max_mg=D("100"),
            protocol_max_mg_per_kg=D("0.75"),
            vial_mg_per_ml=vial,
            diluent_ml=diluent,
            duration_min=duration,
            pump_limits=PUMP,
            limits=LIMITS,
        )
    except rules.DoseError:
        event("calculation refused")
        return  # refused: nothing to draw or infuse

    # The draw: refused unless within the tolerance of the verified dose.
    volume = calc.drug_volume_ml + off * ledger.ML_QUANTUM
    if volume <= 0 or ledger.draw_problems(
        volume=volume, container_mg_per_ml=vial, dose_mg=calc.dose_mg, dose_mg_per_ml=vial, percent=PERCENT
    ):
        event("draw refused")
        return
    event("drawn, infused and closed out")
    drawn_mg = ledger.mg_for_ml(volume, vial)

    # Rate changes: the flowsheet refuses any above the clinic's mg/kg/h ceiling (0 is a pause).
    accepted = []
    for minute, rate in sorted(changes):
        if rate > 0:
            per_kg = rules.rate_mg_per_kg_per_h(rate_ml_per_h=rate, mg_per_ml=calc.final_mg_per_ml, weight_kg=weight)
            if "mg_per_kg_per_h" in rules.limit_problems(
                duration_min=calc.duration_min, mg_per_kg_per_h=per_kg, limits=LIMITS
            ):
                continue
        accepted.append((_minutes(minute), rate))
    delivery = rules.delivered(
        started_at=T0,
        ended_at=_minutes(end),
        initial_rate_ml_per_h=calc.rate_ml_per_h,
        rate_changes=accepted,
        pauses=[(_minutes(p), _minutes(p + length)) for p, length in held],
        bag_mg=calc.dose_mg,
        bag_volume_ml=calc.total_volume_ml,
    )

    # Never more than the verified dose, nor than the ceiling × the time infused (a rate is
    # accepted when its mg/kg/h rounds to the ceiling: half a unit of 0.0001 mg/kg/h above it).
    assert delivery.mg <= calc.dose_mg
    hours = D(end) / 60
    ceiling = (LIMITS.max_rate_mg_per_kg_per_h + D("0.00005")) * weight * hours
    assert delivery.mg <= ceiling + D("0.01")
    assert delivery.volume_ml <= calc.total_volume_ml

    # Close-out: what the pump left in the bag, wasted at the bag's concentration, accounts for
    # the draw within the tolerance.
    wasted = rules.bag_mg_for_ml(volume_ml=delivery.left_ml, bag_mg=calc.dose_mg, bag_volume_ml=calc.total_volume_ml)
    tolerance = ledger.closeout_tolerance_mg(drawn_mg=drawn_mg, mg_per_ml=vial, percent=PERCENT, dose_mg=calc.dose_mg)
    assert (
        ledger.closeout_problem(
            drawn_mg=drawn_mg, delivered_mg=delivery.mg, wasted_mg=wasted, lost_mg=D("0"), tolerance_mg=tolerance
        )
        is None
    )
    # Read at the vial's concentration instead, any real bag remainder would be refused.
    if delivery.left_ml >= 1 and vial >= calc.final_mg_per_ml * 2:
        misread = ledger.mg_for_ml(delivery.left_ml, vial)
        assert (
            ledger.closeout_problem(
                drawn_mg=drawn_mg, delivered_mg=delivery.mg, wasted_mg=misread, lost_mg=D("0"), tolerance_mg=tolerance
            )
            is not None
        )


# --- The same chain through the services ---------------------------------------------------


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    # One database per test, rows added per example (each example has its own session).
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.lists(
        st.tuples(st.integers(min_value=1, max_value=80), st.decimals(min_value=D("0"), max_value=D("400"), places=1)),
        max_size=4,
    ),
    end=st.integers(min_value=0, max_value=90),
    stopped=st.booleans(),
)
def test_through_the_services_each_step_is_refused_or_the_draw_is_delivered_or_wasted(changes, end, stopped):
    t0 = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    rn, verifier = nurse(), nurse()
    set_policy()
    product = ProductFactory(concentration_mg_per_ml=D("10.000"), container_volume_ml=D("20.00"))
    vial = receive(product=product, lot_number=f"P{product.pk}")[0]
    session = advance(
        open_session(by=rn, location=registration().location), S.CLEARED, nurse_user=rn, verifier=verifier
    )
    draw = services.session_draw_record(session=session, container=vial, volume_ml="4.00", by=rn, at=t0)
    session = infusion_services.session_transition(session=session, to=S.INFUSING, by=rn, at=t0)
    dose = session.started_dose
    for minute, rate in sorted(changes):
        if minute > end:
            break
        try:
            infusion_services.rate_change_record(
                session=session, by=rn, rate_ml_per_h=rate, reason="Per protocol", at=t0 + timedelta(minutes=minute)
            )
        except (ValidationError, PermissionDenied):
            continue  # refused: outside the pump, above the ceiling, or above the calculated rate for a nurse
    ended = InfusionSession.objects.get(pk=session.pk)
    # "Infusion complete" only once the recorded delivery has run the bag; before, it is a stop.
    ran_bag = rules.planned_dose_delivered(session_delivery(ended, ended_at=t0 + timedelta(minutes=end)))
    to = S.STOPPED_EARLY if stopped or not ran_bag else S.COMPLETED
    session = infusion_services.session_transition(
        session=InfusionSession.objects.get(pk=session.pk),
        to=to,
        by=rn,
        at=t0 + timedelta(minutes=end),
        reason_code="other",
        reason="Asked to stop",
        planned_dose_delivered=True,
    )
    assert session.delivered_mg <= dose.dose_mg
    ceiling = LIMITS.max_rate_mg_per_kg_per_h * dose.weight_kg * D(end) / 60
    assert session.delivered_mg <= ceiling + D("0.01")
    left = dose.total_volume_ml - session.delivered_ml
    services.waste_record(
        of_draw=draw,
        volume_ml=left,
        left_in="bag",
        witness=verifier if left else None,
        by=rn,
        at=t0 + timedelta(hours=2),
    )
    account = selectors.draw_accounts(session)[0]
    assert account.problem is None
    assert abs(account.unaccounted_mg) <= account.tolerance_mg
