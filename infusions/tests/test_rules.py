"""Infusion-day rules against clinical-reference.md sections 2, 3, 5.2 and 5.3.
Pure functions: no database, no clock."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import itertools
import pkgutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from infusions import rules
from infusions.rules import (
    PROTOCOLS,
    SPRAVATO_NPO_INTERVALS,
    STATUS_LABELS,
    TRANSITIONS,
    BaselineThresholds,
    Cadence,
    CheckInputError,
    CheckResult,
    DoseError,
    InteractionFinding,
    PumpLimits,
    Readiness,
    ReadingError,
    SessionStatus,
    TransitionError,
    TransitionFacts,
    VitalsReading,
    baseline_vitals_check,
    blocking_checks,
    calculate_dose,
    calculate_rate_dose,
    can_transition,
    clearance,
    dosing_weight_kg,
    escort_check,
    gate_problems,
    is_overdue,
    medication_changes_check,
    next_reading_due,
    npo_check,
    pregnancy_check,
    suicide_risk_gate,
    validate_reading,
    validate_reading_time,
    verification_is_current,
    weight_check,
)

PUMP = PumpLimits(D("1"), D("999"), D("1000"))
AT = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
TODAY = date(2025, 3, 3)
YESTERDAY = TODAY - timedelta(days=1)
NORMAL = VitalsReading(sbp_mmhg=120, dbp_mmhg=80, hr_bpm=70, spo2_pct=98, rr_per_min=14)


def dose(**overrides):
    """The reference's worked example: 0.5 mg/kg × 80 kg = 40 mg; 1 mg/mL; 40 min → 60 mL/h."""
    args = {
        "weight_kg": D("80"),
        "mg_per_kg": D("0.5"),
        "max_mg": D("100"),
        "protocol_max_mg_per_kg": D("0.75"),
        "vial_mg_per_ml": D("10"),
        "diluent_ml": D("36"),
        "duration_min": 40,
        "pump_limits": PUMP,
    }
    return calculate_dose(**{**args, **overrides})


def rate_dose(**overrides):
    args = {
        "weight_kg": D("70"),
        "mg_per_kg_per_h": D("0.35"),
        "duration_min": 240,
        "max_mg": D("200"),
        "protocol_max_mg_per_kg_per_h": D("2"),
        "vial_mg_per_ml": D("10"),
        "diluent_ml": D("240"),
        "pump_limits": PUMP,
    }
    return calculate_rate_dose(**{**args, **overrides})


def test_module_doctest_passes():
    assert doctest.testmod(rules).failed == 0


# === Dosing weight =======================================================================


@pytest.mark.parametrize(
    ("kwargs", "ideal", "adjusted", "weight", "limited"),
    [
        ({"actual_kg": D("80"), "basis": "actual"}, None, None, D("80.0"), False),
        ({"actual_kg": D("83.45")}, None, None, D("83.5"), False),  # default basis is actual; half-up
        ({"actual_kg": D("83.44"), "sex": "unknown"}, None, None, D("83.4"), False),  # sex not needed
        # Devine male 180 cm: 50 + 2.3 × (70.866 − 60) = 74.99 → 75.0
        (
            {"actual_kg": D("100"), "height_cm": D("180"), "sex": "male", "basis": "ideal"},
            D("75.0"),
            None,
            D("75.0"),
            False,
        ),
        # Devine female 165 cm: 45.5 + 2.3 × 4.961 = 56.91 → 56.9
        (
            {"actual_kg": D("90"), "height_cm": D("165"), "sex": "female", "basis": "ideal"},
            D("56.9"),
            None,
            D("56.9"),
            False,
        ),
        # Adjusted female 170 cm, 120 kg: 61.4 + 0.4 × 58.6 = 84.84 → 84.8
        (
            {"actual_kg": D("120"), "height_cm": D("170"), "sex": "female", "basis": "adjusted"},
            D("61.4"),
            D("84.8"),
            D("84.8"),
            False,
        ),
        # Light tall man: IBW 84.0 > actual 70 → actual
        (
            {"actual_kg": D("70"), "height_cm": D("190"), "sex": "male", "basis": "ideal"},
            D("84.0"),
            None,
            D("70.0"),
            True,
        ),
        (
            {"actual_kg": D("70"), "height_cm": D("190"), "sex": "male", "basis": "adjusted"},
            D("84.0"),
            D("78.4"),
            D("70.0"),
            True,
        ),
    ],
)
def test_dosing_weight_by_basis(kwargs, ideal, adjusted, weight, limited):
    result = dosing_weight_kg(**kwargs)
    assert (result.ideal_kg, result.adjusted_kg, result.weight_kg, result.limited_to_actual) == (
        ideal,
        adjusted,
        weight,
        limited,
    )
    assert result.steps[-1].endswith(f"→ {weight} kg")


def test_dosing_weight_labels_the_unsourced_formula_in_the_record():
    steps = dosing_weight_kg(actual_kg=D("100"), height_cm=D("180"), sex="male", basis="ideal").steps
    assert any("not in the clinical reference" in step for step in steps)


def test_dosing_weight_docstring_flags_the_formula_source_for_the_clinic():
    assert "not in clinical-reference.md — clinic to confirm" in " ".join(dosing_weight_kg.__doc__.split())


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"actual_kg": D("80"), "basis": "lean"}, "basis", "unknown weight basis"),
        ({"actual_kg": 80.0}, "actual_kg", "Decimal"),
        ({"actual_kg": 80}, "actual_kg", "Decimal"),
        ({"actual_kg": D("24.9")}, "actual_kg", "25–350 kg"),
        ({"actual_kg": D("351")}, "actual_kg", "plausible range"),
        (
            {"actual_kg": D("80"), "height_cm": D("170"), "sex": "intersex", "basis": "ideal"},
            "sex",
            "'female' or 'male'",
        ),
        ({"actual_kg": D("80"), "height_cm": D("170"), "basis": "adjusted"}, "sex", "sex at birth"),
        ({"actual_kg": D("80"), "sex": "male", "basis": "ideal"}, "height_cm", "height"),
        ({"actual_kg": D("80"), "height_cm": D("99"), "sex": "male", "basis": "ideal"}, "height_cm", "100–250 cm"),
        (
            {"actual_kg": D("80"), "height_cm": D("152"), "sex": "female", "basis": "ideal"},
            "height_cm",
            "over 5 ft (152.4 cm)",
        ),
        (
            {"actual_kg": D("80"), "height_cm": D("120"), "sex": "male", "basis": "adjusted"},
            "height_cm",
            "actual weight",
        ),
        ({"actual_kg": D("80"), "height_cm": 170.0, "sex": "male", "basis": "ideal"}, "height_cm", "Decimal"),
    ],
)
def test_dosing_weight_refusals(kwargs, field, fragment):
    with pytest.raises(DoseError) as error:
        dosing_weight_kg(**kwargs)
    assert error.value.field == field
    assert fragment in str(error.value)


# === Dose calculation: the arithmetic ====================================================

DOSE_FIELDS = (
    "uncapped_dose_mg",
    "capped",
    "ordered_dose_mg",
    "drug_volume_ml",
    "dose_mg",
    "total_volume_ml",
    "final_mg_per_ml",
    "rate_ml_per_h",
    "mg_per_kg_per_h",
)


def expected(row: str) -> list:
    """'uncapped capped ordered drug_mL dose_mg total_mL final_mg/mL rate_mL/h mg/kg/h'"""
    values = row.split()
    return [D(v) if v not in {"capped", "-"} else v == "capped" for v in values]


