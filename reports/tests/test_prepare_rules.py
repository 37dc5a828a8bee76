"""The pure rules of "prepare tomorrow": the next clinic day and what one visit still lacks."""

from datetime import date

import pytest

from reports.rules import VisitFacts, first_open_day, next_open_day, visit_readiness

FRIDAY = date(2026, 3, 13)
WEEKDAYS = [(d, None, None) for d in range(5)]


@pytest.mark.parametrize(
    ("today", "hours", "closed", "expected"),
    [
        (date(2026, 3, 10), WEEKDAYS, (), date(2026, 3, 11)),  # Tuesday → Wednesday
        (FRIDAY, WEEKDAYS, (), date(2026, 3, 16)),  # over the weekend to Monday
        (FRIDAY, WEEKDAYS, (date(2026, 3, 16),), date(2026, 3, 17)),  # Monday closed
        (FRIDAY, [(0, None, date(2026, 3, 13)), (1, None, None)], (), date(2026, 3, 17)),  # Mondays ended
        (FRIDAY, [(0, date(2026, 3, 23), None), (2, None, None)], (), date(2026, 3, 18)),  # Mondays start later
        (FRIDAY, (), (), date(2026, 3, 14)),  # never open: the day after, with the picker
    ],
)
def test_the_next_open_day(today, hours, closed, expected):
    assert next_open_day(today, hours=hours, closed=closed) == expected


def test_the_soonest_site_decides_the_day():
    days = first_open_day(FRIDAY, hours_by_site={1: WEEKDAYS, 2: [(5, None, None)]}, closed_by_site={})
    assert days == date(2026, 3, 14)  # the Saturday site


READY_INFUSION = VisitFacts(
    kind="infusion",
    intake_signed=True,
    plan_status="active",
    order_signed=True,
    questionnaires=("PHQ-9",),
    questionnaire_state="completed",
    escort_required=True,
    escort_confirmed=True,
)


def _texts(facts):
    return [m.text for m in visit_readiness(facts).missing]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"intake_signed": False}, ["No signed intake consultation"]),
        ({"consent_gaps": (("Financial policy", "missing"),)}, ["Financial policy consent not signed"]),
        ({"consent_gaps": (("Treatment", "outdated"),)}, ["Treatment consent: a new version to sign"]),
        ({"consent_gaps": (("Treatment", "withdrawn"),)}, ["Treatment consent withdrawn"]),
        ({"plan_status": ""}, ["No treatment plan"]),
        ({"plan_status": "draft"}, ["Treatment plan still a draft"]),
        ({"plan_status": "on_hold"}, ["Treatment plan on hold"]),
        ({"order_signed": False}, ["Standing order not signed"]),
        ({"plan_status": "maintenance"}, []),
        ({"questionnaire_state": "outstanding"}, ["Questionnaire sent, not answered yet (PHQ-9)"]),
        ({"questionnaire_state": "not_sent"}, ["Questionnaire not sent yet (PHQ-9): give it in clinic or send a link"]),
        ({"questionnaires": (), "questionnaire_state": "not_sent"}, []),  # nothing scheduled: nothing due
        ({"escort_confirmed": False}, ["Escort home not confirmed"]),
        ({"escort_required": False, "escort_confirmed": False}, []),
        ({"open_alerts": 2}, ["2 unacknowledged safety alerts"]),
        ({"kind": "booster", "order_signed": False}, ["Standing order not signed"]),
    ],
)
def test_what_an_infusion_visit_still_lacks(changes, expected):
    assert _texts(VisitFacts(**{**READY_INFUSION.__dict__, **changes})) == expected


def test_a_first_infusion_is_marked():
    readiness = visit_readiness(VisitFacts(**{**READY_INFUSION.__dict__, "first_infusion": True}))
    assert readiness.ready
    assert readiness.notes == ("First infusion",)


def test_an_intake_visit_needs_consent_taken_but_no_plan():
    gap = (("Ketamine treatment (off-label use)", "missing"),)
    assert _texts(VisitFacts(kind="consultation", consent_gaps=gap)) == [
        "Ketamine treatment (off-label use) consent to sign before the intake decision"
    ]
    assert not visit_readiness(VisitFacts(kind="consultation", consent_gaps=gap)).missing[0].blocking
    assert _texts(VisitFacts(kind="consultation")) == []
    assert _texts(VisitFacts(kind="follow_up")) == []
