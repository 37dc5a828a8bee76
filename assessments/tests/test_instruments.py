"""Scoring rules against clinical-reference.md section 3. No database, no Django."""

from __future__ import annotations

import dataclasses
import doctest
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assessments import instruments
from assessments.instruments import (
    CSSRS_RISK_LOINC_ANSWERS,
    INSTRUMENTS,
    Change,
    ScoreResult,
    change,
    cssrs_risk_level,
    cssrs_skip_logic_conflicts,
    discharge_threshold_met,
    immpact_pain_improvement,
    pcl5_cutoff_met,
    pcl5_dsm_rule_met,
    percent_change,
    qids_sr16_total,
    score,
)

NUMERIC_CODES = sorted(code for code, inst in INSTRUMENTS.items() if not inst.answer_keys)
SUMMED_CODES = ["phq9", "gad7", "pcl5", "madrs", "cadss6", "nrs_pain", "aldrete", "padss"]
CSSRS_KEYS = ("q1", "q2", "q3", "q4", "q5", "q6", "q6_past_3_months")


def answers_for_total(code: str, total: int) -> list[int]:
    """Answers for a plainly summed instrument, filled from item 1 up to ``total``."""
    inst = INSTRUMENTS[code]
    answers = []
    for _ in range(inst.item_count):
        value = min(inst.item_max, total)
        answers.append(value)
        total -= value
    assert total == 0, "total out of range for this instrument"
    return answers


def qids_answers(domain_scores: list[int]) -> list[int]:
    """QIDS-SR16 answers with each domain's score on the first item of the domain."""
    answers = [0] * 16
    for domain, value in zip(instruments.QIDS_DOMAINS, domain_scores, strict=True):
        answers[domain[0] - 1] = value
    return answers


def qids_answers_for_total(total: int) -> list[int]:
    domains = []
    for _ in range(9):
        domains.append(min(3, total))
        total -= domains[-1]
    return qids_answers(domains)


def cssrs(**yes: bool) -> dict[str, bool]:
    answers = dict.fromkeys(CSSRS_KEYS, False)
    answers.update(yes)
    return answers


def pcl5(endorsed: dict[int, int]) -> list[int]:
    """PCL-5 answers: 0 everywhere except the given item numbers."""
    return [endorsed.get(n, 0) for n in range(1, 21)]


# --- Band edges, straight from the reference ---------------------------------------------


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "none/minimal"),
        (4, "none/minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_total_falls_in_kroenke_band(total, severity):
    result = score("phq9", answers_for_total("phq9", total))
    assert (result.total, result.severity) == (total, severity)


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_total_falls_in_spitzer_band(total, severity):
    result = score("gad7", answers_for_total("gad7", total))
    assert (result.total, result.severity, result.flags) == (total, severity, set())


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "normal"),
        (6, "normal"),
        (7, "mild"),
        (19, "mild"),
        (20, "moderate"),
        (34, "moderate"),
        (35, "severe"),
        (60, "severe"),
    ],
)
def test_madrs_total_falls_in_snaith_band(total, severity):
    result = score("madrs", answers_for_total("madrs", total))
    assert (result.total, result.severity, result.flags) == (total, severity, set())


@pytest.mark.parametrize(
    ("total", "severity"),
    [
        (0, "none"),
        (5, "none"),
        (6, "mild"),
        (10, "mild"),
        (11, "moderate"),
        (15, "moderate"),
        (16, "severe"),
        (20, "severe"),
        (21, "very severe"),
        (27, "very severe"),
    ],
)
def test_qids_sr16_total_falls_in_published_band(total, severity):
    result = score("qids_sr16", qids_answers_for_total(total))
    assert (result.total, result.severity, result.flags) == (total, severity, set())


@pytest.mark.parametrize(
    ("level", "severity"),
    [(0, "none"), (1, "mild"), (3, "mild"), (4, "moderate"), (6, "moderate"), (7, "severe")] + [(10, "severe")],
)
def test_nrs_pain_level_falls_in_common_band(level, severity):
    result = score("nrs_pain", [level])
    assert (result.total, result.severity, result.flags) == (level, severity, set())