DOSE_TABLE = [
    #  uncapped capped ordered drug mL, dose mg, total mL, final mg/mL, rate mL/h, mg/kg/h
    # Reference worked example: 40 mg, 1 mg/mL, 40 mL over 40 min = 60 mL/h
    ({}, "40.0 - 40.0 4.00 40.0 40.00 1.000 60.0 0.7500"),
    (
        {"weight_kg": D("70"), "vial_mg_per_ml": D("50"), "diluent_ml": D("99.3")},
        "35.0 - 35.0 0.70 35.0 100.00 0.350 150.0 0.7500",
    ),
    # Capped at the plan maximum, not refused
    (
        {"weight_kg": D("120"), "mg_per_kg": D("0.75"), "max_mg": D("80"), "diluent_ml": D("100")},
        "90.0 capped 80 8.00 80.0 108.00 0.741 162.0 1.0000",
    ),
    # 100 mg/mL diluted with more than an equal volume
    (
        {"weight_kg": D("90"), "vial_mg_per_ml": D("100"), "diluent_ml": D("50")},
        "45.0 - 45.0 0.45 45.0 50.45 0.892 75.7 0.7500",
    ),
    # Half-up on the dose: 0.5 × 61.3 = 30.65 → 30.7
    ({"weight_kg": D("61.3"), "diluent_ml": D("46.93")}, "30.7 - 30.7 3.07 30.7 50.00 0.614 75.0 0.7512"),
    # Half-up on the volume would exceed the cap (0.838 → 0.84 mL = 42.0 mg > 41.9): rounds down
    (
        {"weight_kg": D("83.8"), "max_mg": D("41.9"), "vial_mg_per_ml": D("50"), "diluent_ml": D("50")},
        "41.9 - 41.9 0.83 41.5 50.83 0.816 76.2 0.7428",
    ),
    (
        {"weight_kg": D("100"), "max_mg": D("33.33"), "vial_mg_per_ml": D("50"), "diluent_ml": D("50")},
        "50.0 capped 33.33 0.66 33.0 50.66 0.651 76.0 0.4950",
    ),
    # Half-up on the rate: 10 mL over 7 min = 85.714 → 85.7 mL/h
    (
        {"weight_kg": D("50"), "mg_per_kg": D("0.2"), "diluent_ml": D("9"), "duration_min": 7},
        "10.0 - 10.0 1.00 10.0 10.00 1.000 85.7 1.7143",
    ),
    # Duration as a Decimal number of minutes
    ({"duration_min": D("40")}, "40.0 - 40.0 4.00 40.0 40.00 1.000 60.0 0.7500"),
]


@pytest.mark.parametrize(("overrides", "row"), DOSE_TABLE)
def test_calculate_dose_table(overrides, row):
    calc = dose(**overrides)
    assert [getattr(calc, f) for f in DOSE_FIELDS] == expected(row)
    assert calc.dose_mg <= calc.max_mg


def test_calculate_dose_records_every_step_with_its_rounding():
    calc = dose()
    assert calc.steps == (
        "Weight used: 80.0 kg (rounded half-up to 0.1 kg)",
        "Dose: 0.5 mg/kg × 80.0 kg = 40.0 mg (rounded half-up to 0.1 mg)",
        "Cap: 40.0 mg ≤ plan maximum 100 mg → not capped",
        "Drug volume: 40.0 mg ÷ 10 mg/mL = 4.00 mL (rounded half-up to 0.01 mL) → 40.0 mg drawn",
        "Total volume: 4.00 mL drug + 36 mL diluent = 40.00 mL",
        "Final concentration: 40.0 mg ÷ 40.00 mL = 1.000 mg/mL (rounded half-up to 0.001 mg/mL)",
        "Rate: 40.00 mL ÷ (40 min ÷ 60) = 60.0 mL/h (rounded half-up to 0.1 mL/h)",
        "Delivered: 40.0 mg ÷ 80.0 kg ÷ (40 min ÷ 60) = 0.7500 mg/kg/h",
        "Pump: 60.0 mL/h within 1–999 mL/h; 40.00 mL ≤ 1000 mL",
    )


def test_calculate_dose_step_says_when_it_capped():
    calc = dose(weight_kg=D("120"), mg_per_kg=D("0.75"), max_mg=D("80"), diluent_ml=D("100"))
    assert "Cap: 90.0 mg is above the plan maximum 80 mg → capped at 80 mg" in calc.steps


def test_calculate_dose_step_says_when_the_cap_forced_the_volume_down():
    calc = dose(weight_kg=D("83.8"), max_mg=D("41.9"), vial_mg_per_ml=D("50"), diluent_ml=D("50"))
    assert any("rounded down to 0.01 mL so the drawn dose stays within the cap" in step for step in calc.steps)


def test_rounding_constants_are_half_up():
    assert rules.ROUNDING == "ROUND_HALF_UP"
    assert D("0.1") == rules.DOSE_QUANTUM_MG
    assert D("0.01") == rules.VOLUME_QUANTUM_ML
    assert D("0.1") == rules.RATE_QUANTUM_ML_PER_H


# === Dose calculation: refusals ==========================================================

DOSE_REFUSALS = [
    ({"weight_kg": 80.0}, "weight_kg", "must be a Decimal in kg, got float"),
    ({"weight_kg": 80}, "weight_kg", "must be a Decimal in kg, got int"),
    ({"weight_kg": "80"}, "weight_kg", "got str"),
    ({"weight_kg": True}, "weight_kg", "got bool"),
    ({"weight_kg": D("NaN")}, "weight_kg", "not a finite number"),
    ({"weight_kg": D("Infinity")}, "weight_kg", "not a finite number"),
    ({"weight_kg": D("-5")}, "weight_kg", "greater than 0"),
    ({"weight_kg": D("24.9")}, "weight_kg", "outside the plausible range 25–350 kg"),
    ({"weight_kg": D("350.1")}, "weight_kg", "outside the plausible range 25–350 kg"),
    ({"weight_kg": D("176")}, "weight_kg", "outside the plausible range 40–150 kg"),  # clinic's own range
    ({"mg_per_kg": D("0.8")}, "mg_per_kg", "0.8 mg/kg is above the protocol maximum 0.75 mg/kg"),
    ({"mg_per_kg": D("0")}, "mg_per_kg", "greater than 0"),
    ({"mg_per_kg": 0.5}, "mg_per_kg", "Decimal"),
    ({"max_mg": D("0")}, "max_mg", "greater than 0"),
    ({"max_mg": None}, "max_mg", "Decimal"),
    ({"protocol_max_mg_per_kg": D("-1")}, "protocol_max_mg_per_kg", "greater than 0"),
    ({"vial_mg_per_ml": D("25")}, "vial_mg_per_ml", "not a ketamine vial concentration (10, 50 or 100 mg/mL)"),
    ({"vial_mg_per_ml": D("10.5")}, "vial_mg_per_ml", "not a ketamine vial concentration"),
    ({"vial_mg_per_ml": 10}, "vial_mg_per_ml", "Decimal"),
    ({"vial_mg_per_ml": D("100"), "diluent_ml": D("0")}, "diluent_ml", "must not be given IV without dilution"),
    ({"vial_mg_per_ml": D("100"), "diluent_ml": D("0.3")}, "diluent_ml", "at least an equal volume (0.40 mL)"),
    ({"diluent_ml": D("-1")}, "diluent_ml", "must not be negative"),
    ({"diluent_ml": 36.0}, "diluent_ml", "Decimal"),
    ({"duration_min": 0}, "duration_min", "greater than 0"),
    ({"duration_min": -5}, "duration_min", "greater than 0"),
    ({"duration_min": 40.0}, "duration_min", "whole minutes"),
    ({"duration_min": True}, "duration_min", "whole minutes"),
    (
        {"pump_limits": PumpLimits(D("1"), D("50"), D("1000"))},
        "rate_ml_per_h",
        "60.0 mL/h is outside the pump's configured range 1–50 mL/h",
    ),
    (
        {"pump_limits": PumpLimits(D("100"), D("999"), D("1000"))},
        "rate_ml_per_h",
        "outside the pump's configured range",
    ),
    (
        {"pump_limits": PumpLimits(D("1"), D("999"), D("30"))},
        "total_volume_ml",
        "40.00 mL is above the pump's configured maximum 30 mL",
    ),
    ({"pump_limits": PumpLimits(D("10"), D("5"), D("100"))}, "pump_limits", "above maximum"),
    ({"pump_limits": PumpLimits(D("0"), D("5"), D("100"))}, "pump_limits", "greater than 0"),
    ({"pump_limits": PumpLimits(1.0, D("5"), D("100"))}, "pump_limits", "Decimal"),
    ({"pump_limits": None}, "pump_limits", "must be PumpLimits"),
    # A dose below one volume step at this vial: zero volume refused
    ({"max_mg": D("0.1"), "vial_mg_per_ml": D("100"), "diluent_ml": D("1")}, "drug_volume_ml", "less than 0.01 mL"),
    # 0.1 mg in 200.01 mL is below the concentration step: not recorded as 0 mg/mL
    (
        {"weight_kg": D("50"), "mg_per_kg": D("0.002"), "diluent_ml": D("200")},
        "final_mg_per_ml",
        "below 0.001 mg/mL: use less diluent",
    ),
    # 0.1 mg in 0.01 mL over 10 h rounds to a 0.0 mL/h rate
    (
        {"weight_kg": D("50"), "mg_per_kg": D("0.002"), "diluent_ml": D("0"), "duration_min": 600},
        "rate_ml_per_h",
        "zero rate",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), DOSE_REFUSALS)
