"""Cumulative exposure from the delivered amounts, summed in the database, against sums worked
out by hand (stopped-early infusions count what they delivered)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from courses import rules, selectors
from courses.tests.conftest import NOW
from courses.tests.factories import course, given_infusion

pytestmark = pytest.mark.django_db


def test_exposure_against_hand_computed_sums(clock):
    c = course(sessions_planned=20)
    given_infusion(c, started_at=NOW - timedelta(days=5), delivered_mg="40", weight_kg="80")
    given_infusion(c, started_at=NOW - timedelta(days=40), delivered_mg="12.5", weight_kg="80", stopped_early=True)
    given_infusion(c, started_at=NOW - timedelta(days=100), delivered_mg="37.5", dose_mg="37.5", weight_kg="75")
    given_infusion(c, started_at=NOW - timedelta(days=400), delivered_mg="30", dose_mg="30", weight_kg="60")
    # Stopped before any drug ran: not an infusion given.
    given_infusion(c, started_at=NOW - timedelta(days=3), delivered_mg="0", stopped_early=True)
    other = course()  # another patient's infusion is not theirs
    given_infusion(other, started_at=NOW - timedelta(days=1), delivered_mg="40")

    found = selectors.exposure_of(c.patient, at=NOW)

    assert found.total_mg == Decimal("120.00")  # 40 + 12.5 + 37.5 + 30
    assert found.total_mg_per_kg == Decimal("1.66")  # 40/80 + 12.5/80 + 37.5/75 + 30/60 = 1.65625
    assert found.infusions_30d == 1
    assert found.infusions_90d == 2
    assert found.infusions_365d == 3
    assert found.infusions_lifetime == 4
    assert found.mg_90d == Decimal("52.50")
    assert found.mg_365d == Decimal("90.00")
    assert found.last_given_at == NOW - timedelta(days=5)


def test_the_database_sum_and_the_rule_agree(clock):
    c = course(sessions_planned=30)
    given = []
    for i, (mg, kg) in enumerate([("40", "80"), ("33.3", "71.4"), ("5.05", "80"), ("48.8", "97.6"), ("21", "63")]):
        at = NOW - timedelta(days=17 * i + 1)
        given_infusion(c, started_at=at, delivered_mg=mg, dose_mg="48.8", weight_kg=kg, stopped_early=i % 2 == 1)
        given.append(rules.Given(at, Decimal(mg), Decimal(kg)))
    assert selectors.exposure_of(c.patient, at=NOW) == rules.exposure(given, at=NOW)


def test_no_infusion_no_exposure(clock):
    c = course()
    found = selectors.exposure_of(c.patient, at=NOW)
    assert (found.total_mg, found.infusions_lifetime, found.last_given_at) == (Decimal("0.00"), 0, None)


def test_exposure_is_one_query(clock, django_assert_num_queries):
    c = course()
    for days in (1, 50, 200):
        given_infusion(c, started_at=NOW - timedelta(days=days), delivered_mg="40")
    with django_assert_num_queries(1):
        selectors.exposure_of(c.patient, at=NOW)