@pytest.mark.parametrize("total", [0, 1, 40, 80])
def test_pcl5_has_no_severity_band(total):
    assert score("pcl5", answers_for_total("pcl5", total)).severity == ""


@pytest.mark.parametrize("total", [0, 12, 24])
def test_cadss6_sums_six_items_without_band_or_flag(total):
    result = score("cadss6", answers_for_total("cadss6", total))
    assert (result.total, result.severity, result.flags) == (total, "", set())


@pytest.mark.parametrize("code", [code for code, inst in INSTRUMENTS.items() if inst.bands])
def test_bands_are_contiguous_and_cover_the_published_range(code):
    inst = INSTRUMENTS[code]
    first = 1 if code == "cssrs_screen" else inst.total_min  # C-SSRS 0 = all "no" = ""
    assert inst.bands[0].low == first
    assert inst.bands[-1].high == inst.total_max
    for lower, upper in zip(inst.bands, inst.bands[1:], strict=False):
        assert upper.low == lower.high + 1


# --- PHQ-9 item 9 ------------------------------------------------------------------------


def test_phq9_item9_zero_raises_no_flag_even_with_severe_total():
    result = score("phq9", [3, 3, 3, 3, 3, 3, 3, 3, 0])
    assert (result.severity, result.flags) == ("severe", set())


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item9_positive_flags_suicidal_ideation(item9):
    result = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, item9])
    assert result.flags == {"suicidal_ideation"}
    assert result.severity == "none/minimal"  # the flag is independent of the band


def test_phq9_contract_example_scores_moderate_with_flag():
    result = score("phq9", [1, 2, 0, 3, 1, 0, 2, 1, 1])
    assert (result.total, result.severity, result.flags) == (11, "moderate", {"suicidal_ideation"})


# --- QIDS-SR16 domains ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "total"),
    [
        ([3, 3, 3, 3] + [0] * 12, 3),  # sleep 1–4: highest item only
        ([1, 2, 0, 1] + [0] * 12, 2),
        ([0] * 5 + [3, 3, 3, 3] + [0] * 7, 3),  # appetite/weight 6–9
        ([0] * 5 + [0, 2, 1, 0] + [0] * 7, 2),
        ([0] * 14 + [2, 3], 3),  # psychomotor 15–16
        ([0] * 14 + [1, 0], 1),
        ([0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0], 6),  # single-item domains add up
        ([3] * 16, 27),
        ([0] * 16, 0),
    ],
)
def test_qids_sr16_scores_the_highest_item_of_each_multi_item_domain(answers, total):
    assert score("qids_sr16", answers).total == total
    assert qids_sr16_total(answers) == total


# --- PCL-5 ----------------------------------------------------------------------------------

DSM_MINIMAL = {1: 2, 6: 2, 8: 2, 9: 2, 15: 2, 16: 2}  # 1 B, 1 C, 2 D, 2 E endorsed


def test_pcl5_dsm_rule_met_flags_provisional_ptsd_below_the_cutoff():
    result = score("pcl5", pcl5(DSM_MINIMAL))
    assert result.total == 12
    assert result.flags == {"provisional_ptsd_dsm"}


@pytest.mark.parametrize(
    ("missing", "endorsed"),
    [
        ("B", {6: 4, 8: 4, 9: 4, 15: 4, 16: 4}),
        ("C", {1: 4, 8: 4, 9: 4, 15: 4, 16: 4}),
        ("D", {1: 4, 6: 4, 8: 4, 15: 4, 16: 4}),
        ("E", {1: 4, 6: 4, 8: 4, 9: 4, 15: 4}),
    ],
)
def test_pcl5_dsm_rule_fails_when_a_cluster_is_short(missing, endorsed):
    assert not pcl5_dsm_rule_met(pcl5(endorsed)), missing
    assert "provisional_ptsd_dsm" not in score("pcl5", pcl5(endorsed)).flags


def test_pcl5_item_rated_one_is_not_endorsed():
    assert not pcl5_dsm_rule_met(pcl5({**DSM_MINIMAL, 1: 1}))
    assert score("pcl5", [1] * 20).flags == set()