def test_calculate_dose_refusals(overrides, field, fragment):
    if "weight_kg" in overrides and overrides["weight_kg"] == D("176"):
        overrides = {**overrides, "weight_range_kg": (D("40"), D("150"))}
    with pytest.raises(DoseError) as error:
        dose(**overrides)
    assert error.value.field == field
    assert fragment in error.value.message
    assert isinstance(error.value, ValueError)


def test_dose_above_plan_maximum_is_capped_not_refused():
    calc = dose(max_mg=D("30"))
    assert calc.capped is True
    assert calc.dose_mg == D("30.0")


def test_100_mg_per_ml_with_exactly_an_equal_volume_is_accepted():
    calc = dose(vial_mg_per_ml=D("100"), diluent_ml=D("0.40"))
    assert calc.final_mg_per_ml == D("50.000")


def test_undiluted_10_and_50_mg_per_ml_are_not_refused_by_the_label_rule():
    # The label forbids only 100 mg/mL undiluted [S24][S25]; the pump limits still apply.
    assert dose(diluent_ml=D("0")).total_volume_ml == D("4.00")
    assert dose(vial_mg_per_ml=D("50"), diluent_ml=D("0")).total_volume_ml == D("0.80")


# === Rate (mg/kg/h) form =================================================================


@pytest.mark.parametrize(
    ("overrides", "row", "mg_per_kg"),
    [
        # CRPS regimen 0.35 mg/kg/h over 4 h [S11][S12]
        ({}, "98.0 - 98.0 9.80 98.0 249.80 0.392 62.5 0.3500", "1.4000"),
        # 1 mg/kg/h × 80 kg × 2 h = 160 mg, capped at 150
        (
            {"weight_kg": D("80"), "mg_per_kg_per_h": D("1"), "duration_min": 120, "max_mg": D("150"),
             "diluent_ml": D("85")},
            "160.0 capped 150 15.00 150.0 100.00 1.500 50.0 0.9375",
            "2.0000",
        ),
        # 0.5 mg/kg/h × 60.6 kg × 10 min: exact 5.05 → 5.1 (rounded once, after multiplying)
        (
            {"weight_kg": D("60.6"), "mg_per_kg_per_h": D("0.5"), "duration_min": 10, "diluent_ml": D("9.49")},
            "5.1 - 5.1 0.51 5.1 10.00 0.510 60.0 0.5050",
            "0.0833",
        ),
    ],
)  # fmt: skip
def test_calculate_rate_dose_table(overrides, row, mg_per_kg):
    calc = rate_dose(**overrides)
    assert calc.form == "mg_per_kg_per_h"
    assert [getattr(calc, f) for f in DOSE_FIELDS] == expected(row)
    assert calc.mg_per_kg == D(mg_per_kg)


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"mg_per_kg_per_h": D("2.5")}, "mg_per_kg_per_h", "2.5 mg/kg/h is above the protocol maximum 2 mg/kg/h"),
        ({"mg_per_kg_per_h": 0.35}, "mg_per_kg_per_h", "Decimal"),
        ({"mg_per_kg_per_h": D("0")}, "mg_per_kg_per_h", "greater than 0"),
        ({"protocol_max_mg_per_kg_per_h": D("0")}, "protocol_max_mg_per_kg_per_h", "greater than 0"),
        ({"weight_kg": D("20")}, "weight_kg", "plausible range"),
        ({"duration_min": 0}, "duration_min", "greater than 0"),
        ({"vial_mg_per_ml": D("100"), "diluent_ml": D("0")}, "diluent_ml", "without dilution"),
        (
            {"pump_limits": PumpLimits(D("1"), D("50"), D("1000"))},
            "rate_ml_per_h",
            "outside the pump's configured range",
        ),
    ],
)
def test_calculate_rate_dose_refusals(overrides, field, fragment):
    with pytest.raises(DoseError) as error:
        rate_dose(**overrides)
    assert error.value.field == field
    assert fragment in error.value.message


@pytest.mark.parametrize(
    ("weight", "rate", "minutes"),
    [(D("70"), D("0.35"), 240), (D("80"), D("1"), 120), (D("55.5"), D("0.5"), 60), (D("90"), D("2"), 30)],
)
def test_rate_form_matches_mg_per_kg_form_when_the_mg_per_kg_is_exact(weight, rate, minutes):
    common = {
        "weight_kg": weight,
        "max_mg": D("500"),
        "vial_mg_per_ml": D("10"),
        "diluent_ml": D("100"),
        "pump_limits": PUMP,
    }
    by_rate = calculate_rate_dose(
        mg_per_kg_per_h=rate, duration_min=minutes, protocol_max_mg_per_kg_per_h=D("2"), **common
    )
    by_kg = calculate_dose(
        mg_per_kg=rate * minutes / 60, duration_min=minutes, protocol_max_mg_per_kg=D("10"), **common
    )
    fields = ("uncapped_dose_mg", "dose_mg", "drug_volume_ml", "total_volume_ml", "final_mg_per_ml", "rate_ml_per_h")
    assert [getattr(by_rate, f) for f in fields] == [getattr(by_kg, f) for f in fields]
    # Delivered mg/kg/h equals the prescription within the dose and volume rounding.
    hours = D(minutes) / 60
    slack = (rules.DOSE_QUANTUM_MG / 2 + rules.VOLUME_QUANTUM_ML / 2 * 10) / weight / hours + rules.MG_PER_KG_QUANTUM
    assert abs(by_rate.mg_per_kg_per_h - rate) <= slack


