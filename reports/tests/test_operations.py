"""Operations figures against the hand-computed week in conftest.py."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from reports.selectors import operations
from reports.tests.conftest import NOW, filters
from scheduling.models import Location, OpeningHours
from scheduling.tests.factories import LocationFactory, ResourceFactory

pytestmark = pytest.mark.django_db


def by(rows, key):
    return {r[key]: r for r in rows}


def test_appointments_by_type_and_status_count_each_local_week(week):
    section = operations.appointments_by_type_and_status(filters())
    rows = by(section.rows, "type")
    assert {r["period"] for r in section.rows} == {date(2026, 2, 2)}
    infusion, consultation = rows["Infusion"], rows["Intake consultation"]
    assert (infusion["total"], infusion["completed"], infusion["no_show"], infusion["cancelled"]) == (4, 1, 1, 2)
    # 23:30 on Sunday in New York is Monday in UTC: still this week; 00:30 Monday local is not.
    assert (consultation["total"], consultation["completed"], consultation["booked"]) == (2, 1, 1)
    assert "entered_in_error" not in infusion
    assert "<svg" in section.chart


def test_monthly_grouping_puts_the_week_in_february(week):
    section = operations.appointments_by_type_and_status(filters(period="month"))
    assert {r["period"] for r in section.rows} == {date(2026, 2, 1)}
    assert sum(r["total"] for r in section.rows) == 6


def test_attendance_rates_by_type(week):
    by_type, by_weekday, by_hour = operations.attendance(filters(), now=NOW)
    rows = by(by_type.rows, "type")
    infusion = rows["Infusion"]
    assert (infusion["due"], infusion["no_show"], infusion["late_cancel"], infusion["attended"]) == (3, 1, 1, 1)
    assert infusion["no_show_rate"] == Decimal("33.3")
    assert infusion["late_cancel_rate"] == Decimal("33.3")
    consultation = rows["Intake consultation"]
    assert (consultation["due"], consultation["unrecorded"], consultation["no_show_rate"]) == (2, 1, Decimal("0.0"))
    assert sum(r["due"] for r in by_type.rows) == 5


def test_attendance_by_local_weekday_and_hour(week):
    _, by_weekday, by_hour = operations.attendance(filters(), now=NOW)
    days = by(by_weekday.rows, "weekday")
    assert days["Monday"]["due"] == 2
    assert days["Monday"]["no_show_rate"] == Decimal("50.0")
    # Tuesday: the late cancellation and the 23:30 consultation (Wednesday in UTC).
    assert days["Tuesday"]["due"] == 2
    assert days["Tuesday"]["late_cancel_rate"] == Decimal("50.0")
    assert days["Sunday"]["due"] == 1
    assert "Wednesday" not in days
    hours = by(by_hour.rows, "hour")
    assert hours["10:00 AM"]["due"] == 3
    assert hours["11:00 PM"]["due"] == 2


def test_a_longer_late_window_turns_the_timely_cancellation_late(week):
    by_type, _, _ = operations.attendance(filters(late_cancel_hours=96), now=NOW)
    infusion = by(by_type.rows, "type")["Infusion"]
    assert (infusion["due"], infusion["late_cancel"], infusion["late_cancel_rate"]) == (4, 2, Decimal("50.0"))


def test_chair_utilisation_uses_opening_hours_closures_and_chairs(week):
    section = operations.chair_utilisation(filters())
    row = by(section.rows, "location")["Midtown"]
    assert row["chairs"] == 2
    assert row["open_hours"] == Decimal("32.0")
    assert row["open_chair_hours"] == Decimal("64.0")
    assert row["booked_chair_hours"] == Decimal("4.0")
    assert row["utilisation"] == Decimal("6.3")


def test_a_site_with_no_opening_hours_has_no_utilisation_rate(week):
    LocationFactory(name="Annex", hours=[])
    row = by(operations.chair_utilisation(filters()).rows, "location")["Annex"]
    assert row["open_chair_hours"] == Decimal("0.0")
    assert row["utilisation"] is None


def test_hours_added_later_do_not_count_backwards(week):
    """A Saturday window that starts on the Saturday of the week counts that day only; one that
    starts after the week (a site opened today) adds nothing to it; one ended before it neither."""
    site = Location.objects.get(name="Midtown")
    OpeningHours.objects.create(
        location=site, weekday=5, opens=time(9), closes=time(13), effective_from=date(2026, 2, 7)
    )
    OpeningHours.objects.create(
        location=site, weekday=6, opens=time(9), closes=time(13), effective_from=date(2026, 2, 10)
    )
    OpeningHours.objects.create(
        location=site, weekday=0, opens=time(17), closes=time(19), effective_until=date(2026, 2, 1)
    )
    row = by(operations.chair_utilisation(filters()).rows, "location")["Midtown"]
    assert row["open_hours"] == Decimal("36.0")
    assert row["open_chair_hours"] == Decimal("72.0")


def test_a_location_opened_today_has_no_open_hours_in_last_week(week):
    annex = LocationFactory(name="Annex", hours=[])
    OpeningHours.objects.bulk_create(
        OpeningHours(location=annex, weekday=d, opens=time(8), closes=time(18), effective_from=NOW.date())
        for d in range(7)
    )
    ResourceFactory(location=annex, kind="chair")
    row = by(operations.chair_utilisation(filters()).rows, "location")["Annex"]
    assert row["open_hours"] == Decimal("0.0")
    assert row["utilisation"] is None


def test_reminders_by_channel_and_their_effect(week):
    channels, effect = operations.reminders(filters(), now=NOW)
    rows = by(channels.rows, "channel")
    assert (rows["sms"]["total"], rows["sms"]["sent"], rows["sms"]["failed"]) == (2, 1, 1)
    assert rows["sms"]["failure_rate"] == Decimal("50.0")
    assert (rows["email"]["sent"], rows["email"]["failure_rate"]) == (1, Decimal("0.0"))
    groups = by(effect.rows, "group")
    reminded, not_reminded = groups["With a sent reminder"], groups["Without a sent reminder"]
    assert (reminded["due"], reminded["no_show"], reminded["confirmed"]) == (2, 0, 1)
    assert reminded["confirmed_rate"] == Decimal("50.0")
    assert (not_reminded["due"], not_reminded["no_show"], not_reminded["no_show_rate"]) == (3, 1, Decimal("33.3"))


def test_the_location_filter_and_the_empty_range_give_empty_tables(week):
    other = LocationFactory(name="Elsewhere")
    empty = filters(location=other)
    assert operations.appointments_by_type_and_status(empty).rows == []
    assert all(s.rows == [] for s in operations.attendance(empty, now=NOW))
    far = filters(start=date(2025, 1, 1), end=date(2025, 1, 31))
    channels, effect = operations.reminders(far, now=NOW)
    assert channels.rows == []
    assert effect.rows == []
    funnel = operations.conversion(far).rows
    assert funnel[0]["count"] == 0
    assert funnel[1]["of_previous"] is None
