"""Pure due-time rules, quiet hours and the minimum-necessary template check (G1 included)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminders import rules

ZONES = ["America/New_York", "America/Chicago", "America/Phoenix", "Europe/London"]


def _transitions(zone_name: str, years=range(2025, 2029)) -> list[datetime]:
    """UTC instants where the zone's UTC offset changes (hour scan; none for Phoenix)."""
    zone = ZoneInfo(zone_name)
    found = []
    for year in years:
        t = datetime(year, 1, 1, tzinfo=UTC)
        end = datetime(year + 1, 1, 1, tzinfo=UTC)
        prev = t.astimezone(zone).utcoffset()
        while t < end:
            t += timedelta(hours=1)
            off = t.astimezone(zone).utcoffset()
            if off != prev:
                found.append(t)
            prev = off
    return found or [datetime(2026, 3, 8, 9, tzinfo=UTC), datetime(2026, 11, 1, 8, tzinfo=UTC)]


TRANSITIONS = {z: _transitions(z) for z in ZONES}


@st.composite
def appointment_near_transition(draw):
    zone = draw(st.sampled_from(ZONES))
    pivot = draw(st.sampled_from(TRANSITIONS[zone]))
    minutes = draw(st.integers(min_value=-48 * 60, max_value=48 * 60)) // 5 * 5
    return zone, pivot + timedelta(minutes=minutes)


@settings(max_examples=400, deadline=None)
@given(appointment_near_transition(), st.sampled_from([24, 48, 72]))
def test_hours_before_is_exact_elapsed_hours_across_dst(case, hours):
    zone, start = case
    due = rules.due_at(start=start, tz_name=zone, offset=rules.Offset("hours_before", hours_before=hours))
    assert (start - due) == timedelta(hours=hours)
    assert due.utcoffset() == timedelta(0)


@settings(max_examples=400, deadline=None)
@given(appointment_near_transition(), st.sampled_from([time(18, 0), time(2, 30), time(1, 30), time(9, 15)]))
def test_day_before_at_local_time_is_that_wall_time_on_the_previous_local_day(case, wall):
    zone_name, start = case
    zone = ZoneInfo(zone_name)
    due = rules.due_at(start=start, tz_name=zone_name, offset=rules.Offset("day_before_at", local_time=wall))
    local_due = due.astimezone(zone)
    assert local_due.date() == start.astimezone(zone).date() - timedelta(days=1)
    naive = datetime.combine(local_due.date(), wall)
    exists = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive
    if exists:
        assert local_due.time() == wall  # ambiguous times: the first occurrence
        assert local_due.fold == 0 or naive.replace(tzinfo=zone, fold=0).utcoffset() == local_due.utcoffset()
    else:  # the clocks skip it: moved forward by the gap
        assert timedelta(0) < (local_due.replace(tzinfo=None) - naive) <= timedelta(hours=1)


def test_day_before_at_18_local_in_new_york_on_the_spring_forward_weekend():
    # Visit Sunday 8 March 2026 10:00 EDT (DST began at 02:00); the day before at 18:00 EST = 23:00 UTC.
    start = datetime(2026, 3, 8, 14, 0, tzinfo=UTC)
    due = rules.due_at(
        start=start, tz_name="America/New_York", offset=rules.Offset("day_before_at", local_time=time(18))
    )
    assert due == datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    # "24 h before" is 14:00 UTC on Saturday, i.e. 09:00 EST (not 10:00 local): elapsed hours, as specified.
    due24 = rules.due_at(start=start, tz_name="America/New_York", offset=rules.Offset("hours_before", hours_before=24))
    assert due24.astimezone(ZoneInfo("America/New_York")).hour == 9