# === Verification ========================================================================


def test_a_dose_change_after_verification_voids_it():
    verified = dose().fingerprint
    assert verification_is_current(verified_fingerprint=verified, calculation=dose())
    assert not verification_is_current(verified_fingerprint=verified, calculation=dose(diluent_ml=D("46")))
    assert not verification_is_current(verified_fingerprint=verified, calculation=dose(weight_kg=D("80.1")))
    assert not verification_is_current(verified_fingerprint="", calculation=dose())


# === Protocol constants ==================================================================


@pytest.mark.parametrize(
    ("code", "form", "dose_value", "dose_min", "dose_max", "minutes", "source"),
    [
        ("depression_trd", "mg_per_kg", "0.5", "0.1", "0.75", 40, "[S1]"),
        ("chronic_pain", "mg_per_kg_per_h", "0.5", "0.5", "2", None, "[S11]"),
        ("crps", "mg_per_kg_per_h", "0.35", "0.35", "2", 240, "[S12]"),
    ],
)
def test_protocols_follow_the_reference(code, form, dose_value, dose_min, dose_max, minutes, source):
    p = PROTOCOLS[code]
    assert (p.form, p.dose, p.dose_min, p.dose_max, p.duration_min) == (
        form,
        D(dose_value),
        D(dose_min),
        D(dose_max),
        minutes,
    )
    assert source in p.source
    assert p.dose_min <= p.dose <= p.dose_max


def test_default_depression_protocol_calculates_within_its_own_maximum():
    p = PROTOCOLS["depression_trd"]
    calc = dose(mg_per_kg=p.dose, protocol_max_mg_per_kg=p.dose_max, duration_min=p.duration_min)
    assert calc.dose_mg == D("40.0")


THRESHOLD_CLASSES = [
    rules.BaselineThresholds,
    rules.AlertThresholds,
    rules.NpoIntervals,
    rules.Cadence,
    rules.DischargeTolerance,
]


@pytest.mark.parametrize("cls", THRESHOLD_CLASSES, ids=lambda c: c.__name__)
def test_every_default_threshold_cites_a_source_or_says_clinic_policy(cls):
    """Never invent a clinical number: each default carries [Sx] on its line or comes from
    the settings table (``default(...)``), whose every row has a source or says clinic policy."""
    source_lines = inspect.getsource(cls).splitlines()
    for f in dataclasses.fields(cls):
        if f.default is None:
            continue
        (line,) = [ln for ln in source_lines if ln.strip().startswith(f"{f.name}:")]
        assert "[S" in line or "default(" in line, f"{cls.__name__}.{f.name} has a default without a source"


def test_every_module_level_clinical_number_cites_its_source():
    modules = [importlib.import_module(f"infusions.rules.{m.name}") for m in pkgutil.iter_modules(rules.__path__)]
    text = "\n".join(inspect.getsource(module) for module in modules)
    for name in ("UNDILUTED_IV_FORBIDDEN_MG_PER_ML", "PAIN_BOLUS_MAX_MG_PER_KG", "SPRAVATO_MIN_OBSERVATION_MIN"):
        (line,) = [ln for ln in text.splitlines() if ln.startswith(f"{name}:")]
        assert "[S" in line


# === NPO =================================================================================


def ago(**kwargs):
    return AT - timedelta(**kwargs) if kwargs else None


@pytest.mark.parametrize(
    ("clear", "light", "fatty", "solid", "expected"),
    [
        ({"hours": 3}, {"hours": 7}, {"hours": 9}, {}, (True, True, True)),
        ({"hours": 2}, {"hours": 6}, {"hours": 8}, {}, (True, True, True)),  # boundaries are inclusive
        ({"minutes": 119}, {"minutes": 359}, {"minutes": 479}, {}, (False, False, False)),
        ({}, {}, {}, {}, (None, None, None)),  # nothing recorded: missing, never "none"
        ({"hours": 3}, {}, {}, {"hours": 7}, (True, True, False)),  # unknown food counts as fatty too
        ({"hours": 3}, {}, {}, {"hours": 9}, (True, True, True)),
        ({"hours": 3}, {"hours": 7}, {"hours": 9}, {"hours": 5}, (True, False, False)),  # the later intake binds
        ({"hours": 3}, {"hours": 7}, {}, {}, (True, True, None)),
    ],
)
def test_npo_check_table(clear, light, fatty, solid, expected):
    checks = npo_check(
        at=AT,
        last_clear_liquid_at=ago(**clear),
        last_light_meal_at=ago(**light),
        last_fatty_meal_at=ago(**fatty),
        last_solid_at=ago(**solid),
    )
    assert [c.code for c in checks] == ["npo_clear_liquids", "npo_light_meal", "npo_fatty_meal"]
    assert tuple(c.passed for c in checks) == expected
    assert all(c.on_fail == "defer" and "PD-01" in c.source for c in checks)


def test_npo_failure_says_how_long_and_when_to_start():
    (clear, *_) = npo_check(
        at=AT, last_clear_liquid_at=ago(minutes=90), last_light_meal_at=ago(hours=12), last_fatty_meal_at=ago(hours=12)
    )
    assert clear.message == (
        "NPO not met for clear liquids: 1 h 30 min since intake, 2 h 00 min required "
        "(earliest start 2025-03-03T12:30+00:00)"
    )


def test_npo_intervals_are_settings_with_a_spravato_preset():
    times = {
        "last_clear_liquid_at": ago(minutes=45),
        "last_light_meal_at": ago(hours=3),
        "last_fatty_meal_at": ago(hours=3),
    }
    assert [c.passed for c in npo_check(at=AT, **times)] == [False, False, False]
    assert [c.passed for c in npo_check(at=AT, intervals=SPRAVATO_NPO_INTERVALS, **times)] == [True, True, True]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"at": AT.replace(tzinfo=None)}, "at"),
        ({"last_clear_liquid_at": AT.replace(tzinfo=None)}, "npo_clear_liquids"),
        ({"last_clear_liquid_at": AT + timedelta(minutes=5)}, "npo_clear_liquids"),
        ({"last_solid_at": AT + timedelta(hours=1)}, "npo_light_meal"),
        ({"last_fatty_meal_at": "08:00"}, "npo_fatty_meal"),
    ],
)
def test_npo_check_refuses_naive_future_or_non_datetime_times(kwargs, field):
    args = {"at": AT, "last_clear_liquid_at": None, "last_light_meal_at": None, "last_fatty_meal_at": None}
    with pytest.raises(CheckInputError) as error:
        npo_check(**{**args, **kwargs})
    assert error.value.field == field


# === Escort ==============================================================================


@pytest.mark.parametrize(
    ("present", "name", "phone", "passed", "fragment"),
    [
        (True, "Pat Doe", "+1 555 0100", True, "recorded"),
        (False, "Pat Doe", "+1 555 0100", False, "No responsible adult"),
        (None, "", "", None, "not recorded"),
        (True, "", "+1 555 0100", None, "name not recorded"),
        (True, "Pat Doe", "  ", None, "phone not recorded"),
        (True, "", "", None, "name and phone not recorded"),
    ],
)
def test_escort_check_table(present, name, phone, passed, fragment):
    (check,) = escort_check(escort_present=present, escort_name=name, escort_phone=phone)
    assert (check.code, check.passed, check.on_fail) == ("escort", passed, "defer")
    assert fragment in check.message
    assert "[S26]" in check.source