def _pcl5_total_without_dsm(total: int) -> list[int]:
    """B items at 4, C at 0 (so the DSM rule can never hold), D/E at 1 up to ``total``."""
    d_and_e = list(range(8, 21))
    return pcl5({1: 4, 2: 4, 3: 4, 4: 4, 5: 4} | {n: 1 for n in d_and_e[: total - 20]})


@pytest.mark.parametrize(("total", "flagged"), [(32, False), (33, True)])
def test_pcl5_total_at_default_cutoff_33_flags_provisional_ptsd(total, flagged):
    result = score("pcl5", _pcl5_total_without_dsm(total))
    assert result.total == total
    assert result.flags == ({"provisional_ptsd_cutoff"} if flagged else set())


def test_pcl5_maximal_answers_raise_both_flags():
    result = score("pcl5", [4] * 20)
    assert result.flags == {"provisional_ptsd_cutoff", "provisional_ptsd_dsm"}


@pytest.mark.parametrize(
    ("total", "cutoff", "met"),
    [(30, 31, False), (31, 31, True), (32, 33, False), (33, 33, True), (80, 33, True)],
)
def test_pcl5_cutoff_is_configurable_within_published_31_to_33(total, cutoff, met):
    assert pcl5_cutoff_met(total, cutoff=cutoff) is met


@pytest.mark.parametrize(("total", "cutoff"), [(81, 33), (-1, 33), (33, 81), (True, 33)])
def test_pcl5_cutoff_refuses_values_outside_the_scale(total, cutoff):
    with pytest.raises(ValueError, match="pcl5"):
        pcl5_cutoff_met(total, cutoff=cutoff)


# --- MOAA/S, Aldrete, PADSS --------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4, 5])
def test_moaas_total_is_the_level_and_only_zero_flags_loss_of_consciousness(level):
    result = score("moaas", [level])
    assert (result.total, result.severity) == (level, "")
    assert result.flags == ({"loss_of_consciousness"} if level == 0 else set())


@pytest.mark.parametrize("code", ["aldrete", "padss"])
@pytest.mark.parametrize(("total", "flagged"), [(0, False), (8, False), (9, True), (10, True)])
def test_discharge_score_at_9_or_more_flags_threshold_met(code, total, flagged):
    result = score(code, answers_for_total(code, total))
    assert (result.total, result.severity) == (total, "")
    assert result.flags == ({"discharge_threshold_met"} if flagged else set())


@pytest.mark.parametrize("code", ["aldrete", "padss"])
@pytest.mark.parametrize(("total", "threshold", "met"), [(8, 8, True), (7, 8, False), (9, 10, False), (10, 10, True)])
def test_discharge_threshold_is_a_clinic_setting(code, total, threshold, met):
    assert discharge_threshold_met(code, total, threshold=threshold) is met


def test_discharge_threshold_defaults_to_9():
    assert discharge_threshold_met("aldrete", 9)
    assert not discharge_threshold_met("padss", 8)


@pytest.mark.parametrize(
    ("code", "total", "threshold", "message"),
    [
        ("phq9", 9, 9, "'phq9' has no discharge threshold"),
        ("aldrete", 11, 9, "aldrete total: 11 is outside 0–10"),
        ("padss", 9, 11, "padss threshold: 11 is outside 0–10"),
        ("padss", 9, -1, "padss threshold: -1 is outside 0–10"),
        ("aldrete", 9.0, 9, "aldrete total: 9.0 is not an integer"),
    ],
)
def test_discharge_threshold_refuses_other_instruments_and_off_scale_values(code, total, threshold, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        discharge_threshold_met(code, total, threshold=threshold)


# --- C-SSRS screener ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "severity", "total"),
    [
        ({}, "", 0),
        ({"q1": True}, "low", 1),
        ({"q2": True}, "low", 1),
        ({"q1": True, "q2": True}, "low", 1),
        ({"q1": True, "q2": True, "q3": True}, "moderate", 2),
        ({"q2": True, "q4": True}, "high", 3),
        ({"q2": True, "q5": True}, "high", 3),
        ({"q2": True, "q3": True, "q4": True, "q5": True}, "high", 3),
        ({"q6": True}, "moderate", 2),
        ({"q1": True, "q6": True}, "moderate", 2),
        ({"q2": True, "q3": True, "q6": True}, "moderate", 2),
        ({"q6": True, "q6_past_3_months": True}, "high", 3),
        ({"q1": True, "q6": True, "q6_past_3_months": True}, "high", 3),
    ],
)
def test_cssrs_screen_triage_follows_the_screener_ladder(yes, severity, total):
    result = score("cssrs_screen", cssrs(**yes))
    assert (result.severity, result.total, result.flags) == (severity, total, set())
    assert cssrs_risk_level(cssrs(**yes)) == severity
    assert cssrs_skip_logic_conflicts(cssrs(**yes)) == ()


