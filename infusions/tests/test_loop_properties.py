"""Properties over the chain the pure rules enforce, for any weight, vial, dilution,
duration and rate change: each step is either refused, or the dose stays within the plan's
cap, the clinic's duration range and minimum volume, and its mg/kg/h ceiling."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from infusions import rules

PUMP = rules.PumpLimits(D("0.1"), D("999.9"), D("1000"))
LIMITS = rules.DEFAULT_DOSING_LIMITS

weights = st.decimals(min_value=D("25"), max_value=D("350"), places=1)
doses = st.decimals(min_value=D("0.1"), max_value=D("0.75"), places=2)
vials = st.sampled_from([D(10), D(50), D(100)])
diluents = st.decimals(min_value=D("0"), max_value=D("500"), places=0)
durations = st.integers(min_value=1, max_value=400)
pump_rates = st.lists(st.decimals(min_value=D("0.1"), max_value=D("999.9"), places=1), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(weights, doses, vials, diluents, durations, pump_rates)
def test_every_step_is_refused_or_within_the_dose_and_the_ceiling(
    weight, mg_per_kg, vial, diluent, duration, rate_changes
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
        return  # refused: nothing to draw or infuse
    assert calc.dose_mg <= calc.max_mg
    assert LIMITS.min_duration_min <= calc.duration_min <= LIMITS.max_duration_min
    assert calc.total_volume_ml >= LIMITS.min_total_volume_ml
    at_pump = rules.rate_mg_per_kg_per_h(
        rate_ml_per_h=calc.rate_ml_per_h, mg_per_ml=calc.final_mg_per_ml, weight_kg=calc.weight_kg
    )
    assert max(calc.mg_per_kg_per_h, at_pump) <= LIMITS.max_rate_mg_per_kg_per_h

    # Rate changes: each either refused or at most the ceiling.
    for rate in rate_changes:
        per_kg = rules.rate_mg_per_kg_per_h(
            rate_ml_per_h=rate, mg_per_ml=calc.final_mg_per_ml, weight_kg=calc.weight_kg
        )
        refused = "mg_per_kg_per_h" in rules.limit_problems(
            duration_min=calc.duration_min, mg_per_kg_per_h=per_kg, limits=LIMITS
        )
        assert refused or per_kg <= LIMITS.max_rate_mg_per_kg_per_h