# === Pregnancy ===========================================================================


@pytest.mark.parametrize(
    ("potential", "required", "result", "passed", "on_fail"),
    [
        (False, True, None, True, "defer"),
        (True, True, None, None, "defer"),
        (True, True, "negative", True, "defer"),
        (True, True, "positive", False, "review"),  # relative contraindication CI-07: review
        (None, True, None, None, "defer"),  # childbearing potential not recorded, clinic requires a test
        # Unknown is never a silent pass, whatever the test policy: an answer or a decision.
        (None, False, None, None, "defer"),  # childbearing potential not recorded, no test policy
        (True, False, None, None, "defer"),  # childbearing potential, pregnancy status unknown
        (True, False, "negative", True, "defer"),  # a test done anyway answers it
        (None, False, "negative", None, "defer"),  # a negative test does not answer "potential?"
        (False, False, "positive", False, "review"),  # a positive result always counts
    ],
)
def test_pregnancy_check_table(potential, required, result, passed, on_fail):
    (check,) = pregnancy_check(childbearing_potential=potential, test_required_by_policy=required, test_result=result)
    assert (check.code, check.passed, check.on_fail) == ("pregnancy", passed, on_fail)


def test_pregnancy_check_refuses_an_unknown_result():
    with pytest.raises(CheckInputError):
        pregnancy_check(childbearing_potential=True, test_required_by_policy=True, test_result="maybe")


# === Baseline vitals =====================================================================


def reading(**kwargs):
    return dataclasses.replace(NORMAL, **kwargs)


@pytest.mark.parametrize(
    ("vitals", "thresholds", "expected"),
    [
        (
            NORMAL,
            BaselineThresholds(),
            {"baseline_bp": (True, "defer"), "baseline_hr": (True, "defer"), "baseline_spo2": (True, "defer")},
        ),
        (reading(sbp_mmhg=181, dbp_mmhg=90), BaselineThresholds(), {"baseline_bp": (False, "defer")}),  # CI-04
        (reading(sbp_mmhg=150, dbp_mmhg=101), BaselineThresholds(), {"baseline_bp": (False, "defer")}),
        (
            reading(sbp_mmhg=180, dbp_mmhg=100),
            BaselineThresholds(),
            {"baseline_bp": (False, "review")},
        ),  # not >180/100; >140/90
        (reading(sbp_mmhg=141, dbp_mmhg=80), BaselineThresholds(), {"baseline_bp": (False, "review")}),  # CI-05
        (reading(sbp_mmhg=120, dbp_mmhg=91), BaselineThresholds(), {"baseline_bp": (False, "review")}),
        (reading(sbp_mmhg=140, dbp_mmhg=90), BaselineThresholds(), {"baseline_bp": (True, "defer")}),
        (reading(sbp_mmhg=None), BaselineThresholds(), {"baseline_bp": (None, "defer")}),
        (reading(hr_bpm=None), BaselineThresholds(), {"baseline_hr": (None, "defer")}),
        (reading(spo2_pct=None), BaselineThresholds(), {"baseline_spo2": (None, "defer")}),
        (
            None,
            BaselineThresholds(),
            {"baseline_bp": (None, "defer"), "baseline_hr": (None, "defer"), "baseline_spo2": (None, "defer")},
        ),
        (reading(spo2_pct=92), BaselineThresholds(), {"baseline_spo2": (False, "review")}),
        (reading(spo2_pct=93), BaselineThresholds(), {"baseline_spo2": (True, "defer")}),
        (
            reading(spo2_pct=88),
            BaselineThresholds(spo2_review_at_or_below_pct=None),
            {"baseline_spo2": (True, "defer")},
        ),
        (reading(hr_bpm=150), BaselineThresholds(), {"baseline_hr": (False, "review")}),  # clinic-policy default 100
        (reading(hr_bpm=35), BaselineThresholds(), {"baseline_hr": (False, "review")}),  # clinic-policy default 50
        (reading(hr_bpm=101), BaselineThresholds(hr_review_above_bpm=100), {"baseline_hr": (False, "review")}),
        (reading(hr_bpm=49), BaselineThresholds(hr_review_below_bpm=50), {"baseline_hr": (False, "review")}),
        (reading(sbp_mmhg=161), BaselineThresholds(sbp_defer_above_mmhg=160), {"baseline_bp": (False, "defer")}),
    ],
)
def test_baseline_vitals_check_table(vitals, thresholds, expected):
    checks = {c.code: c for c in baseline_vitals_check(reading=vitals, thresholds=thresholds)}
    assert set(checks) == {"baseline_bp", "baseline_hr", "baseline_spo2"}
    for code, (passed, on_fail) in expected.items():
        assert (checks[code].passed, checks[code].on_fail) == (passed, on_fail), code


def test_baseline_bp_checks_cite_their_rules():
    (defer, *_) = baseline_vitals_check(reading=reading(sbp_mmhg=185, dbp_mmhg=105))
    (review, *_) = baseline_vitals_check(reading=reading(sbp_mmhg=150, dbp_mmhg=92))
    assert defer.source == "CI-04 [S28]"
    assert review.source == "CI-05 [S17][S23]"


def test_baseline_vitals_check_refuses_an_impossible_reading():
    with pytest.raises(ReadingError):
        baseline_vitals_check(reading=reading(sbp_mmhg=400, dbp_mmhg=20))


# === PHQ-9 item 9 and C-SSRS gate ========================================================

PHQ9_NEG = [1, 2, 1, 1, 0, 1, 1, 0, 0]
PHQ9_POS = [1, 2, 1, 1, 0, 1, 1, 0, 1]
CSSRS_NONE = dict.fromkeys(("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months"), False)
CSSRS_LOW = {**CSSRS_NONE, "q1": True}
CSSRS_MODERATE = {**CSSRS_NONE, "q1": True, "q2": True, "q3": True}
CSSRS_HIGH = {**CSSRS_NONE, "q1": True, "q2": True, "q4": True}


@pytest.mark.parametrize(
    ("phq9", "phq9_on", "cssrs", "cssrs_on", "expected"),
    [
        (PHQ9_NEG, TODAY, None, None, ((True, "defer"), (True, "defer"))),
        (PHQ9_POS, TODAY, None, None, ((True, "defer"), (None, "defer"))),  # PD-03: screener required
        (PHQ9_POS, TODAY, CSSRS_LOW, TODAY, ((True, "defer"), (True, "defer"))),
        (PHQ9_POS, TODAY, CSSRS_MODERATE, TODAY, ((True, "defer"), (False, "review"))),  # PD-04, as at intake
        (PHQ9_NEG, TODAY, CSSRS_MODERATE, TODAY, ((True, "defer"), (False, "review"))),
        (PHQ9_POS, TODAY, CSSRS_HIGH, TODAY, ((True, "defer"), (False, "review"))),  # PD-04
        (PHQ9_POS, TODAY, CSSRS_HIGH, YESTERDAY, ((True, "defer"), (None, "defer"))),  # yesterday's screener
        (PHQ9_NEG, TODAY, CSSRS_HIGH, TODAY, ((True, "defer"), (False, "review"))),  # a high screener always counts
        (PHQ9_POS, YESTERDAY, None, None, ((None, "defer"), (None, "defer"))),  # not today's PHQ-9
        (None, None, None, None, ((None, "defer"), (None, "defer"))),
        (None, None, CSSRS_HIGH, TODAY, ((None, "defer"), (False, "review"))),
    ],
)
def test_suicide_risk_gate_table(phq9, phq9_on, cssrs, cssrs_on, expected):
    checks = suicide_risk_gate(
        today=TODAY, phq9_answers=phq9, phq9_taken_on=phq9_on, cssrs_answers=cssrs, cssrs_taken_on=cssrs_on
    )
    assert [c.code for c in checks] == ["phq9_item9", "cssrs_screen"]
    assert tuple((c.passed, c.on_fail) for c in checks) == expected