@pytest.mark.parametrize(
    ("yes", "severity", "conflicts"),
    [
        ({"q3": True}, "moderate", ("q3",)),
        ({"q1": True, "q4": True}, "high", ("q4",)),
        ({"q5": True}, "high", ("q5",)),
        ({"q3": True, "q4": True, "q5": True}, "high", ("q3", "q4", "q5")),
        ({"q6_past_3_months": True}, "high", ("q6_past_3_months",)),
    ],
)
def test_cssrs_yes_to_a_question_skip_logic_would_not_ask_still_counts(yes, severity, conflicts):
    assert score("cssrs_screen", cssrs(**yes)).severity == severity
    assert cssrs_skip_logic_conflicts(cssrs(**yes)) == conflicts


def test_cssrs_risk_levels_map_to_loinc_93374_7_answers():
    assert INSTRUMENTS["cssrs_screen"].loinc_total == "93374-7"
    assert CSSRS_RISK_LOINC_ANSWERS == {
        "low": "LA9194-7",
        "moderate": "LA6751-7",
        "high": "LA9193-9",
    }
    assert set(CSSRS_RISK_LOINC_ANSWERS) == set(INSTRUMENTS["cssrs_screen"].severity_names)


@pytest.mark.parametrize("key", CSSRS_KEYS)
def test_cssrs_missing_key_is_refused_by_name(key):
    answers = cssrs()
    del answers[key]
    with pytest.raises(ValueError, match=f"cssrs_screen item {key}: missing"):
        score("cssrs_screen", answers)


@pytest.mark.parametrize("extra", ["q7", "Q1", "q6_lifetime"])
def test_cssrs_unexpected_key_is_refused_by_name(extra):
    with pytest.raises(ValueError, match=f"cssrs_screen item '{extra}': unexpected"):
        score("cssrs_screen", cssrs() | {extra: False})


@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0])
def test_cssrs_non_bool_answer_is_refused_by_name(value):
    with pytest.raises(ValueError, match=r"cssrs_screen item q4: .* is not a bool"):
        score("cssrs_screen", cssrs() | {"q4": value})


@pytest.mark.parametrize("answers", [[False] * 7, None, "q1"])
def test_cssrs_answers_must_be_a_mapping(answers):
    with pytest.raises(ValueError, match="cssrs_screen answers must be a mapping"):
        score("cssrs_screen", answers)


# --- Validation of numeric instruments -----------------------------------------------------


