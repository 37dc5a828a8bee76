from datetime import UTC, datetime, timedelta

import pytest

from staff_tasks import rules

NOW = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        # EST in winter, EDT in summer.
        (datetime(2026, 1, 10, 9, 30), datetime(2026, 1, 10, 14, 30, tzinfo=UTC)),
        (datetime(2026, 7, 10, 9, 30), datetime(2026, 7, 10, 13, 30, tzinfo=UTC)),
        # 01:30 happens twice on the autumn change: the first (earlier) one.
        (datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ],
)
def test_a_wall_time_is_read_in_the_clinic_zone(wall, expected):
    assert rules.due_at_utc(wall, "America/New_York") == expected


def test_a_time_the_clocks_skip_is_refused_not_moved():
    with pytest.raises(rules.LocalTimeProblem, match="clocks go forward"):
        rules.due_at_utc(datetime(2026, 3, 8, 2, 30), "America/New_York")


@pytest.mark.parametrize(
    ("due", "problem"),
    [
        (NOW + timedelta(hours=1), ""),
        (NOW, ""),
        (NOW - timedelta(hours=1), "in the past"),
        (NOW + timedelta(days=400), "more than a year"),
    ],
)
def test_due_problems(due, problem):
    found = rules.due_problem(due, now=NOW)
    assert (problem in found) if problem else found == ""


@pytest.mark.parametrize(
    ("status", "due", "overdue"),
    [("open", NOW - timedelta(minutes=1), True), ("open", NOW + timedelta(minutes=1), False)]
    + [("done", NOW - timedelta(days=1), False), ("cancelled", NOW - timedelta(days=1), False)],
)
def test_only_an_open_task_past_its_due_time_is_overdue(status, due, overdue):
    assert rules.is_overdue(status=status, due_at=due, now=NOW) is overdue


NURSE = rules.Viewer(user_id=7, role="nurse", clinical=True)
DESK = rules.Viewer(user_id=8, role="front_desk", clinical=False)


@pytest.mark.parametrize(
    ("viewer", "assignee_id", "assignee_role", "created_by_id", "allowed"),
    [
        (NURSE, 7, "", 1, True),  # assigned to her
        (NURSE, None, "nurse", 1, True),  # to her role
        (NURSE, None, "prescriber", 7, True),  # she asked
        (NURSE, None, "prescriber", 1, False),
        (NURSE, 9, "", 1, False),
        (DESK, None, "nurse", 1, False),
        (DESK, None, "front_desk", 1, True),
    ],
)
def test_who_may_close_a_task(viewer, assignee_id, assignee_role, created_by_id, allowed):
    assert (
        rules.may_act_on(
            viewer=viewer, assignee_id=assignee_id, assignee_role=assignee_role, created_by_id=created_by_id
        )
        is allowed
    )


def test_the_clinical_note_follows_the_clinical_record_not_the_task():
    assert rules.shows_clinical_note(NURSE)
    assert not rules.shows_clinical_note(DESK)