def test_suicide_risk_gate_says_the_screener_is_required():
    phq9, cssrs = suicide_risk_gate(today=TODAY, phq9_answers=PHQ9_POS, phq9_taken_on=TODAY)
    assert "C-SSRS screener required" in phq9.message
    assert cssrs.message == "C-SSRS screener required before infusion"
    assert "[S36]" in cssrs.source


def test_suicide_risk_gate_refuses_bad_answers_through_the_instrument():
    with pytest.raises(ValueError, match="phq9 item 9"):
        suicide_risk_gate(today=TODAY, phq9_answers=[0] * 8 + [4], phq9_taken_on=TODAY)


# === Weight ==============================================================================


@pytest.mark.parametrize(
    ("weight", "measured_on", "passed"),
    [
        (D("80.0"), TODAY, True),
        (D("80.0"), YESTERDAY, None),  # same-day weight drives the dose
        (None, TODAY, None),
        (D("80.0"), None, None),
        (D("24"), TODAY, False),
        (D("0"), TODAY, False),
    ],
)
def test_weight_check_table(weight, measured_on, passed):
    (check,) = weight_check(today=TODAY, weight_kg=weight, measured_on=measured_on)
    assert (check.code, check.passed) == ("weight_today", passed)


def test_weight_check_refuses_a_float():
    with pytest.raises(CheckInputError):
        weight_check(today=TODAY, weight_kg=80.0, measured_on=TODAY)


# === Medication changes ==================================================================

ABSOLUTE = InteractionFinding("CI-01", "absolute", "Hypersensitivity", "[S17]")
THEOPHYLLINE = InteractionFinding("CI-14", "interaction", "Theophylline: do not co-administer", "[S25]")
BENZO = InteractionFinding("CI-15", "interaction", "Benzodiazepine", "[S13][S25]")
RELATIVE = InteractionFinding("CI-08", "relative", "Psychosis", "[S11]")
MONITOR = InteractionFinding("CI-16", "monitor", "Urinary symptoms", "[S23]")
ODD = InteractionFinding("CI-99", "mystery", "Unknown class", "?")
NOT_RECORDED = InteractionFinding("CI-15", "monitor", "Not recorded: Opioid", "[S13]", ("takes_opioid",))
BENZO_AND_GAPS = InteractionFinding("CI-15", "interaction", "Benzodiazepine", "[S13]", ("takes_opioid",))


@pytest.mark.parametrize(
    ("changed", "findings", "expected"),
    [
        (None, None, [("medication_changes", None, "defer")]),
        (False, None, [("medication_changes", True, "defer")]),
        (True, None, [("medication_changes", None, "defer")]),  # rules not re-run
        (True, [], [("medication_changes", True, "defer")]),
        (True, [ABSOLUTE], [("medication_changes", True, "defer"), ("interaction:CI-01", False, "defer")]),
        (True, [THEOPHYLLINE], [("medication_changes", True, "defer"), ("interaction:CI-14", False, "defer")]),
        (True, [BENZO], [("medication_changes", True, "defer"), ("interaction:CI-15", False, "review")]),
        (True, [RELATIVE], [("medication_changes", True, "defer"), ("interaction:CI-08", False, "review")]),
        (True, [MONITOR], [("medication_changes", True, "defer"), ("interaction:CI-16", True, "defer")]),
        (True, [ODD], [("medication_changes", True, "defer"), ("interaction:CI-99", False, "review")]),
        (True, lambda: [BENZO], [("medication_changes", True, "defer"), ("interaction:CI-15", False, "review")]),
        (
            True,
            [NOT_RECORDED],
            [("medication_changes", True, "defer"), ("interaction:CI-15:not_recorded", None, "defer")],
        ),
        (
            True,
            [BENZO_AND_GAPS],
            [
                ("medication_changes", True, "defer"),
                ("interaction:CI-15", False, "review"),
                ("interaction:CI-15:not_recorded", None, "defer"),
            ],
        ),
    ],
)
def test_medication_changes_check_table(changed, findings, expected):
    checks = medication_changes_check(medications_changed=changed, interaction_findings=findings)
    assert [(c.code, c.passed, c.on_fail) for c in checks] == expected


def test_medication_changes_check_does_not_rerun_rules_when_nothing_changed():
    def explode():
        raise AssertionError("interaction rules should not run")

    (check,) = medication_changes_check(medications_changed=False, interaction_findings=explode)
    assert check.passed is True


def test_medication_changes_check_reads_the_screening_modules_findings():
    """Contract with consultations.rules.Finding: its real output plugs straight in."""
    screening = pytest.importorskip("consultations.rules")
    facts = screening.IntakeFacts(takes_theophylline_or_aminophylline=True, takes_benzodiazepine=True)
    findings = [f for f in screening.screen(facts, today=TODAY).findings if f.rule_id in {"CI-14", "CI-15"}]
    checks = {c.code: c for c in medication_changes_check(medications_changed=True, interaction_findings=findings)}
    assert (checks["interaction:CI-14"].passed, checks["interaction:CI-14"].on_fail) == (False, "defer")
    assert (checks["interaction:CI-15"].passed, checks["interaction:CI-15"].on_fail) == (False, "review")
    assert clearance(list(checks.values()) + all_passing()) == "deferred"


# === Clearance ===========================================================================


def all_passing():
    return [CheckResult(code, True, "ok", "[S]") for code in sorted(rules.REQUIRED_PRECHECK_CODES)]


def with_check(code, passed, on_fail="defer"):
    return [c if c.code != code else CheckResult(code, passed, "x", "[S]", on_fail) for c in all_passing()]


@pytest.mark.parametrize(
    ("checks", "outcome"),
    [
        (all_passing(), "cleared"),
        (all_passing() + [CheckResult("interaction:CI-16", True, "monitor", "[S23]")], "cleared"),
        (with_check("baseline_bp", False, "review"), "needs_clinician_decision"),
        (with_check("escort", None), "needs_clinician_decision"),
        (with_check("escort", False), "deferred"),
        (with_check("npo_fatty_meal", False) + [CheckResult("weight_today", None, "x", "")], "deferred"),
        ([c for c in all_passing() if c.code != "pregnancy"], "needs_clinician_decision"),  # a check not run
        ([], "needs_clinician_decision"),
        (all_passing() + [CheckResult("interaction:CI-14", False, "x", "[S25]")], "deferred"),
    ],
)
def test_clearance_table(checks, outcome):
    assert clearance(checks) == outcome


def test_blocking_checks_lists_everything_not_passed():
    checks = with_check("escort", None)
    assert [c.code for c in blocking_checks(checks)] == ["escort"]


