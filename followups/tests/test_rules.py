"""The pure follow-up rules, as tables (no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from followups import rules


@pytest.mark.parametrize(
    ("baseline", "current", "fraction", "had_response", "suggest"),
    [
        (20, 11, 50, True, True),  # 11 > 10
        (20, 10, 50, True, False),  # exactly at the threshold: not above
        (20, 9, 50, True, False),
        (21, 11, 50, True, True),  # threshold 10.5: 11 above
        (21, 10, 50, True, False),
        (20, 15, 75, True, False),  # 15 = 75 % of 20
        (20, 16, 75, True, True),
        (10, 6, 50, True, True),  # baseline exactly at the NQF minimum (>9)
        (9, 9, 50, True, False),  # baseline ≤9: rule not applicable [S37]
        (20, 18, 50, False, False),  # never responded: not a relapse
        (None, 18, 50, True, False),
        (20, None, 50, True, False),
    ],
)
def test_booster_rule_fires_only_strictly_above_the_fraction_of_baseline(
    baseline, current, fraction, had_response, suggest
):
    advice = rules.booster_advice(
        baseline_total=baseline, current_total=current, fraction_percent=fraction, had_response=had_response
    )
    assert advice.suggest is suggest


@pytest.mark.parametrize("fraction", [0, 101, -5])
def test_booster_rule_refuses_a_fraction_outside_1_to_100(fraction):
    with pytest.raises(ValueError, match="fraction_percent"):
        rules.booster_advice(baseline_total=20, current_total=15, fraction_percent=fraction)


def test_booster_default_is_labelled_clinic_policy_tied_to_the_response_rule():
    assert rules.BOOSTER_FRACTION_PERCENT_DEFAULT == 50
    assert rules.BOOSTER_MIN_BASELINE_DEFAULT == 10


@pytest.mark.parametrize(
    ("code", "band", "flags", "reason"),
    [
        ("phq9", "moderate", ["suicidal_ideation"], rules.ALERT_PHQ9_ITEM9),
        ("phq9", "severe", [], ""),
        ("cssrs_screen", "high", [], rules.ALERT_CSSRS_HIGH),
        ("cssrs_screen", "moderate", [], rules.ALERT_CSSRS_MODERATE),
        ("cssrs_screen", "low", [], ""),
        ("cssrs_screen", "", [], ""),
        ("gad7", "severe", [], ""),
    ],
)
def test_safety_alert_reason(code, band, flags, reason):
    assert rules.safety_alert_reason(code, band=band, flags=flags) == reason


MADRS = [2] * 9
QIDS_BEFORE, QIDS_AFTER = [1] * 11, [1] * 4


@pytest.mark.parametrize(
    ("code", "answers", "thresholds", "reason"),
    [
        ("madrs", [*MADRS, 0], rules.SafetyThresholds(), ""),
        ("madrs", [*MADRS, 1], rules.SafetyThresholds(), rules.ALERT_MADRS_ITEM10),  # default: any answer > 0
        ("madrs", [*MADRS, 6], rules.SafetyThresholds(), rules.ALERT_MADRS_ITEM10),
        ("madrs", [*MADRS, 3], rules.SafetyThresholds(madrs_item10_min=4), ""),
        ("madrs", [*MADRS, 4], rules.SafetyThresholds(madrs_item10_min=4), rules.ALERT_MADRS_ITEM10),  # at = alerts
        ("qids_sr16", [*QIDS_BEFORE, 0, *QIDS_AFTER], rules.SafetyThresholds(), ""),
        ("qids_sr16", [*QIDS_BEFORE, 1, *QIDS_AFTER], rules.SafetyThresholds(), rules.ALERT_QIDS_ITEM12),
        ("qids_sr16", [*QIDS_BEFORE, 2, *QIDS_AFTER], rules.SafetyThresholds(qids_item12_min=3), ""),
        (
            "qids_sr16",
            [*QIDS_BEFORE, 3, *QIDS_AFTER],
            rules.SafetyThresholds(qids_item12_min=3),
            rules.ALERT_QIDS_ITEM12,
        ),
        ("qids_sr16", [3] * 16, rules.SafetyThresholds(madrs_item10_min=6), rules.ALERT_QIDS_ITEM12),  # its own cut-off
        ("madrs", [], rules.SafetyThresholds(), ""),  # no answers kept: nothing to read
        ("gad7", [3] * 7, rules.SafetyThresholds(), ""),
    ],
)
def test_suicide_items_alert_at_or_above_the_clinic_threshold(code, answers, thresholds, reason):
    assert rules.safety_alert_reason(code, band="", flags=[], answers=answers, thresholds=thresholds) == reason


def test_suicide_item_defaults_are_clinic_policy_within_the_item_range():
    assert rules.MADRS_ITEM10_ALERT_MIN_DEFAULT == 1
    assert rules.MADRS_ITEM10_ALERT_RANGE == (1, 6)
    assert rules.QIDS_ITEM12_ALERT_MIN_DEFAULT == 1
    assert rules.QIDS_ITEM12_ALERT_RANGE == (1, 3)


CREATED = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("minutes_waited", "level", "after", "expected"),
    [
        (0, 0, 30, (0, False)),
        (29, 0, 30, (0, False)),
        (30, 0, 30, (1, True)),  # at the limit: the other clinicians
        (59, 1, 30, (1, False)),  # already there: nothing to send
        (60, 1, 30, (2, True)),  # twice the limit: the administrators too
        (60, 0, 30, (2, True)),  # a missed run jumps straight to the level reached
        (500, 2, 30, (2, False)),  # the top level is final
        (10, 0, 5, (2, True)),
    ],
)
def test_escalation_level_follows_the_time_unacknowledged(minutes_waited, level, after, expected):
    step = rules.escalation_due(
        created_at=CREATED, now=CREATED + timedelta(minutes=minutes_waited), level=level, after_minutes=after
    )
    assert (step.level, step.due) == expected


@pytest.mark.parametrize("after", [0, 4, 1441])
def test_escalation_time_outside_its_bounds_is_refused(after):
    with pytest.raises(ValueError, match="after_minutes"):
        rules.escalation_due(created_at=CREATED, now=CREATED, level=0, after_minutes=after)


NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires", "exchanged", "revoked", "failures", "problem"),
    [
        (NOW + timedelta(hours=1), None, None, 0, ""),
        (NOW, None, None, 0, "expired"),  # expiry instant itself is expired
        (NOW - timedelta(seconds=1), None, None, 0, "expired"),
        (NOW + timedelta(hours=1), NOW, None, 0, "used"),
        (NOW + timedelta(hours=1), None, NOW, 0, "revoked"),
        (NOW + timedelta(hours=1), None, None, 4, ""),
        (NOW + timedelta(hours=1), None, None, 5, "locked"),
    ],
)
def test_link_problem(expires, exchanged, revoked, failures, problem):
    assert (
        rules.link_problem(
            now=NOW,
            expires_at=expires,
            exchanged_at=exchanged,
            revoked_at=revoked,
            dob_failures=failures,
            max_dob_failures=5,
        )
        == problem
    )


@pytest.mark.parametrize(
    ("codes", "ok"),
    [(["phq9"], True), (["phq9", "gad7"], True), ([], False), (["madrs"], False), (["phq9", "phq9"], False)],
)
def test_only_patient_reported_instruments_can_be_sent(codes, ok):
    assert rules.self_report_codes_valid(codes) is ok


@pytest.mark.parametrize(
    ("start", "signed", "state"),
    [
        (date(2026, 5, 1), False, "due"),
        (date(2026, 4, 30), False, "overdue"),
        (date(2026, 5, 2), False, "upcoming"),
        (date(2026, 4, 30), True, "done"),
    ],
)
def test_follow_up_state(start, signed, state):
    assert rules.follow_up_state(start=start, today=date(2026, 5, 1), has_signed_note=signed) == state


@pytest.mark.parametrize(("prev", "latest", "worse"), [(5, 10, True), (5, 9, False), (None, 20, False), (10, 5, False)])
def test_worsened_needs_a_rise_of_at_least_the_configured_points(prev, latest, worse):
    assert rules.worsened(previous_total=prev, latest_total=latest, min_rise=5) is worse
