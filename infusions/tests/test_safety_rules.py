"""The monitoring safety net as pure rules: settings never blank, only the impossible refused,
critical alerts, and discharge readiness from the latest state (no database)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infusions import rules
from infusions.rules import (
    SETTINGS,
    AlertThresholds,
    CheckInputError,
    DischargeTolerance,
    ReadingError,
    VitalsReading,
    discharge_readiness,
    extreme_values,
    latest_values,
    setting_problems,
    validate_reading,
    vitals_alerts,
)

NORMAL = VitalsReading(sbp_mmhg=120, dbp_mmhg=80, hr_bpm=70, spo2_pct=98, rr_per_min=14)
AWAKE = dataclasses.replace(NORMAL, moaas=5, cadss6=0)
T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def reading(**kwargs):
    return dataclasses.replace(NORMAL, **kwargs)


# === Settings: a default, a source, bounds; never blank =================================


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_has_a_default_inside_its_bounds_and_a_source_or_clinic_policy(setting):
    assert setting.default is not None
    assert setting.low <= setting.default <= setting.high
    assert setting.sourced == bool(re.search(r"\[S\d+\]", setting.source))
    assert setting.sourced or setting.source == rules.CLINIC_POLICY


def test_the_reference_numbers_are_the_defaults():
    by = rules.SETTINGS_BY_NAME
    assert (by["sbp_alert_above_mmhg"].default, by["dbp_alert_above_mmhg"].default) == (180, 100)  # [S28]
    assert (by["spo2_alert_at_or_below_pct"].default, by["spo2_critical_below_pct"].default) == (92, 90)  # [S102]
    assert by["discharge_min_score"].default == 9  # [S102][S104]
    assert by["min_observation_min"].default == rules.SPRAVATO_MIN_OBSERVATION_MIN  # [S14]
    assert "[S28]" in by["sbp_alert_above_mmhg"].source
    assert by["spo2_critical_below_pct"].source == "[S102]"


def test_the_alert_dataclasses_take_their_defaults_from_the_settings():
    for name in AlertThresholds.__dataclass_fields__:
        assert getattr(AlertThresholds(), name) == rules.SETTINGS_BY_NAME[name].default, name


DEFAULTS = {s.name: s.default for s in SETTINGS}


@pytest.mark.parametrize(
    ("case", "changes", "problems"),
    [
        ("every default", {}, []),
        ("a blank alert threshold", {"rr_alert_below_per_min": None}, ["rr_alert_below_per_min"]),
        ("an empty text", {"min_observation_min": ""}, ["min_observation_min"]),
        ("below the bound", {"spo2_critical_below_pct": 50}, ["spo2_critical_below_pct"]),
        ("above the bound", {"hr_alert_above_bpm": 250}, ["hr_alert_above_bpm"]),
        ("not a number", {"moaas_alert_at_or_below": True}, ["moaas_alert_at_or_below"]),
        (
            "a missing key",
            {"cadence_post_min": None, "overdue_grace_min": -1},
            ["cadence_post_min", "overdue_grace_min"],
        ),
    ],
)
def test_setting_problems_table(case, changes, problems):
    found = setting_problems({**DEFAULTS, **changes})
    assert [name for name, _ in found] == problems, case


def test_a_blank_setting_names_itself_and_its_default():
    ((name, message),) = setting_problems({**DEFAULTS, "rr_alert_below_per_min": None})
    assert message == "Alert: respiratory rate below is blank: every safety setting needs a value (default 10)"


# === Readings: only the physically impossible is refused ================================


@pytest.mark.parametrize(
    ("case", "values", "field"),
    [
        ("negative RR", {"rr_per_min": -1}, "rr_per_min"),
        ("negative HR", {"hr_bpm": -5}, "hr_bpm"),
        ("SpO2 over 100", {"spo2_pct": 101}, "spo2_pct"),
        ("systolic beyond a monitor", {"sbp_mmhg": 400}, "sbp_mmhg"),
        ("MOAA/S 6", {"moaas": 6}, "moaas"),
        ("CADSS-6 25", {"cadss6": 25}, "cadss6"),
        ("pain 11", {"pain_nrs": 11}, "pain_nrs"),
        ("temperature 19", {"temp_c": D("19.9")}, "temp_c"),
        ("diastolic not below systolic", {"sbp_mmhg": 80, "dbp_mmhg": 80}, "dbp_mmhg"),
    ],
)
def test_only_the_impossible_is_refused(case, values, field):
    with pytest.raises(ReadingError) as error:
        validate_reading(VitalsReading(**values))
    assert error.value.field == field, case
    assert "outside the possible range" in error.value.message or "below systolic" in error.value.message


@pytest.mark.parametrize(
    ("case", "values", "extreme"),
    [
        ("apnoea", {"rr_per_min": 0}, {"rr_per_min"}),
        ("deep desaturation", {"spo2_pct": 40}, {"spo2_pct"}),
        ("BP 50/30", {"sbp_mmhg": 50, "dbp_mmhg": 30}, set()),
        ("profound bradycardia", {"hr_bpm": 15}, {"hr_bpm"}),
        ("BP 45/20", {"sbp_mmhg": 45, "dbp_mmhg": 20}, {"sbp_mmhg", "dbp_mmhg"}),
        ("hypothermia 29", {"temp_c": D("29.0")}, {"temp_c"}),
        ("ordinary", {"sbp_mmhg": 124, "dbp_mmhg": 78, "hr_bpm": 72, "spo2_pct": 98, "rr_per_min": 14}, set()),
    ],
)
def test_possible_values_are_stored_and_the_extreme_ones_confirmed(case, values, extreme):
    r = VitalsReading(**values)
    assert validate_reading(r) == r, case
    assert set(extreme_values(r)) == extreme, case
    for message in extreme_values(r).values():
        assert "confirm this reading" in message


# === Alerts with the shipped defaults ====================================================


@pytest.mark.parametrize(
    ("case", "vitals", "expected"),
    [
        ("normal", NORMAL, []),
        ("RR 4", reading(rr_per_min=4), [("rr_low_critical", "critical")]),
        ("RR 0", reading(rr_per_min=0), [("rr_low_critical", "critical")]),
        ("RR 9", reading(rr_per_min=9), [("rr_low", "warning")]),
        ("RR 30", reading(rr_per_min=30), [("rr_high", "warning")]),
        ("HR 30", reading(hr_bpm=30), [("hr_low_critical", "critical")]),
        ("HR 15", reading(hr_bpm=15), [("hr_low_critical", "critical")]),
        ("HR 45", reading(hr_bpm=45), [("hr_low", "warning")]),
        ("HR 130", reading(hr_bpm=130), [("hr_high", "warning")]),
        ("HR 180", reading(hr_bpm=180), [("hr_high_critical", "critical")]),
        ("BP 70/40", reading(sbp_mmhg=70, dbp_mmhg=40), [("sbp_low_critical", "critical"), ("dbp_low", "warning")]),
        ("BP 50/30", reading(sbp_mmhg=50, dbp_mmhg=30), [("sbp_low_critical", "critical"), ("dbp_low", "warning")]),
        ("BP 85/55", reading(sbp_mmhg=85, dbp_mmhg=55), [("sbp_low", "warning")]),
        ("BP 181/90", reading(sbp_mmhg=181, dbp_mmhg=90), [("sbp_high", "warning")]),
        ("BP 180/100", reading(sbp_mmhg=180, dbp_mmhg=100), []),
        (
            "BP 230/125",
            reading(sbp_mmhg=230, dbp_mmhg=125),
            [("sbp_high_critical", "critical"), ("dbp_high_critical", "critical")],
        ),
        ("SpO2 93", reading(spo2_pct=93), []),
        ("SpO2 92", reading(spo2_pct=92), [("spo2_low", "warning")]),
        ("SpO2 90", reading(spo2_pct=90), [("spo2_low", "warning")]),
        ("SpO2 89", reading(spo2_pct=89), [("spo2_critical", "critical")]),
        ("SpO2 40", reading(spo2_pct=40), [("spo2_critical", "critical")]),
        ("MOAA/S 1", reading(moaas=1), [("sedation", "warning")]),
        ("MOAA/S 3", reading(moaas=3), [("sedation", "warning")]),
        ("MOAA/S 4", reading(moaas=4), []),
        ("MOAA/S 0", reading(moaas=0), [("loss_of_consciousness", "critical")]),
        ("CADSS-6 13", reading(cadss6=13), [("dissociation", "warning")]),
        ("temperature 38.5", reading(temp_c=D("38.5")), [("temp_high", "warning")]),
    ],
)
def test_shipped_defaults_alert_table(case, vitals, expected):
    assert [(a.code, a.severity) for a in vitals_alerts(vitals)] == expected, case


def test_bp_change_from_baseline_alerts_beyond_the_default_40_percent():
    assert [a.code for a in vitals_alerts(reading(sbp_mmhg=169), baseline=NORMAL)] == ["sbp_change"]
    assert vitals_alerts(reading(sbp_mmhg=168), baseline=NORMAL) == []


def test_a_critical_alert_asks_for_an_action_and_cites_its_source():
    (spo2,) = vitals_alerts(reading(spo2_pct=40))
    assert spo2.message == "CRITICAL: SpO₂ 40% below 90%: pause or stop, airway, call for help"
    assert spo2.source == "[S102]"
    (rr,) = vitals_alerts(reading(rr_per_min=0))
    assert rr.source == rules.CLINIC_POLICY


def test_critical_actions_never_include_continue():
    assert "continue" not in rules.CRITICAL_ALERT_ACTIONS
    assert {"pause", "stop", "airway", "call_for_help"} <= set(rules.CRITICAL_ALERT_ACTIONS)
    assert set(rules.CRITICAL_ALERT_ACTIONS) <= set(rules.ALERT_ACTIONS)


# === Discharge readiness =================================================================


def ready_args(**overrides):
    args = {
        "score_code": "aldrete",
        "score_total": 10,
        "score_taken_at": T0 + timedelta(minutes=1),
        "latest_reading_at": T0,
        "minutes_since_end": 120,
        "min_observation_min": 120,
        "latest_vitals": AWAKE,
        "baseline_vitals": NORMAL,
        "escort_present": True,
        "instructions_given": True,
    }
    return {**args, **overrides}


def not_met(**overrides) -> dict[str, tuple[str, ...]]:
    result = discharge_readiness(**ready_args(**overrides))
    assert result.ready is (not result.reasons_not_ready)
    return {c.code: c.reasons for c in result.criteria if not c.met}


@pytest.mark.parametrize(
    ("case", "overrides", "failing"),
    [
        ("all met", {}, {}),
        ("observation short", {"minutes_since_end": 119}, {"observation": ("Observed 119 of the minimum 120 min",)}),
        ("end not recorded", {"minutes_since_end": None}, {"observation": ("Infusion end time not recorded",)}),
        (
            "BP over the ceiling though within 20% of a high baseline",
            {
                "latest_vitals": dataclasses.replace(AWAKE, sbp_mmhg=213, dbp_mmhg=117),
                "baseline_vitals": reading(sbp_mmhg=180, dbp_mmhg=100),
            },
            {
                "bp": (
                    "Systolic BP 213 mmHg is outside the alert limit 180 mmHg",
                    "Diastolic BP 117 mmHg is outside the alert limit 100 mmHg",
                )
            },
        ),
        (
            "BP beyond 20% of baseline",
            {"latest_vitals": dataclasses.replace(AWAKE, sbp_mmhg=150)},
            {"bp": ("Systolic BP 150 is more than 20% from baseline 120",)},
        ),
        (
            "SpO2 85",
            {"latest_vitals": dataclasses.replace(AWAKE, spo2_pct=85)},
            {"spo2": ("SpO₂ 85% is outside the alert limit 90%",)},
        ),
        (
            "SpO2 92",
            {"latest_vitals": dataclasses.replace(AWAKE, spo2_pct=92)},
            {"spo2": ("SpO₂ 92% is outside the alert limit 92%",)},
        ),
        (
            "RR 6",
            {"latest_vitals": dataclasses.replace(AWAKE, rr_per_min=6)},
            {"rr": ("Respiratory rate 6/min is outside the alert limit 8/min",)},
        ),
        (
            "HR beyond 20%",
            {"latest_vitals": dataclasses.replace(AWAKE, hr_bpm=85)},
            {"hr": ("Heart rate 85 is more than 20% from baseline 70",)},
        ),
        (
            "HR tolerance off",
            {"latest_vitals": dataclasses.replace(AWAKE, hr_bpm=85), "tolerance": DischargeTolerance(hr_percent=None)},
            {},
        ),
        (
            "RR not recorded",
            {"latest_vitals": dataclasses.replace(AWAKE, rr_per_min=None)},
            {"rr": ("Respiratory rate not recorded in recovery",)},
        ),
        (
            "fever",
            {"latest_vitals": dataclasses.replace(AWAKE, temp_c=D("38.4"))},
            {"temp": ("Temperature 38.4 °C is outside the alert limit 38.0 °C",)},
        ),
        (
            "MOAA/S 3",
            {"latest_vitals": dataclasses.replace(AWAKE, moaas=3)},
            {"sedation": ("MOAA/S 3: sedation not resolved (5 needed)",)},
        ),
        (
            "MOAA/S missing",
            {"latest_vitals": dataclasses.replace(AWAKE, moaas=None)},
            {"sedation": ("MOAA/S not recorded in recovery",)},
        ),
        (
            "CADSS-6 20",
            {"latest_vitals": dataclasses.replace(AWAKE, cadss6=20)},
            {"dissociation": ("CADSS-6 20 is above 2",)},
        ),
        (
            "CADSS-6 missing",
            {"latest_vitals": dataclasses.replace(AWAKE, cadss6=None)},
            {"dissociation": ("CADSS-6 not recorded in recovery",)},
        ),
        ("Aldrete 8", {"score_total": 8}, {"score": ("Modified Aldrete 8 is below 9",)}),
        ("PADSS 9", {"score_code": "padss", "score_total": 9}, {}),
        (
            "score missing",
            {"score_total": None, "score_taken_at": None},
            {"score": ("Modified Aldrete score not recorded",)},
        ),
        (
            "score before the latest reading",
            {"score_taken_at": T0 - timedelta(minutes=5)},
            {"score": ("Modified Aldrete was scored before the latest reading: score again",)},
        ),
        (
            "score at the latest reading's time",
            {"score_taken_at": T0},
            {"score": ("Modified Aldrete was scored before the latest reading: score again",)},
        ),
        (
            "adverse event open",
            {"open_adverse_events": ["Laryngospasm"]},
            {"adverse_events": ("Adverse event open: Laryngospasm",)},
        ),
        (
            "alert without an action",
            {"open_alerts": ["CRITICAL: SpO₂ 85% below 90%"]},
            {"alerts": ("Alert without an action: CRITICAL: SpO₂ 85% below 90%",)},
        ),
        ("no escort", {"escort_present": None}, {"escort": ("Responsible adult escort not present",)}),
        ("no instructions", {"instructions_given": False}, {"instructions": ("Discharge instructions not given",)}),
    ],
)
def test_discharge_readiness_table(case, overrides, failing):
    assert not_met(**overrides) == failing, case


def test_the_issue_example_is_not_ready_for_five_reasons():
    """BP 213/117 (baseline 180/100), SpO₂ 85, RR 6, MOAA/S 3, CADSS-6 20, Aldrete 9."""
    latest = VitalsReading(sbp_mmhg=213, dbp_mmhg=117, hr_bpm=80, spo2_pct=85, rr_per_min=6, moaas=3, cadss6=20)
    failing = not_met(
        score_total=9, latest_vitals=latest, baseline_vitals=VitalsReading(sbp_mmhg=180, dbp_mmhg=100, hr_bpm=80)
    )
    assert set(failing) == {"bp", "spo2", "rr", "sedation", "dissociation"}


def test_every_criterion_is_listed_with_its_value():
    result = discharge_readiness(**ready_args())
    assert result.ready
    assert [c.code for c in result.criteria] == [
        "observation",
        "bp",
        "hr",
        "spo2",
        "rr",
        "temp",
        "sedation",
        "dissociation",
        "score",
        "adverse_events",
        "alerts",
        "escort",
        "instructions",
    ]
    values = {c.code: c.value for c in result.criteria}
    assert values["bp"] == "120/80 mmHg"
    assert values["spo2"] == "98%"
    assert values["score"] == "Modified Aldrete 10"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"score_code": "moaas"}, CheckInputError),
        ({"min_observation_min": True}, CheckInputError),
        ({"latest_vitals": reading(spo2_pct=140)}, ReadingError),
        ({"score_taken_at": T0.replace(tzinfo=None)}, CheckInputError),
    ],
)
def test_discharge_readiness_refusals(overrides, error):
    with pytest.raises(error):
        discharge_readiness(**ready_args(**overrides))


def test_latest_values_keep_each_fields_latest():
    rows = [AWAKE, VitalsReading(spo2_pct=86), VitalsReading(moaas=5)]
    assert latest_values(rows) == dataclasses.replace(AWAKE, spo2_pct=86)


# === Property: a sequence of readings ending in a breach is never discharge-ready =======

# One breach of each discharge criterion a reading can carry, as the last reading's values.
BREACHES = [
    {"spo2_pct": st.integers(0, 92)},
    {"rr_per_min": st.integers(0, 9)},
    {"rr_per_min": st.integers(25, 100)},
    {"hr_bpm": st.integers(0, 49)},
    {"hr_bpm": st.integers(121, 350)},
    {"hr_bpm": st.integers(85, 120)},  # within the alert limits, beyond 20 % of baseline 70
    {"sbp_mmhg": st.integers(181, 350), "dbp_mmhg": st.integers(40, 100)},
    {"sbp_mmhg": st.integers(130, 200), "dbp_mmhg": st.integers(101, 129)},
    {"sbp_mmhg": st.integers(60, 89), "dbp_mmhg": st.integers(50, 59)},
    {"moaas": st.integers(0, 4)},
    {"cadss6": st.integers(3, 24)},
    {"temp_c": st.decimals(D("38.1"), D("46"), places=1)},
]


def _reading_strategy():
    return st.builds(
        VitalsReading,
        sbp_mmhg=st.one_of(st.none(), st.integers(100, 140)),
        dbp_mmhg=st.one_of(st.none(), st.integers(65, 90)),
        hr_bpm=st.one_of(st.none(), st.integers(60, 80)),
        spo2_pct=st.one_of(st.none(), st.integers(93, 100)),
        rr_per_min=st.one_of(st.none(), st.integers(10, 24)),
        moaas=st.one_of(st.none(), st.just(5)),
        cadss6=st.one_of(st.none(), st.integers(0, 2)),
    )


@st.composite
def breaching_sequences(draw):
    earlier = draw(st.lists(_reading_strategy(), max_size=8))
    breach = draw(st.sampled_from(BREACHES))
    values = {field: draw(strategy) for field, strategy in breach.items()}
    if "sbp_mmhg" in values and values["sbp_mmhg"] <= values["dbp_mmhg"]:
        values["sbp_mmhg"] = values["dbp_mmhg"] + 1
    return [AWAKE, *earlier, VitalsReading(**values)]


@settings(max_examples=300, deadline=None)
@given(sequence=breaching_sequences(), score=st.integers(9, 10), minutes=st.integers(120, 600))
def test_no_sequence_of_readings_ending_in_a_breach_is_discharge_ready(sequence, score, minutes):
    result = discharge_readiness(
        **ready_args(
            latest_vitals=latest_values(sequence),
            score_total=score,
            minutes_since_end=minutes,
            score_taken_at=T0 + timedelta(minutes=30),
        )
    )
    assert not result.ready