def full_precheck(**overrides):
    args = {
        "npo": {
            "at": AT,
            "last_clear_liquid_at": ago(hours=3),
            "last_light_meal_at": ago(hours=7),
            "last_fatty_meal_at": ago(hours=20),
        },
        "escort": {"escort_present": True, "escort_name": "Pat Doe", "escort_phone": "+1 555 0100"},
        "pregnancy": {"childbearing_potential": True, "test_required_by_policy": True, "test_result": "negative"},
        "vitals": {"reading": NORMAL},
        "si": {"today": TODAY, "phq9_answers": PHQ9_NEG, "phq9_taken_on": TODAY},
        "weight": {"today": TODAY, "weight_kg": D("80.0"), "measured_on": TODAY},
        "meds": {"medications_changed": False, "interaction_findings": None},
    }
    for key, value in overrides.items():
        args[key] = {**args[key], **value}
    return (
        npo_check(**args["npo"])
        + escort_check(**args["escort"])
        + pregnancy_check(**args["pregnancy"])
        + baseline_vitals_check(**args["vitals"])
        + suicide_risk_gate(**args["si"])
        + weight_check(**args["weight"])
        + medication_changes_check(**args["meds"])
    )


@pytest.mark.parametrize(
    ("overrides", "outcome"),
    [
        ({}, "cleared"),
        ({"escort": {"escort_present": False}}, "deferred"),  # the browser test's first failure
        ({"escort": {"escort_phone": ""}}, "needs_clinician_decision"),
        ({"vitals": {"reading": reading(sbp_mmhg=185, dbp_mmhg=105)}}, "deferred"),
        ({"vitals": {"reading": reading(sbp_mmhg=150, dbp_mmhg=92)}}, "needs_clinician_decision"),
        ({"si": {"phq9_answers": PHQ9_POS}}, "needs_clinician_decision"),
        ({"si": {"phq9_answers": PHQ9_POS, "cssrs_answers": CSSRS_LOW, "cssrs_taken_on": TODAY}}, "cleared"),
        (
            {"si": {"phq9_answers": PHQ9_POS, "cssrs_answers": CSSRS_HIGH, "cssrs_taken_on": TODAY}},
            "needs_clinician_decision",
        ),
        (
            {"si": {"phq9_answers": PHQ9_POS, "cssrs_answers": CSSRS_MODERATE, "cssrs_taken_on": TODAY}},
            "needs_clinician_decision",
        ),
        ({"npo": {"last_clear_liquid_at": ago(minutes=30)}}, "deferred"),
        ({"npo": {"last_fatty_meal_at": None}}, "needs_clinician_decision"),
        ({"weight": {"measured_on": YESTERDAY}}, "needs_clinician_decision"),
        ({"pregnancy": {"test_result": "positive"}}, "needs_clinician_decision"),
        ({"meds": {"medications_changed": True, "interaction_findings": [THEOPHYLLINE]}}, "deferred"),
        ({"meds": {"medications_changed": None}}, "needs_clinician_decision"),
    ],
)
def test_clearance_over_the_composed_checklist(overrides, outcome):
    checks = full_precheck(**overrides)
    assert {c.code for c in checks} >= rules.REQUIRED_PRECHECK_CODES
    assert clearance(checks) == outcome


# === Flowsheet: validation ===============================================================


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sbp_mmhg": 120.0}, "sbp_mmhg"),
        ({"hr_bpm": True}, "hr_bpm"),
        ({"spo2_pct": "98"}, "spo2_pct"),
        ({"temp_c": 36.6}, "temp_c"),
        ({"temp_c": 37}, "temp_c"),
        ({"sbp_mmhg": 80, "dbp_mmhg": 80}, "dbp_mmhg"),  # systolic must exceed diastolic
        ({"sbp_mmhg": 70, "dbp_mmhg": 90}, "dbp_mmhg"),
    ],
)
def test_validate_reading_refuses_wrong_types_and_swapped_pressures(kwargs, field):
    with pytest.raises(ReadingError) as error:
        validate_reading(VitalsReading(**kwargs))
    assert error.value.field == field


CHECKED_IN = AT - timedelta(hours=1)


@pytest.mark.parametrize(
    ("taken_at", "checked_in_at", "fragment"),
    [
        (AT + timedelta(seconds=1), CHECKED_IN, "in the future"),
        (CHECKED_IN - timedelta(minutes=1), CHECKED_IN, "before the patient checked in"),
        (AT.replace(tzinfo=None), CHECKED_IN, "timezone-aware"),
    ],
)
def test_validate_reading_time_refusals(taken_at, checked_in_at, fragment):
    with pytest.raises(rules.RuleInputError) as error:
        validate_reading_time(taken_at=taken_at, at=AT, checked_in_at=checked_in_at)
    assert error.value.field == "taken_at"
    assert fragment in error.value.message


@pytest.mark.parametrize("taken_at", [AT, CHECKED_IN, AT - timedelta(minutes=10)])
def test_validate_reading_time_accepts_times_between_check_in_and_now(taken_at):
    assert validate_reading_time(taken_at=taken_at, at=AT, checked_in_at=CHECKED_IN) == taken_at
    assert validate_reading_time(taken_at=taken_at, at=AT, checked_in_at=None) == taken_at


# === Cadence =============================================================================

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "phase", "cadence", "started", "due"),
    [
        (T0, "intra", Cadence(), None, T0 + timedelta(minutes=10)),  # [S7][S8]
        (T0, "post", Cadence(), None, T0 + timedelta(minutes=15)),  # [S8]
        (T0, "pre", Cadence(), None, None),  # baseline: no cadence
        (None, "intra", Cadence(), T0, T0),  # the first reading is due at the phase start
        (T0, "post", Cadence(), T0 + timedelta(minutes=40), T0 + timedelta(minutes=40)),  # last was intra
        (T0 + timedelta(minutes=45), "post", Cadence(), T0 + timedelta(minutes=40), T0 + timedelta(minutes=60)),
        (T0, "intra", Cadence(intra_min=5), None, T0 + timedelta(minutes=5)),
        (T0, "post", Cadence(post_min=None), None, None),
        # The reading's time is to the minute, the phase's start to the second: a reading in
        # the start's (or the end's) minute is the phase's first, not one before it.
        (T0, "intra", Cadence(), T0 + timedelta(seconds=37), T0 + timedelta(minutes=10)),
        (T0, "post", Cadence(), T0 + timedelta(seconds=59, microseconds=5), T0 + timedelta(minutes=15)),
        (T0, "post", Cadence(), T0, T0 + timedelta(minutes=15)),
        # A minute earlier is still the phase before.
        (T0 - timedelta(minutes=1), "intra", Cadence(), T0 + timedelta(seconds=37), T0 + timedelta(seconds=37)),
        (T0 - timedelta(seconds=1), "post", Cadence(), T0, T0),
    ],
)
def test_next_reading_due_table(last, phase, cadence, started, due):
    assert next_reading_due(last_reading_at=last, phase=phase, cadence=cadence, phase_started_at=started) == due


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"last_reading_at": None, "phase": "intra"}, "phase_started_at"),
        ({"last_reading_at": T0, "phase": "during"}, "phase"),
        ({"last_reading_at": T0, "phase": "intra", "cadence": Cadence(intra_min=0)}, "cadence"),
        ({"last_reading_at": T0.replace(tzinfo=None), "phase": "intra"}, "last_reading_at"),
    ],
)
def test_next_reading_due_refusals(kwargs, field):
    with pytest.raises(CheckInputError) as error:
        next_reading_due(**kwargs)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("due", "at", "grace", "overdue"),
    [
        (T0, T0, timedelta(0), False),
        (T0, T0 + timedelta(minutes=1), timedelta(0), True),
        (T0, T0 + timedelta(minutes=4), timedelta(minutes=5), False),
        (T0, T0 + timedelta(minutes=6), timedelta(minutes=5), True),
        (None, T0, timedelta(0), False),
    ],
)
def test_is_overdue_table(due, at, grace, overdue):
    assert is_overdue(due_at=due, at=at, grace=grace) is overdue


