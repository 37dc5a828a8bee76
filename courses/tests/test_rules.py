"""The course's pure rules, as tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from courses import rules

NY = ZoneInfo("America/New_York")
START = datetime(2027, 3, 4, 15, 0, tzinfo=UTC)  # Thu 4 Mar, 10:00 AM in New York
T = rules.Thresholds()


def test_the_defaults_are_the_settings_table():
    assert {s.name: s.default for s in rules.SETTINGS} == vars(T)
    for s in rules.SETTINGS:
        assert s.low <= s.default <= s.high
        assert s.source == rules.CLINIC_POLICY  # the reference gives none of these numbers


@pytest.mark.parametrize(
    ("others_hours", "min_hours", "refused"),
    [
        ([], 20, False),
        ([-19.9], 20, True),
        ([-20], 20, False),  # exactly the minimum is allowed
        ([+20], 20, False),
        ([+5], 20, True),  # a booking already made after it counts too
        ([-48, -200], 72, True),
        ([-72], 72, False),
        ([-0.5, +30], 20, True),
    ],
)
def test_the_interval_between_infusions(others_hours, min_hours, refused):
    others = [START + timedelta(hours=h) for h in others_hours]
    found = rules.interval_refusal(start=START, others=others, min_hours=min_hours, whose="clinic policy", zone=NY)
    assert (found is not None) is refused
    if refused:
        assert f"at least {min_hours} hours apart (clinic policy)" in found


def test_the_refusal_names_the_nearest_infusion_in_the_clinic_s_words():
    others = [START - timedelta(hours=16), START - timedelta(hours=2)]
    found = rules.interval_refusal(start=START, others=others, min_hours=20, whose="clinic policy", zone=NY)
    assert found.startswith("Too close to this patient's infusion on Thu 4 Mar at 8:00 AM (after it)")


@pytest.mark.parametrize(
    ("policy", "order", "expected"),
    [(20, None, (20, "clinic policy")), (20, 12, (20, "clinic policy")), (20, 72, (72, "the standing order"))],
)
def test_the_longer_of_the_clinic_s_and_the_order_s_minimum_applies(policy, order, expected):
    assert rules.min_interval(policy_hours=policy, order_hours=order) == expected


@pytest.mark.parametrize(
    ("planned", "given", "booked", "refused"),
    [(6, 0, 0, False), (6, 5, 0, False), (6, 5, 1, True), (6, 6, 0, True), (6, 2, 3, False), (1, 0, 1, True)],
)
def test_the_planned_number_of_infusions_at_booking(planned, given, booked, refused):
    found = rules.count_refusal(planned=planned, given=given, booked=booked, order_number=2)
    assert (found is not None) is refused
    if refused:
        assert "needs a new order from the prescriber" in found


@pytest.mark.parametrize(("planned", "given", "refused"), [(6, 5, False), (6, 6, True), (6, 7, True)])
def test_the_planned_number_of_infusions_at_check_in(planned, given, refused):
    assert (rules.check_in_count_refusal(planned=planned, given=given, order_number=1) is not None) is refused


def _exposure(infusions_90d=0, mg_90d="0"):
    return rules.Exposure(
        total_mg=Decimal(mg_90d),
        total_mg_per_kg=Decimal(0),
        infusions_30d=0,
        infusions_90d=infusions_90d,
        infusions_365d=infusions_90d,
        infusions_lifetime=infusions_90d,
        mg_90d=Decimal(mg_90d),
        mg_365d=Decimal(mg_90d),
        last_given_at=None,
    )


TODAY = date(2027, 3, 4)


@pytest.mark.parametrize(
    ("infusions_90d", "mg_90d", "last_lft_days_ago", "expected"),
    [
        (11, "999.99", None, None),  # below both thresholds
        (12, "0", None, "Baseline"),  # frequent use reached
        (0, "1000", None, "Baseline"),  # high-dose use reached
        (12, "0", 89, None),  # tested within the follow-up interval
        (12, "0", 90, "Follow-up"),
        (11, "999.99", 400, None),  # below the thresholds, no follow-up either
    ],
)
def test_the_liver_function_test_prompts_at_their_thresholds(infusions_90d, mg_90d, last_lft_days_ago, expected):
    last = TODAY - timedelta(days=last_lft_days_ago) if last_lft_days_ago is not None else None
    found = rules.lft_prompt(exposure=_exposure(infusions_90d, mg_90d), last_lft_on=last, t=T, today=TODAY)
    if expected is None:
        assert found is None
    else:
        assert found.startswith(expected)
        assert "[S11]" in found


@pytest.mark.parametrize(("number", "due"), [(1, False), (6, False), (7, True), (30, True)])
def test_the_urinary_screen_is_due_from_the_set_infusion(number, due):
    assert rules.urinary_screen_due(infusion_number=number, t=T) is due


@pytest.mark.parametrize(("alt", "ast", "abnormal"), [(40, 40, 0), (41, 40, 1), (40, 41, 1), (120, 90, 2), (0, 0, 0)])
def test_liver_values_above_the_laboratory_s_upper_limit_are_abnormal(alt, ast, abnormal):
    assert len(rules.lft_abnormal(alt=alt, ast=ast, alt_uln=40, ast_uln=40)) == abnormal


@pytest.mark.parametrize(("last_days_ago", "after_gap"), [(None, False), (179, False), (180, True), (400, True)])
def test_a_booster_after_the_maintenance_gap(last_days_ago, after_gap):
    last = START - timedelta(days=last_days_ago) if last_days_ago is not None else None
    assert rules.after_gap(last_given_at=last, start=START, t=T) is after_gap


@pytest.mark.parametrize(
    ("rescreen", "consent", "count"),
    [
        ("", False, 2),
        ("", True, 1),
        ("review", True, 1),
        ("ineligible", True, 1),
        ("cleared", False, 1),
        ("cleared", True, 0),
    ],
)
def test_a_booster_after_the_gap_needs_a_cleared_rescreen_and_renewed_consent(rescreen, consent, count):
    found = rules.maintenance_refusals(rescreen=rescreen, consent_current=consent, last_given_at=START, t=T)
    assert len(found) == count


@pytest.mark.parametrize(
    ("outcome", "misuse", "state"),
    [
        ("eligible", False, "cleared"),
        ("eligible", True, "review"),
        ("needs_review", False, "review"),
        ("ineligible", False, "ineligible"),
    ],
)
def test_a_rescreen_s_state(outcome, misuse, state):
    assert rules.rescreen_state(outcome=outcome, misuse=misuse) == state


LADDER = [Decimal("0.5"), Decimal("0.75")]


@pytest.mark.parametrize(
    ("current", "up", "expected"),
    [
        ("0.5", True, "0.75"),
        ("0.75", True, None),
        ("0.75", False, "0.5"),
        ("0.5", False, None),
        ("0.6", True, "0.75"),
        ("0.6", False, "0.5"),
    ],
)
def test_the_titration_ladder(current, up, expected):
    found = rules.ladder_step(ladder=LADDER, current=Decimal(current), up=up)
    assert found == (Decimal(expected) if expected else None)


def test_exposure_sums_what_was_delivered_including_a_stopped_early_infusion():
    at = START
    given = [
        rules.Given(at - timedelta(days=5), Decimal("40"), Decimal("80")),
        rules.Given(at - timedelta(days=40), Decimal("12.5"), Decimal("80")),  # stopped early
        rules.Given(at - timedelta(days=100), Decimal("37.5"), Decimal("75")),
        rules.Given(at - timedelta(days=400), Decimal("30"), Decimal("60")),
        rules.Given(at - timedelta(days=3), Decimal("0"), Decimal("80")),  # stopped before any drug ran
    ]
    found = rules.exposure(given, at=at)
    assert found.total_mg == Decimal("120.00")
    assert found.total_mg_per_kg == Decimal("1.66")  # 0.5 + 0.15625 + 0.5 + 0.5
    assert (found.infusions_30d, found.infusions_90d, found.infusions_365d, found.infusions_lifetime) == (1, 2, 3, 4)
    assert (found.mg_90d, found.mg_365d) == (Decimal("52.50"), Decimal("90.00"))
    assert found.last_given_at == at - timedelta(days=5)
