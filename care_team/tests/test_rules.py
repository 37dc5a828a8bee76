"""The care team's pure rules: when an authorisation holds, which milestone a signed session reaches."""

from __future__ import annotations

from datetime import date

import pytest

from care_team import rules

D = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("signed_on", "expires_on", "revoked", "today", "state"),
    [
        (D, None, False, D, "active"),
        (D, None, False, date(2030, 1, 1), "active"),
        (D, date(2026, 6, 30), False, date(2026, 6, 30), "active"),  # the expiry day is included
        (D, date(2026, 6, 30), False, date(2026, 7, 1), "expired"),
        (D, None, True, D, "revoked"),
        (D, date(2026, 6, 30), True, date(2026, 7, 1), "revoked"),  # revoked says more than expired
        (D, None, False, date(2026, 3, 9), "not_yet"),
    ],
)
def test_authorisation_state(signed_on, expires_on, revoked, today, state):
    assert rules.authorisation_state(signed_on=signed_on, expires_on=expires_on, revoked=revoked, today=today) == state


def test_only_an_active_authorisation_lets_a_letter_through():
    assert rules.refusal("active") == ""
    for state in ("revoked", "expired", "not_yet", ""):
        assert rules.refusal(state)


@pytest.mark.parametrize(
    ("completed", "planned", "at_end", "every", "expected"),
    [
        (5, 6, True, 3, None),
        (6, 6, True, 3, ("induction", 6)),
        (6, 6, False, 3, None),  # the clinic drafts none at the end of the induction
        (7, 6, True, 3, None),
        (9, 6, True, 3, ("boosters", 9)),
        (12, 6, True, 3, ("boosters", 12)),
        (9, 6, True, 0, None),  # none after the induction
        (1, 1, True, 1, ("induction", 1)),
        (2, 1, True, 1, ("boosters", 2)),
        (0, 6, True, 3, None),
    ],
)
def test_milestone_reached(completed, planned, at_end, every, expected):
    reached = rules.milestone_reached(
        completed=completed, planned=planned, at_induction_end=at_end, every_boosters=every
    )
    assert (None if reached is None else (reached.milestone, reached.sessions)) == expected


def test_only_the_progress_scope_shows_doses_scores_and_adverse_events():
    assert rules.shows_clinical_detail("progress")
    assert not rules.shows_clinical_detail("attendance")