def test_default_cadence_cites_the_observational_data():
    assert (Cadence().intra_min, Cadence().post_min) == (10, 15)


# === Session lifecycle ===================================================================

ALL = list(SessionStatus)
READY = Readiness(True, ())
NOT_READY = Readiness(False, ("Modified Aldrete 8 is below 9",))

# For each legal move, the facts that satisfy its gate (and nothing more than it needs).
SATISFYING = {
    ("scheduled", "pre_check"): TransitionFacts(checked_in=True),
    ("pre_check", "cleared"): TransitionFacts(clearance="cleared"),
    ("pre_check", "deferred"): TransitionFacts(deferral_reason_code="npo"),
    ("cleared", "infusing"): TransitionFacts(dose_verified=True, container_selected=True, started_at=T0),
    ("cleared", "deferred"): TransitionFacts(deferral_reason_code="patient_declined", reason="Left before the start"),
    ("infusing", "paused"): TransitionFacts(reason="Nausea"),
    ("paused", "infusing"): TransitionFacts(started_at=T0),
    ("infusing", "completed"): TransitionFacts(planned_dose_delivered=True, ended_at=T0),
    ("paused", "completed"): TransitionFacts(planned_dose_delivered=True, ended_at=T0),
    ("infusing", "stopped_early"): TransitionFacts(stop_reason_code="vitals_limit", reason="BP 190/110", ended_at=T0),
    ("paused", "stopped_early"): TransitionFacts(stop_reason_code="adverse_event", reason="Vomiting", ended_at=T0),
    ("completed", "recovering"): TransitionFacts(ended_at=T0),
    ("stopped_early", "recovering"): TransitionFacts(ended_at=T0),
    ("recovering", "discharge_ready"): TransitionFacts(readiness=READY),
    ("discharge_ready", "recovering"): TransitionFacts(reason="SpO₂ 91% on a new reading"),
    ("discharge_ready", "discharged"): TransitionFacts(readiness=READY, instructions_given=True),
    ("discharged", "signed"): TransitionFacts(signer_present=True, waste_recorded=True),
}


def legal_moves():
    return [(a.value, b.value) for a, targets in TRANSITIONS.items() for b in targets]


def test_transition_table_is_the_reference_state_machine():
    assert set(legal_moves()) == set(SATISFYING)


def test_every_status_has_a_row_and_a_label():
    assert set(TRANSITIONS) == set(ALL) == set(STATUS_LABELS)


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(ALL, ALL)))
def test_no_transition_skips_a_gate(from_status, to_status):
    """Over the whole table: a legal move has a gate that refuses the "nothing recorded"
    facts and accepts exactly its documented facts; an illegal move is refused outright."""
    move = (from_status.value, to_status.value)
    if move in SATISFYING:
        assert can_transition(*move)
        assert (from_status, to_status) in rules.GATES
        assert gate_problems(*move, TransitionFacts()), f"{move} passes with nothing recorded"
        assert gate_problems(*move, SATISFYING[move]) == []
    else:
        assert not can_transition(*move)
        with pytest.raises(TransitionError):
            gate_problems(*move, TransitionFacts())


def test_gates_and_transitions_cover_the_same_moves():
    assert set(rules.GATES) == {(a, b) for a, targets in TRANSITIONS.items() for b in targets}


@pytest.mark.parametrize(
    ("move", "facts", "fragment"),
    [
        (
            ("pre_check", "cleared"),
            TransitionFacts(clearance="needs_clinician_decision"),
            "clinician's documented decision",
        ),
        (
            ("pre_check", "cleared"),
            TransitionFacts(clearance="needs_clinician_decision", clinician_decision_reason="  "),
            "documented decision",
        ),
        (
            ("pre_check", "cleared"),
            TransitionFacts(clearance="deferred", clinician_decision_reason="Proceed"),
            "cannot override",
        ),
        (("pre_check", "cleared"), TransitionFacts(), "not evaluated"),
        (("pre_check", "deferred"), TransitionFacts(deferral_reason_code="because"), "Coded deferral reason"),
        (
            ("cleared", "infusing"),
            TransitionFacts(container_selected=True, started_at=T0),
            "not verified by a second clinician",
        ),
        (("cleared", "infusing"), TransitionFacts(dose_verified=True, started_at=T0), "Lot/container"),
        (("infusing", "completed"), TransitionFacts(ended_at=T0), "Planned dose not delivered"),
        (
            ("infusing", "completed"),
            TransitionFacts(
                planned_dose_delivered=True, ended_at=T0, bag_delivery_known=True, bag_minutes_left=D("39")
            ),
            "has not run the planned dose (about 39 min left): stop early instead",
        ),
        (
            ("paused", "completed"),
            TransitionFacts(planned_dose_delivered=True, ended_at=T0, bag_delivery_known=True),
            "the pump is not running",
        ),
        (
            ("cleared", "deferred"),
            TransitionFacts(deferral_reason_code="patient_declined"),
            "Say why a cleared patient is not treated today",
        ),
        (
            ("infusing", "stopped_early"),
            TransitionFacts(reason="x", ended_at=T0, stop_reason_code="bored"),
            "Coded stop reason",
        ),
        (("recovering", "discharge_ready"), TransitionFacts(readiness=NOT_READY), "Modified Aldrete 8 is below 9"),
        (("recovering", "discharge_ready"), TransitionFacts(), "not computed"),
        (("discharge_ready", "discharged"), TransitionFacts(readiness=READY), "instructions not given"),
        (
            ("discharge_ready", "discharged"),
            TransitionFacts(readiness=NOT_READY, instructions_given=True),
            "Not discharge-ready",
        ),
        (("discharged", "signed"), TransitionFacts(signer_present=True), "Waste entry"),
        (
            ("discharged", "signed"),
            TransitionFacts(signer_present=True, waste_recorded=True, rems_required=True),
            "REMS",
        ),
    ],
)
def test_gate_problems_name_what_is_missing(move, facts, fragment):
    problems = gate_problems(*move, facts)
    assert any(fragment in p for p in problems), problems


def test_clinician_decision_clears_only_a_needs_decision_checklist():
    facts = TransitionFacts(clearance="needs_clinician_decision", clinician_decision_reason="BP 150/92 reviewed")
    assert gate_problems("pre_check", "cleared", facts) == []


def test_spravato_signing_needs_the_rems_form_queued():
    facts = TransitionFacts(signer_present=True, waste_recorded=True, rems_required=True, rems_form_queued=True)
    assert gate_problems("discharged", "signed", facts) == []


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [
        ("scheduled", "infusing"),
        ("cleared", "completed"),
        ("deferred", "cleared"),
        ("signed", "discharged"),
        ("infusing", "discharged"),
        ("bogus", "cleared"),
        ("pre_check", "bogus"),
        ("infusing", "infusing"),
    ],
)
def test_illegal_moves_are_refused(from_status, to_status):
    assert not can_transition(from_status, to_status)
    with pytest.raises(TransitionError, match="cannot move"):
        gate_problems(from_status, to_status, TransitionFacts())


def test_terminal_statuses_have_no_way_out():
    assert TRANSITIONS[SessionStatus.SIGNED] == frozenset()
    assert TRANSITIONS[SessionStatus.DEFERRED] == frozenset()
    assert all(SessionStatus.SCHEDULED not in targets for targets in TRANSITIONS.values())
