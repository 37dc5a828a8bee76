"""Pure rules: time zones, DST, the transition table, overlap and capacity arithmetic. No database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling import rules
from scheduling.models import AppointmentStatus as S

NY = "America/New_York"
US_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- Local time → UTC (security-reference G1) ----------------------------------------


def test_a_time_the_clocks_skip_is_refused_with_a_message():
    with pytest.raises(rules.NonexistentLocalTime, match=r"2:30 AM does not exist on Sun 8 Mar 2026"):
        rules.to_utc(date(2026, 3, 8), time(2, 30), NY)


def test_a_time_the_clocks_pass_twice_needs_a_choice():
    with pytest.raises(rules.AmbiguousLocalTime, match="happens twice"):
        rules.to_utc(date(2026, 11, 1), time(1, 30), NY)
    assert rules.to_utc(date(2026, 11, 1), time(1, 30), NY, fold=0) == utc(2026, 11, 1, 5, 30)  # EDT
    assert rules.to_utc(date(2026, 11, 1), time(1, 30), NY, fold=1) == utc(2026, 11, 1, 6, 30)  # EST


@pytest.mark.parametrize(
    ("day", "wall", "zone", "ambiguous", "nonexistent"),
    [
        (date(2026, 11, 1), time(1, 30), NY, True, False),  # clocks go back: 1:30 twice
        (date(2026, 11, 1), time(2, 30), NY, False, False),
        (date(2026, 3, 8), time(2, 30), NY, False, True),  # clocks go forward: no 2:30
        (date(2026, 3, 8), time(3, 0), NY, False, False),
        (date(2026, 7, 1), time(10), NY, False, False),
        (date(2026, 11, 1), time(1, 30), "America/Phoenix", False, False),  # no daylight saving
    ],
)
def test_which_wall_times_happen_twice_or_not_at_all(day, wall, zone, ambiguous, nonexistent):
    assert rules.is_ambiguous(day, wall, zone) is ambiguous
    assert rules.is_nonexistent(day, wall, zone) is nonexistent


def test_an_ordinary_time_converts_whatever_the_fold():
    assert rules.to_utc(date(2026, 7, 1), time(10), NY) == utc(2026, 7, 1, 14)
    assert rules.to_utc(date(2026, 1, 5), time(10), NY, fold=1) == utc(2026, 1, 5, 15)


@settings(max_examples=300)
@given(
    zone=st.sampled_from(US_ZONES),
    day=st.dates(min_value=date(2026, 3, 1), max_value=date(2027, 11, 30)),
    wall=st.times(),
    fold=st.sampled_from([0, 1]),
)
def test_every_accepted_local_time_round_trips_to_the_same_wall_time(zone, day, wall, fold):
    wall = wall.replace(microsecond=0)
    try:
        instant = rules.to_utc(day, wall, zone, fold=fold)
    except rules.NonexistentLocalTime:
        return
    local = instant.astimezone(ZoneInfo(zone))
    assert (local.date(), local.time()) == (day, wall)


def test_a_local_day_is_23_or_25_hours_on_dst_days():
    start, end = rules.local_day_bounds(date(2026, 3, 8), NY)
    assert end - start == timedelta(hours=23)
    start, end = rules.local_day_bounds(date(2026, 11, 1), NY)
    assert end - start == timedelta(hours=25)


# --- Weekly series keep their local time (security-reference G2) ------------------------


@pytest.mark.parametrize(
    ("first_day", "utc_hours"),
    [
        (date(2026, 3, 2), [15, 15, 15, 14, 14, 14]),  # clocks go forward on Sun 8 March
        (date(2026, 10, 26), [14, 14, 14, 15, 15, 15]),  # clocks go back on Sun 1 November
    ],
)
def test_a_weekly_series_at_ten_stays_at_ten_local_across_dst(first_day, utc_hours):
    planned = rules.expand_weekly(first_day=first_day, weekdays=[0, 2, 4], wall=time(10), count=6, tz_name=NY)
    local = [p.start.astimezone(ZoneInfo(NY)) for p in planned]
    assert [t.time() for t in local] == [time(10)] * 6
    assert [p.start.hour for p in planned] == utc_hours
    assert [t.weekday() for t in local] == [0, 2, 4, 0, 2, 4]


@settings(max_examples=200)
@given(
    zone=st.sampled_from(US_ZONES),
    first_day=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),
    weekdays=st.sets(st.integers(0, 6), min_size=1, max_size=3),
    count=st.integers(1, 12),
    hour=st.integers(7, 19),
)
def test_series_never_drift_duplicate_or_skip(zone, first_day, weekdays, count, hour):
    planned = rules.expand_weekly(first_day=first_day, weekdays=weekdays, wall=time(hour), count=count, tz_name=zone)
    assert len(planned) == count
    days = [p.day for p in planned]
    assert days == sorted(set(days))
    assert all(d.weekday() in weekdays for d in days)
    assert all(p.start.astimezone(ZoneInfo(zone)).time() == time(hour) for p in planned)


def test_a_series_occurrence_in_the_spring_gap_is_reported_not_moved():
    planned = rules.expand_weekly(first_day=date(2026, 3, 1), weekdays=[6], wall=time(2, 30), count=2, tz_name=NY)
    assert planned[0].start is not None
    assert planned[1].start is None
    assert "does not exist" in planned[1].problem


# --- Transition table (clinical-reference §5.2) -----------------------------------------

ALL = [s.value for s in S]
START = utc(2026, 6, 1, 14)  # 10:00 in New York


def _problem(current, target, *, reason="Patient request", at=START + timedelta(minutes=30)):
    return rules.transition_problem(
        current=current, target=target, reason=reason, start=START, at=at, tz_name=NY, no_show_grace_minutes=15
    )


@pytest.mark.parametrize(("current", "target"), [(a, b) for a in ALL for b in ALL])
def test_only_moves_in_the_table_are_allowed(current, target):
    allowed = target in rules.TRANSITIONS[current]
    assert (_problem(current, target) is None) == allowed


def test_entered_in_error_is_final_and_reachable_from_everything_else():
    assert rules.TRANSITIONS[S.ENTERED_IN_ERROR] == frozenset()
    assert all(S.ENTERED_IN_ERROR in rules.TRANSITIONS[s] for s in ALL if s != S.ENTERED_IN_ERROR)


def test_a_cancellation_needs_a_reason():
    assert "reason" in _problem(S.BOOKED, S.CANCELLED, reason="  ")


def test_a_no_show_waits_for_the_grace_period():
    assert "from 10:15 AM" in _problem(S.BOOKED, S.NO_SHOW, at=START + timedelta(minutes=10))
    assert _problem(S.BOOKED, S.NO_SHOW, at=START + timedelta(minutes=15)) is None


def test_check_in_happens_on_the_day_only():
    assert "day of the appointment" in _problem(S.BOOKED, S.CHECKED_IN, at=START - timedelta(days=1))
    assert _problem(S.BOOKED, S.CHECKED_IN, at=START - timedelta(hours=2)) is None


# --- Overlaps and monitoring capacity ----------------------------------------------------


def h(hour, minute=0):
    return utc(2026, 6, 1, hour, minute)


def test_half_open_ranges_hand_over_cleanly():
    assert not rules.overlaps((h(9), h(10)), (h(10), h(11)))
    assert rules.overlaps((h(9), h(10, 1)), (h(10), h(11)))


@pytest.mark.parametrize(
    ("busy", "expected"),
    [
        ([], 0),
        ([(h(8), h(9))], 0),  # ends as the window opens
        ([(h(8), h(10)), (h(9), h(11))], 2),
        ([(h(9), h(10)), (h(10), h(11)), (h(11), h(12))], 1),  # a relay, never two at once
        ([(h(8), h(9, 30)), (h(10), h(11)), (h(9), h(12)), (h(10, 30), h(12))], 3),
    ],
)
def test_peak_concurrency_counts_the_busiest_instant(busy, expected):
    assert rules.peak_concurrency(busy, h(9), h(12)) == expected


@pytest.mark.parametrize(
    ("exclusive", "monitoring", "new_exclusive", "refused"),
    [
        ([], [(h(9), h(11))] * 3, False, False),  # 3 + 1 = capacity 4
        ([], [(h(9), h(11))] * 4, False, True),  # a fifth chair at once
        ([], [(h(7), h(9))] * 4, False, False),  # the earlier group has left
        ([(h(10), h(11))], [], False, True),  # busy with an intake consultation
        ([], [(h(10), h(11))], True, True),  # monitoring: cannot also consult
        ([(h(8), h(9))], [], True, False),
    ],
)
def test_clinician_load(exclusive, monitoring, new_exclusive, refused):
    problem = rules.clinician_load_problem(
        new=(h(9), h(11)),
        new_is_exclusive=new_exclusive,
        exclusive_busy=exclusive,
        monitoring_busy=monitoring,
        capacity=4,
    )
    assert (problem is not None) == refused


def test_a_booking_must_fit_one_opening_window_of_its_local_day():
    windows = [(time(8), time(12)), (time(13), time(18))]
    assert rules.fits_windows(h(12), h(16), NY, windows)  # 08:00–12:00 local
    assert not rules.fits_windows(h(15, 30), h(17, 30), NY, windows)  # across the lunch break
    assert not rules.fits_windows(h(21, 30), h(22, 30), NY, windows)  # 18:30 local


def test_free_slots_skip_busy_chairs_closures_and_the_patients_other_bookings():
    day = date(2026, 6, 1)
    av = rules.Availability(
        tz_name=NY,
        opening={0: [(time(9), time(12))], 1: [(time(9), time(12))]},
        closed_days=set(),
        resource_ids=[1, 2],
        resource_busy={1: [(h(13), h(16))], 2: [(h(13), h(14))]},  # 09–12 and 09–10 local
        patient_busy=[(h(14), h(15))],  # patient busy 10–11 local
    )
    slots = rules.free_slots(av, after=rules.to_utc(day, time(8), NY), minutes=60, limit=3)
    local = [(s.start.astimezone(ZoneInfo(NY)).time(), s.resource_id) for s in slots]
    assert local == [(time(11), 2), (time(9), 1), (time(9, 15), 1)]  # Monday is full until 11:00
    av.closed_days = {day + timedelta(days=1)}
    assert len(rules.free_slots(av, after=rules.to_utc(day, time(8), NY), minutes=60, limit=5, horizon_days=1)) == 1
