"""Property-based tests for the infusion rules: over weights, concentrations, diluents,
durations, caps and protocols the arithmetic keeps its promises (never above the cap,
never a zero or negative volume or rate, round-trips within the stated rounding), and
the lifecycle cannot reach a later status without passing its gates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from decimal import Inexact, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infusions import rules
from infusions.rules import (
    PLAUSIBLE_RANGES,
    TRANSITIONS,
    DoseError,
    PumpLimits,
    ReadingError,
    SessionStatus,
    TransitionFacts,
    VitalsReading,
    calculate_dose,
    calculate_rate_dose,
    discharge_readiness,
    dosing_weight_kg,
    gate_problems,
    npo_check,
    validate_reading,
    vitals_alerts,
)

WIDE_PUMP = PumpLimits(D("0.1"), D("9999"), D("5000"))
DOSE_FIELDS = {
    "weight_kg",
    "mg_per_kg",
    "mg_per_kg_per_h",
    "max_mg",
    "diluent_ml",
    "drug_volume_ml",
    "rate_ml_per_h",
    "total_volume_ml",
    "final_mg_per_ml",
}


def tenths(low: int, high: int):
    return st.integers(low, high).map(lambda n: D(n) / 10)


def hundredths(low: int, high: int):
    return st.integers(low, high).map(lambda n: D(n) / 100)


weights = tenths(250, 3500)  # 25.0–350.0 kg, the default plausible range
mg_per_kg = st.integers(1, 750).map(lambda n: D(n) / 1000)  # up to the depression protocol maximum
rates_per_kg_h = hundredths(1, 200)  # 0.01–2.00 mg/kg/h, the ASRA range top [S11]
vials = st.sampled_from([D(10), D(50), D(100)])
diluents = hundredths(0, 100_000)  # 0–1000 mL
durations = st.integers(1, 600)
caps = hundredths(1, 50_000)  # 0.01–500 mg at 0.01 mg: adversarial against the volume step
pumps = st.builds(
    lambda low, span, total: PumpLimits(low, low + span, total),
    tenths(1, 100),
    tenths(0, 20_000),
    tenths(10, 50_000),
)


def check_invariants(calc, *, weight, max_mg, vial, diluent, minutes, pump):
    # Never above the cap, capped exactly when the uncapped dose exceeds it.
    assert calc.dose_mg <= max_mg
    assert calc.ordered_dose_mg <= max_mg
    assert calc.capped == (calc.uncapped_dose_mg > max_mg)
    assert calc.ordered_dose_mg == (max_mg if calc.capped else calc.uncapped_dose_mg)
    # Never zero or negative.
    for value in (calc.drug_volume_ml, calc.total_volume_ml, calc.rate_ml_per_h, calc.dose_mg, calc.final_mg_per_ml):
        assert value > 0
    # Each quantity carries its stated rounding.
    assert calc.weight_kg == weight.quantize(rules.WEIGHT_QUANTUM_KG)
    assert calc.drug_volume_ml == calc.drug_volume_ml.quantize(rules.VOLUME_QUANTUM_ML)
    assert calc.rate_ml_per_h == calc.rate_ml_per_h.quantize(rules.RATE_QUANTUM_ML_PER_H)
    assert calc.final_mg_per_ml == calc.final_mg_per_ml.quantize(rules.CONCENTRATION_QUANTUM_MG_PER_ML)
    # The draw: dose given = drawn volume × vial, within one volume step of the order.
    assert calc.dose_mg == calc.drug_volume_ml * vial
    assert abs(calc.dose_mg - calc.ordered_dose_mg) <= rules.VOLUME_QUANTUM_ML * vial
    assert calc.total_volume_ml == calc.drug_volume_ml + diluent
    # Round trips within the stated rounding.
    # rate × duration ≈ total, multiplied out (× 60) so the comparison itself is exact
    assert abs(calc.rate_ml_per_h * minutes - calc.total_volume_ml * 60) <= rules.RATE_QUANTUM_ML_PER_H / 2 * minutes
    assert abs(calc.final_mg_per_ml * calc.total_volume_ml - calc.dose_mg) <= (
        rules.CONCENTRATION_QUANTUM_MG_PER_ML / 2 * calc.total_volume_ml
    )
    assert abs(calc.mg_per_kg_per_h * calc.weight_kg * minutes - calc.dose_mg * 60) <= (
        rules.MG_PER_KG_QUANTUM / 2 * calc.weight_kg * minutes
    )
    # The label rule and the pump.
    if vial == 100:
        assert diluent >= calc.drug_volume_ml
    assert pump.min_rate_ml_per_h <= calc.rate_ml_per_h <= pump.max_rate_ml_per_h
    assert calc.total_volume_ml <= pump.max_total_ml


def attempt(calculate, **kwargs):
    """(result, None) or (None, DoseError): a refusal is an outcome to check, not a failure."""
    try:
        return calculate(**kwargs), None
    except DoseError as error:
        return None, error


def legitimate_refusal(error: DoseError, *, vial, diluent) -> None:
    assert error.field in DOSE_FIELDS, error
    if error.field == "diluent_ml":
        assert vial == 100  # only 100 mg/mL needs dilution
        assert diluent >= 0


@settings(max_examples=400, deadline=None)
@given(weight=weights, dose=mg_per_kg, max_mg=caps, vial=vials, diluent=diluents, minutes=durations, pump=pumps)
def test_mg_per_kg_form_keeps_its_promises(weight, dose, max_mg, vial, diluent, minutes, pump):
    calc, error = attempt(
        calculate_dose,
        weight_kg=weight,
        mg_per_kg=dose,
        max_mg=max_mg,
        protocol_max_mg_per_kg=D("0.75"),
        vial_mg_per_ml=vial,
        diluent_ml=diluent,
        duration_min=minutes,
        pump_limits=pump,
    )
    if error:
        legitimate_refusal(error, vial=vial, diluent=diluent)
        return
    assert calc.uncapped_dose_mg == (dose * weight).quantize(rules.DOSE_QUANTUM_MG, rules.ROUNDING)
    check_invariants(calc, weight=weight, max_mg=max_mg, vial=vial, diluent=diluent, minutes=minutes, pump=pump)


@settings(max_examples=300, deadline=None)
@given(weight=weights, rate=rates_per_kg_h, max_mg=caps, vial=vials, diluent=diluents, minutes=durations, pump=pumps)
def test_mg_per_kg_per_h_form_keeps_its_promises(weight, rate, max_mg, vial, diluent, minutes, pump):
    calc, error = attempt(
        calculate_rate_dose,
        weight_kg=weight,
        mg_per_kg_per_h=rate,
        duration_min=minutes,
        max_mg=max_mg,
        protocol_max_mg_per_kg_per_h=D("2"),
        vial_mg_per_ml=vial,
        diluent_ml=diluent,
        pump_limits=pump,
    )
    if error:
        legitimate_refusal(error, vial=vial, diluent=diluent)
        return
    exact = rate * weight * minutes / 60
    assert calc.uncapped_dose_mg == exact.quantize(rules.DOSE_QUANTUM_MG, rules.ROUNDING)
    check_invariants(calc, weight=weight, max_mg=max_mg, vial=vial, diluent=diluent, minutes=minutes, pump=pump)


@settings(max_examples=300, deadline=None)
@given(weight=weights, rate=rates_per_kg_h, minutes=durations, vial=vials)
def test_rate_form_is_consistent_with_the_mg_per_kg_form(weight, rate, minutes, vial):
    common = {
        "weight_kg": weight,
        "duration_min": minutes,
        "max_mg": D("10000"),
        "vial_mg_per_ml": vial,
        "diluent_ml": D("5000"),
        "pump_limits": PumpLimits(D("0.001"), D("1000000"), D("100000")),
    }
    with localcontext() as exact_context:
        exact_context.traps[Inexact] = True
        try:
            equivalent, exact = rate * minutes / 60, True
        except Inexact:
            equivalent, exact = None, False
    if not exact:
        equivalent = rate * minutes / 60  # 28 significant digits
    by_rate, rate_error = attempt(
        calculate_rate_dose, mg_per_kg_per_h=rate, protocol_max_mg_per_kg_per_h=D("2"), **common
    )
    by_kg, kg_error = attempt(calculate_dose, mg_per_kg=equivalent, protocol_max_mg_per_kg=D("100"), **common)
    if rate_error or kg_error:
        # Only a dose too small to draw, dilute or pump may be refused.
        assert {e.field for e in (rate_error, kg_error) if e} <= {"drug_volume_ml", "final_mg_per_ml", "rate_ml_per_h"}
        return
    # Same dose within one rounding step (exactly the same when mg/kg is exact)...
    assert abs(by_rate.uncapped_dose_mg - by_kg.uncapped_dose_mg) <= rules.DOSE_QUANTUM_MG
    if exact:
        assert by_rate.uncapped_dose_mg == by_kg.uncapped_dose_mg
        assert by_rate.rate_ml_per_h == by_kg.rate_ml_per_h
    # ...and the stated mg/kg matches the prescription to its quantum.
    assert abs(by_rate.mg_per_kg - equivalent) <= rules.MG_PER_KG_QUANTUM / 2


@settings(max_examples=200, deadline=None)
@given(light=weights, heavy=weights, dose=mg_per_kg, max_mg=caps)
def test_a_heavier_patient_never_gets_a_smaller_order(light, heavy, dose, max_mg):
    light, heavy = sorted((light, heavy))
    common = {
        "mg_per_kg": dose,
        "max_mg": max_mg,
        "protocol_max_mg_per_kg": D("0.75"),
        "vial_mg_per_ml": D("10"),
        "diluent_ml": D("100"),
        "duration_min": 40,
        "pump_limits": WIDE_PUMP,
    }
    a, a_error = attempt(calculate_dose, weight_kg=light, **common)
    b, b_error = attempt(calculate_dose, weight_kg=heavy, **common)
    if a_error or b_error:
        assert {e.field for e in (a_error, b_error) if e} == {"drug_volume_ml"}
        return
    assert a.ordered_dose_mg <= b.ordered_dose_mg <= max_mg


@settings(max_examples=200, deadline=None)
@given(dose=mg_per_kg, extra=st.integers(1, 10_000).map(lambda n: D(n) / 10_000))
def test_mg_per_kg_above_the_protocol_maximum_is_always_refused(dose, extra):
    with pytest.raises(DoseError) as error:
        calculate_dose(
            weight_kg=D("80"),
            mg_per_kg=dose + extra,
            max_mg=D("500"),
            protocol_max_mg_per_kg=dose,
            vial_mg_per_ml=D("10"),
            diluent_ml=D("100"),
            duration_min=40,
            pump_limits=WIDE_PUMP,
        )
    assert error.value.field == "mg_per_kg"


@settings(max_examples=100, deadline=None)
@given(
    field=st.sampled_from(["weight_kg", "mg_per_kg", "max_mg", "diluent_ml", "vial_mg_per_ml"]),
    value=st.one_of(st.floats(allow_nan=True), st.integers(), st.text(max_size=5), st.none()),
)
def test_non_decimal_inputs_are_always_refused(field, value):
    args = {
        "weight_kg": D("80"),
        "mg_per_kg": D("0.5"),
        "max_mg": D("100"),
        "protocol_max_mg_per_kg": D("0.75"),
        "vial_mg_per_ml": D("10"),
        "diluent_ml": D("36"),
        "duration_min": 40,
        "pump_limits": WIDE_PUMP,
    }
    with pytest.raises(DoseError) as error:
        calculate_dose(**{**args, field: value})
    assert error.value.field == field


@settings(max_examples=300, deadline=None)
@given(
    actual=weights,
    height=tenths(1534, 2500),  # Devine is defined from 5 ft (152.4 cm)
    sex=st.sampled_from(["female", "male"]),
    basis=st.sampled_from(["actual", "ideal", "adjusted"]),
)
def test_dosing_weight_never_exceeds_actual_and_adjusted_lies_between(actual, height, sex, basis):
    result = dosing_weight_kg(actual_kg=actual, height_cm=height, sex=sex, basis=basis)
    assert 0 < result.weight_kg <= result.actual_kg
    if basis == "adjusted":
        low, high = sorted((result.ideal_kg, result.actual_kg))
        assert low - rules.WEIGHT_QUANTUM_KG <= result.adjusted_kg <= high + rules.WEIGHT_QUANTUM_KG
    if basis != "actual":
        shorter = dosing_weight_kg(actual_kg=actual, height_cm=height - 1, sex=sex, basis="ideal")
        assert shorter.ideal_kg <= result.ideal_kg  # Devine rises with height


# === Pre-checks and flowsheet ============================================================

AT = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
minutes_ago = st.integers(0, 24 * 60).map(lambda m: AT - timedelta(minutes=m))


@settings(max_examples=200, deadline=None)
@given(clear=minutes_ago, light=minutes_ago, fatty=minutes_ago, later=st.integers(0, 600))
def test_npo_that_is_met_stays_met_as_time_passes(clear, light, fatty, later):
    kwargs = {"last_clear_liquid_at": clear, "last_light_meal_at": light, "last_fatty_meal_at": fatty}
    now = npo_check(at=AT, **kwargs)
    then = npo_check(at=AT + timedelta(minutes=later), **kwargs)
    for a, b in zip(now, then, strict=True):
        assert a.passed is not None
        if a.passed:
            assert b.passed


def field_values(field, inside: bool):
    low, high, _ = PLAUSIBLE_RANGES[field]
    if field == "temp_c":
        return (
            tenths(int(low * 10), int(high * 10))
            if inside
            else st.one_of(tenths(0, int(low * 10) - 1), tenths(int(high * 10) + 1, 600))
        )
    if inside:
        return st.integers(int(low), int(high))
    return st.one_of(st.integers(-50, int(low) - 1), st.integers(int(high) + 1, 1000))


@st.composite
def plausible_readings(draw):
    values = {
        field: draw(st.one_of(st.none(), field_values(field, inside=True)))
        for field in PLAUSIBLE_RANGES
        if field not in {"dbp_mmhg"}
    }
    if values["sbp_mmhg"] and draw(st.booleans()):
        values["dbp_mmhg"] = draw(st.integers(0, min(250, values["sbp_mmhg"] - 1)))
    return VitalsReading(**values)


@settings(max_examples=300, deadline=None)
@given(reading=plausible_readings(), baseline=plausible_readings())
def test_plausible_readings_never_raise_and_moaas_0_always_alerts(reading, baseline):
    assert validate_reading(reading) == reading
    alerts = vitals_alerts(reading, baseline=baseline)
    assert all(a.severity in {"warning", "critical"} and a.source for a in alerts)
    assert (reading.moaas == 0) == any(a.code == "loss_of_consciousness" for a in alerts)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), field=st.sampled_from(sorted(PLAUSIBLE_RANGES)))
def test_implausible_values_are_refused_with_the_range(data, field):
    value = data.draw(field_values(field, inside=False))
    with pytest.raises(ReadingError) as error:
        validate_reading(VitalsReading(**{field: value}))
    low, high, _ = PLAUSIBLE_RANGES[field]
    assert error.value.field == field
    assert f"{low}–{high}" in error.value.message


@settings(max_examples=300, deadline=None)
@given(
    code=st.sampled_from(["aldrete", "padss"]),
    total=st.one_of(st.none(), st.integers(0, 10)),
    threshold=st.integers(0, 10),
    minutes=st.one_of(st.none(), st.integers(0, 300)),
    minimum=st.integers(0, 240),
    sbp=st.integers(90, 200),
    escort=st.sampled_from([True, False, None]),
    instructions=st.sampled_from([True, False, None]),
)
def test_discharge_ready_only_when_every_condition_holds(
    code, total, threshold, minutes, minimum, sbp, escort, instructions
):
    baseline = VitalsReading(sbp_mmhg=120, dbp_mmhg=80, hr_bpm=70)
    latest = VitalsReading(sbp_mmhg=sbp, dbp_mmhg=80, hr_bpm=70, spo2_pct=98, rr_per_min=14, moaas=5, cadss6=0)
    result = discharge_readiness(
        score_code=code,
        score_total=total,
        threshold=threshold,
        minutes_since_end=minutes,
        min_observation_min=minimum,
        latest_vitals=latest,
        baseline_vitals=baseline,
        escort_present=escort,
        instructions_given=instructions,
    )
    expected = (
        total is not None
        and total >= threshold
        and minutes is not None
        and minutes >= minimum
        and abs(sbp - 120) * 100 <= 20 * 120
        and escort is True
        and instructions is True
    )
    assert result.ready is expected
    assert result.ready == (not result.reasons_not_ready)


# === Lifecycle ===========================================================================

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
facts_strategy = st.builds(
    TransitionFacts,
    checked_in=st.booleans(),
    clearance=st.sampled_from([None, "cleared", "needs_clinician_decision", "deferred"]),
    clinician_decision_reason=st.sampled_from(["", "Reviewed BP"]),
    deferral_reason_code=st.sampled_from(["", "npo", "bogus"]),
    dose_verified=st.booleans(),
    container_selected=st.booleans(),
    started_at=st.sampled_from([None, T0]),
    reason=st.sampled_from(["", "Nausea"]),
    stop_reason_code=st.sampled_from(["", "adverse_event"]),
    planned_dose_delivered=st.booleans(),
    ended_at=st.sampled_from([None, T0]),
    readiness=st.sampled_from([None, rules.Readiness(True, ()), rules.Readiness(False, ("x",))]),
    instructions_given=st.booleans(),
    signer_present=st.booleans(),
    waste_recorded=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(attempts=st.lists(st.tuples(st.sampled_from(list(SessionStatus)), facts_strategy), max_size=40))
def test_random_walks_only_move_through_gates(attempts):
    """Whatever is attempted, an accepted move is in the table and its gate passed with
    the facts given; so reaching "infusing" implies a verified dose, and reaching
    "signed" implies the session went through discharge-ready."""
    status = SessionStatus.SCHEDULED
    visited = [status]
    for target, facts in attempts:
        if target not in TRANSITIONS[status]:
            continue
        if gate_problems(status, target, facts):
            continue
        if target == SessionStatus.INFUSING and status == SessionStatus.CLEARED:
            assert facts.dose_verified
            assert facts.container_selected
        if target == SessionStatus.CLEARED:
            assert facts.clearance == "cleared" or (
                facts.clearance == "needs_clinician_decision" and facts.clinician_decision_reason
            )
        if target == SessionStatus.DISCHARGE_READY:
            assert facts.readiness is not None
            assert facts.readiness.ready
        status = target
        visited.append(status)
    order = [
        SessionStatus.PRE_CHECK,
        SessionStatus.CLEARED,
        SessionStatus.INFUSING,
        SessionStatus.RECOVERING,
        SessionStatus.DISCHARGE_READY,
        SessionStatus.DISCHARGED,
        SessionStatus.SIGNED,
    ]
    reached = [s for s in order if s in visited]
    assert reached == order[: len(reached)], visited