def test_quiet_hours_move_a_reminder_to_the_next_allowed_local_time():
    quiet = rules.QuietHours(time(21), time(8))
    tz = "Europe/London"
    late = datetime(2026, 6, 1, 21, 30, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    early = datetime(2026, 6, 2, 6, 0, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    fine = datetime(2026, 6, 2, 12, 0, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    expected = datetime(2026, 6, 2, 8, 0, tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert rules.after_quiet_hours(late, tz_name=tz, quiet=quiet) == expected
    assert rules.after_quiet_hours(early, tz_name=tz, quiet=quiet) == expected
    assert rules.after_quiet_hours(fine, tz_name=tz, quiet=quiet) == fine
    assert rules.after_quiet_hours(late, tz_name=tz, quiet=rules.QuietHours(time(0), time(0))) == late


def test_templates_may_only_name_clinic_date_time_place_and_link():
    assert rules.template_problems("{clinic}: {date} at {time}, {location} {address}. {link}") == []
    assert rules.template_problems("Hi {first_name}") != []
    assert rules.template_problems("{appointment_type} on {date}") != []
    assert rules.template_problems("{clinic.secret}") != []
    assert rules.template_problems("{unknown}") != []
    assert rules.template_problems("{clinic") != []


def test_templates_naming_treatment_drug_or_diagnosis_are_refused():
    for text in ["Your ketamine visit", "Your infusion on {date}", "depression clinic", "Take 50 mg", "IV session"]:
        assert rules.template_problems(text), text
    assert rules.template_problems("Do not drive until the next day; bring an adult.") == []


def test_render_ignores_anything_but_the_allowed_placeholders():
    out = rules.render("{clinic} {date}", {"clinic": "C", "date": "D", "patient": "X"})
    assert out == "C D"


@settings(max_examples=300, deadline=None)
@given(appointment_near_transition())
def test_every_reminder_of_a_booking_is_at_its_rules_instant_in_the_locations_zone(case):
    """G1 through the service's own mapping (appointment + rules → due instants)."""
    from reminders.models import ReminderRule
    from reminders.services.sync import wanted_reminders
    from scheduling.models import Appointment, Location

    zone_name, start = case
    zone = ZoneInfo(zone_name)
    appointment = Appointment(start=start, status="booked", location=Location(name="X", time_zone=zone_name))
    no_quiet = {"quiet_start": time(0), "quiet_end": time(0), "send_sms": True, "send_email": False}
    rule_list = [
        ReminderRule(pk=1, offset_mode="hours_before", hours_before=72, **no_quiet),
        ReminderRule(pk=2, offset_mode="hours_before", hours_before=24, **no_quiet),
        ReminderRule(pk=3, offset_mode="day_before_at", local_time=time(18), **no_quiet),
        ReminderRule(
            pk=4,
            offset_mode="day_before_at",
            local_time=time(18),
            quiet_start=time(17),
            quiet_end=time(19),
            send_sms=True,
            send_email=False,
        ),
    ]
    wanted = wanted_reminders(appointment, rule_list)
    assert wanted[(1, "sms")] == start - timedelta(hours=72)
    assert wanted[(2, "sms")] == start - timedelta(hours=24)
    evening = wanted[(3, "sms")].astimezone(zone)
    assert (evening.date(), evening.time()) == (start.astimezone(zone).date() - timedelta(days=1), time(18))
    moved = wanted[(4, "sms")].astimezone(zone)
    assert (moved.date(), moved.time()) == (evening.date(), time(19))  # quiet hours: next allowed local time


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("Grace MindCare, Friday, December 11 at 9:00 AM. Confirm: https://clinic.example/v/x9Iv_3k-IV-q/", set()),
        ("Your IV drip is on Friday. https://clinic.example/v/abc/", {"iv"}),
        ("Confirm at https://clinic.example/v/abc/ before your infusion", {"infusion"}),
    ],
    ids=["random token spelling iv", "iv in the prose", "denied word after the link"],
)
def test_the_minimum_necessary_check_reads_the_prose_never_a_links_random_token(body, found):
    assert rules.denied_words_in(body) == found