def test_out_of_range_message_names_item_and_range():
    with pytest.raises(ValueError, match=r"^phq9 item 3: 4 is outside 0–3$"):
        score("phq9", [0, 0, 4, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("code", NUMERIC_CODES)
@pytest.mark.parametrize("where", ["low", "high"])
def test_out_of_range_answer_is_refused(code, where):
    inst = INSTRUMENTS[code]
    answers = [inst.item_min] * inst.item_count
    answers[-1] = inst.item_min - 1 if where == "low" else inst.item_max + 1
    with pytest.raises(ValueError, match=rf"^{code} item {inst.item_count}: -?\d+ is outside"):
        score(code, answers)


@pytest.mark.parametrize("code", NUMERIC_CODES)
@pytest.mark.parametrize("value", [True, False, 1.0, 0.0, "1", None, Decimal(1)])
def test_non_integer_answer_is_refused(code, value):
    inst = INSTRUMENTS[code]
    answers = [inst.item_min] * inst.item_count
    answers[0] = value
    with pytest.raises(ValueError, match=rf"^{code} item 1: .* is not an integer$"):
        score(code, answers)


@pytest.mark.parametrize("code", NUMERIC_CODES)
def test_too_few_answers_names_the_first_missing_item(code):
    n = INSTRUMENTS[code].item_count
    with pytest.raises(ValueError, match=rf"^{code} item {n}: missing answer"):
        score(code, [0] * (n - 1))


@pytest.mark.parametrize("code", NUMERIC_CODES)
def test_too_many_answers_names_the_first_extra_item(code):
    n = INSTRUMENTS[code].item_count
    with pytest.raises(ValueError, match=rf"^{code} item {n + 1}: unexpected answer"):
        score(code, [0] * (n + 1))


def test_empty_answers_are_refused():
    with pytest.raises(ValueError, match="phq9 item 1: missing answer"):
        score("phq9", [])


@pytest.mark.parametrize("answers", ["000000000", b"000000000", None, 0, {str(n): 0 for n in range(9)}, {0}])
def test_numeric_answers_must_be_a_list(answers):
    with pytest.raises(ValueError, match="phq9 answers must be a list of 9 integers"):
        score("phq9", answers)


def test_tuple_of_answers_is_accepted():
    assert score("gad7", (1, 1, 1, 1, 1, 1, 1)).total == 7


@pytest.mark.parametrize("code", ["PHQ9", "phq-9", "bdi", "", None, "bpi_sf"])
def test_unknown_instrument_code_is_refused(code):
    with pytest.raises(ValueError, match="unknown instrument code"):
        score(code, [0] * 9)


# --- Percent change, response, remission --------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        (10, 5, Decimal("-50.0")),
        (27, 14, Decimal("-48.1")),
        (1000, 501, Decimal("-49.9")),
        (16, 15, Decimal("-6.3")),  # -6.25: half-up rounds away from zero
        (16, 17, Decimal("6.3")),
        (10, 10, Decimal("0.0")),
        (10, 20, Decimal("100.0")),
        (3, 2, Decimal("-33.3")),
        (Decimal("10"), Decimal("7.01"), Decimal("-29.9")),
    ],
)
def test_percent_change_is_signed_and_rounded_half_up_to_a_tenth(baseline, current, expected):
    result = percent_change(baseline, current)
    assert result == expected
    assert result.as_tuple().exponent == -1


@pytest.mark.parametrize("current", [0, 5])
def test_percent_change_from_zero_baseline_is_none(current):
    assert percent_change(0, current) is None


