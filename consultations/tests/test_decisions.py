"""Pure sign-off rules and the plan lifecycle table. No database."""

from __future__ import annotations

from datetime import date

import pytest

from consultations import decisions, rules
from consultations.choices import PlanStatus
from consultations.lifecycle import PLAN_TRANSITIONS, next_statuses, plan_transition_problem
from core import hashing

TODAY = date(2026, 11, 2)


def _result(*findings: rules.Finding) -> rules.ScreeningResult:
    return rules.ScreeningResult(
        outcome=rules.outcome_of(findings),
        findings=findings,
        missing_facts=(),
        screened_on=TODAY,
        thresholds=rules.DEFAULT_THRESHOLDS,
    )


def _finding(rule_id: str, klass: rules.Klass) -> rules.Finding:
    return rules.Finding(rule_id, klass, "fact", "message", "[S28] source")


CONSENTED = {"consent_problem": "", "missing_instruments": []}


@pytest.mark.parametrize(
    ("findings", "decision", "justified", "problem_keys"),
    [
        ((), "eligible", {}, set()),
        ((), "eligible_override", {}, {"decision"}),
        ((_finding("CI-04", rules.Klass.ABSOLUTE),), "eligible", {}, {"decision"}),
        ((_finding("CI-04", rules.Klass.ABSOLUTE),), "eligible_override", {"CI-04": "x"}, {"decision"}),
        ((_finding("CI-04", rules.Klass.ABSOLUTE),), "ineligible", {}, set()),
        ((_finding("CI-05", rules.Klass.RELATIVE),), "eligible", {}, {"decision"}),
        ((_finding("CI-05", rules.Klass.RELATIVE),), "eligible_override", {}, {"justify_CI_05"}),
        ((_finding("CI-05", rules.Klass.RELATIVE),), "eligible_override", {"CI-05": "   "}, {"justify_CI_05"}),
        ((_finding("CI-05", rules.Klass.RELATIVE),), "eligible_override", {"CI-05": "ok"}, set()),
        (
            (_finding("CI-15", rules.Klass.INTERACTION), _finding("PD-03", rules.Klass.MONITOR)),
            "eligible_override",
            {"CI-15": "ok"},
            {"justify_PD_03"},
        ),
        ((), "", {}, {"decision"}),
        ((), "maybe", {}, {"decision"}),
    ],
)
def test_decision_problems(findings, decision, justified, problem_keys):
    problems = decisions.decision_problems(
        result=_result(*findings), decision=decision, justifications=justified, note="", **CONSENTED
    )
    assert set(problems) == problem_keys


def test_declining_needs_a_note_unless_an_absolute_finding_decides_it():
    args = {"justifications": {}, **CONSENTED}
    assert "decision_note" in decisions.decision_problems(result=_result(), decision="ineligible", note="", **args)
    absolute = _result(_finding("CI-01", rules.Klass.ABSOLUTE))
    assert decisions.decision_problems(result=absolute, decision="ineligible", note="", **args) == {}


def test_declining_needs_no_consent_but_proceeding_does():
    no_consent = {"consent_problem": "the consent is not signed.", "missing_instruments": []}
    args = {"justifications": {}, "note": "Declined", **no_consent}
    assert decisions.decision_problems(result=_result(), decision="ineligible", **args) == {}
    problems = decisions.decision_problems(result=_result(), decision="eligible", **args)
    assert problems == {"consent": "Before proceeding: the consent is not signed."}


@pytest.mark.parametrize(
    ("indications", "item9", "expected"),
    [
        (["mdd"], 0, ("phq9", "gad7")),
        (["mdd"], None, ("phq9", "gad7")),
        (["ptsd"], 0, ("phq9", "gad7", "pcl5")),
        (["fibromyalgia"], 0, ("phq9", "gad7", "nrs_pain")),
        (["crps", "ptsd"], 1, ("phq9", "gad7", "pcl5", "nrs_pain", "cssrs_screen")),
        ([], 3, ("phq9", "gad7", "cssrs_screen")),
    ],
)
def test_baseline_instruments_follow_the_indications_and_item_9(indications, item9, expected):
    assert decisions.required_instruments(indications, item9) == expected


def test_the_content_hash_is_canonical():
    a = {"b": [1, 2], "a": {"y": "ü", "x": None}, "d": date(2026, 1, 2)}
    b = {"a": {"x": None, "y": "ü"}, "d": "2026-01-02", "b": [1, 2]}
    assert hashing.content_sha256(a) == hashing.content_sha256(b)
    assert hashing.content_sha256(a) != hashing.content_sha256({**a, "b": [2, 1]})


def test_every_plan_status_has_a_row_and_discontinued_is_final():
    assert set(PLAN_TRANSITIONS) == set(PlanStatus)
    assert PLAN_TRANSITIONS[PlanStatus.DISCONTINUED] == frozenset()
    assert all(PlanStatus.DISCONTINUED in targets for s, targets in PLAN_TRANSITIONS.items() if s != "discontinued")


@pytest.mark.parametrize(
    ("current", "target", "reason", "refused"),
    [
        ("draft", "active", "", False),
        ("draft", "completed", "", True),
        ("active", "on_hold", "", True),
        ("active", "on_hold", "travel", False),
        ("active", "completed", "", False),
        ("completed", "maintenance", "", False),
        ("maintenance", "active", "", True),
        ("discontinued", "active", "", True),
        ("active", "discontinued", " ", True),
    ],
)
def test_plan_transitions(current, target, reason, refused):
    assert (plan_transition_problem(current=current, target=target, reason=reason) is not None) is refused


def test_next_statuses_are_labelled_buttons():
    assert next_statuses("draft") == [("active", "Activate"), ("discontinued", "Discontinue")]