@pytest.mark.parametrize(
    ("baseline", "current", "message"),
    [
        (10.0, 5, "baseline: 10.0 is not an integer or Decimal"),
        (10, 5.0, "current: 5.0 is not an integer or Decimal"),
        (True, 0, "baseline: True is not an integer or Decimal"),
        ("10", 5, "baseline: '10' is not an integer or Decimal"),
        (10, None, "current: None is not an integer or Decimal"),
        (-1, 0, "baseline: -1 is not a finite score ≥ 0"),
        (Decimal("NaN"), 0, "baseline: Decimal('NaN') is not a finite score ≥ 0"),
    ],
)
def test_percent_change_refuses_floats_bools_strings_and_negatives(baseline, current, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        percent_change(baseline, current)


@pytest.mark.parametrize(
    ("baseline", "current", "response", "remission"),
    [
        (10, 5, True, False),  # exactly 50%; 5 is not <5
        (10, 4, True, True),
        (10, 6, False, False),
        (26, 13, True, False),  # exactly 50%
        (27, 14, False, False),  # 48.1%
        (20, 4, True, True),
        (12, 20, False, False),  # worse
    ],
)
def test_phq9_response_is_half_reduction_and_remission_below_5(baseline, current, response, remission):
    result = change("phq9", baseline, current)
    assert (result.response, result.remission) == (response, remission)


@pytest.mark.parametrize(("baseline", "applicable"), [(9, False), (10, True), (5, False), (0, False)])
def test_phq9_response_and_remission_apply_only_from_baseline_above_9(baseline, applicable):
    result = change("phq9", baseline, 0)
    if applicable:
        assert (result.response, result.remission) == (True, True)
    else:
        assert (result.response, result.remission) == (None, None)


@pytest.mark.parametrize(
    ("baseline", "current", "response", "remission"),
    [
        (30, 15, True, False),
        (30, 16, False, False),
        (30, 10, True, True),
        (30, 11, True, False),
        (20, 10, True, True),
    ],
)
def test_madrs_response_is_half_reduction_and_remission_at_most_10(baseline, current, response, remission):
    result = change("madrs", baseline, current)
    assert (result.response, result.remission) == (response, remission)


@pytest.mark.parametrize(("current", "remission"), [(12, True), (13, False)])
def test_madrs_remission_threshold_is_configurable(current, remission):
    assert change("madrs", 30, current, remission_threshold=12).remission is remission


@pytest.mark.parametrize(("current", "remission"), [(0, True), (5, True), (6, False)])
def test_qids_sr16_remission_at_most_5_and_no_response_rule(current, remission):
    result = change("qids_sr16", 20, current)
    assert (result.remission, result.response) == (remission, None)


def test_gad7_has_no_remission_unless_a_threshold_is_given():
    assert change("gad7", 15, 0).remission is None
    assert change("gad7", 15, 4, remission_threshold=4).remission is True
    assert change("gad7", 15, 5, remission_threshold=4).remission is False
    assert change("gad7", 15, 0).response is None


@pytest.mark.parametrize("code", ["pcl5", "cadss6", "nrs_pain"])
def test_scales_without_published_rules_report_not_applicable(code):
    result = change(code, 10, 0)
    assert (result.response, result.remission) == (None, None)
    assert result.percent_change == Decimal("-100.0")


def test_change_carries_totals_and_percent_change():
    assert change("phq9", 20, 8) == Change(
        code="phq9",
        baseline_total=20,
        current_total=8,
        percent_change=Decimal("-60.0"),
        response=True,
        remission=False,
        pain_improvement="",
    )


@pytest.mark.parametrize(
    ("baseline", "current", "improvement"),
    [(10, 8, ""), (10, 7, "moderate"), (10, 6, "moderate"), (10, 5, "substantial")]
    + [(10, 0, "substantial"), (0, 0, ""), (3, 4, "")],
)
def test_nrs_pain_change_reports_immpact_improvement(baseline, current, improvement):
    assert change("nrs_pain", baseline, current).pain_improvement == improvement


@pytest.mark.parametrize(
    ("current", "improvement"),
    [
        (Decimal("7.01"), ""),  # 29.9%
        (Decimal("7"), "moderate"),  # 30%
        (Decimal("5.01"), "moderate"),  # 49.9%
        (Decimal("5"), "substantial"),  # 50%
    ],
)
def test_immpact_thresholds_compare_exactly_at_29_9_30_and_50(current, improvement):
    assert immpact_pain_improvement(Decimal(10), current) == improvement


def test_pain_improvement_is_empty_for_other_instruments():
    assert change("phq9", 20, 0).pain_improvement == ""


@pytest.mark.parametrize("code", ["aldrete", "padss", "moaas", "cssrs_screen"])
def test_change_is_refused_for_readiness_and_triage_scores(code):
    with pytest.raises(ValueError, match="change is not defined"):
        change(code, 1, 0)


@pytest.mark.parametrize(
    ("code", "baseline", "current", "kwargs", "message"),
    [
        ("phq9", 28, 0, {}, "phq9 baseline_total: 28 is outside 0–27"),
        ("phq9", 10, -1, {}, "phq9 current_total: -1 is outside 0–27"),
        ("phq9", True, 0, {}, "phq9 baseline_total: True is not an integer"),
        ("phq9", 10, 5.0, {}, "phq9 current_total: 5.0 is not an integer"),
        ("madrs", 30, 10, {"remission_threshold": 61}, "madrs remission_threshold: 61 is outside"),
        ("bdi", 10, 5, {}, "unknown instrument code 'bdi'"),
    ],
)
def test_change_refuses_off_scale_totals_and_unknown_codes(code, baseline, current, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        change(code, baseline, current, **kwargs)


# --- Registry --------------------------------------------------------------------------------

CONFIRMED_LOINC = {
    "phq9": ("44249-1", "44261-6"),
    "gad7": ("69737-5", "70274-6"),
    "nrs_pain": ("", "72514-3"),
    "cssrs_screen": ("", "93374-7"),
}


@pytest.mark.parametrize("code", sorted(INSTRUMENTS))
def test_instrument_definition_is_consistent(code):
    inst = INSTRUMENTS[code]
    assert inst.code == code
    assert inst.version
    assert re.fullmatch(r"(\[S\d+b?\])+", inst.source)
    assert len(inst.items) == inst.item_count
    assert inst.loinc_items == () or len(inst.loinc_items) == inst.item_count
    options = inst.item_max - inst.item_min + 1
    assert inst.answer_labels == () or len(inst.answer_labels) == options
    assert inst.item_answer_labels == () or len(inst.item_answer_labels) == inst.item_count
    assert all(len(labels) == options for labels in inst.item_answer_labels)
    assert (inst.loinc_panel, inst.loinc_total) == CONFIRMED_LOINC.get(code, ("", ""))


@pytest.mark.parametrize("code", SUMMED_CODES)
def test_summed_instrument_range_is_item_count_times_item_max(code):
    inst = INSTRUMENTS[code]
    assert (inst.total_min, inst.total_max) == (0, inst.item_count * inst.item_max)


def test_confirmed_item_loinc_codes_are_recorded():
    assert INSTRUMENTS["phq9"].loinc_items[8] == "44260-8"
    assert INSTRUMENTS["phq9"].loinc_items[0] == "44250-9"
    assert INSTRUMENTS["phq9"].loinc_answers == ("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9")
    assert INSTRUMENTS["phq9"].unscored_item_loinc == "69722-7"
    assert INSTRUMENTS["gad7"].loinc_items == (
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
    )


def test_licensed_instruments_carry_short_labels_only():
    verbatim = {code for code, inst in INSTRUMENTS.items() if inst.items_verbatim}
    assert verbatim == {"phq9", "gad7", "pcl5", "cssrs_screen"}


def test_padss_bleeding_not_applicable_scores_the_minimal_anchor():
    assert instruments.PADSS_BLEEDING_NOT_APPLICABLE == 2
    assert "no surgical site" in INSTRUMENTS["padss"].item_answer_labels[3][2]
    result = score("padss", [2, 2, 2, instruments.PADSS_BLEEDING_NOT_APPLICABLE, 2])
    assert (result.total, result.flags) == (10, {"discharge_threshold_met"})


def test_instrument_and_result_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        INSTRUMENTS["phq9"].item_max = 4
    result = score("phq9", [0] * 9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.total = 3
    assert isinstance(result, ScoreResult)
    assert result.flags == set()


def test_module_docstring_example_holds():
    assert doctest.testmod(instruments).failed == 0


def test_module_imports_without_django():
    code = "import sys, assessments.instruments; sys.exit(any(m.split('.')[0] == 'django' for m in sys.modules))"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603


# --- Properties --------------------------------------------------------------------------


@st.composite
def valid_answers(draw):
    code = draw(st.sampled_from(NUMERIC_CODES))
    inst = INSTRUMENTS[code]
    item = st.integers(inst.item_min, inst.item_max)
    answers = draw(st.lists(item, min_size=inst.item_count, max_size=inst.item_count))
    return code, answers


@given(valid_answers())
def test_any_valid_answers_score_within_range_and_declared_bands(case):
    code, answers = case
    inst = INSTRUMENTS[code]
    result = score(code, answers)
    assert type(result.total) is int
    assert inst.total_min <= result.total <= inst.total_max
    if inst.bands:
        assert result.severity in inst.severity_names
    else:
        assert result.severity == ""


@given(valid_answers(), st.data())
def test_raising_one_answer_never_lowers_the_total(case, data):
    code, answers = case
    inst = INSTRUMENTS[code]
    index = data.draw(st.integers(0, inst.item_count - 1))
    raised = list(answers)
    raised[index] = data.draw(st.integers(answers[index], inst.item_max))
    assert score(code, raised).total >= score(code, answers).total


@given(st.fixed_dictionaries({key: st.booleans() for key in CSSRS_KEYS}))
def test_any_cssrs_answers_give_a_declared_risk_level(answers):
    result = score("cssrs_screen", answers)
    assert result.severity in ("", "low", "moderate", "high")
    assert (result.severity == "") == (not any(answers.values()))
    assert result.severity == ("", "low", "moderate", "high")[result.total]
