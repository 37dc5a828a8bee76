"""Series: every occurrence checked before anything is saved, then one row each, all or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from patients.tests.factories import PatientFactory
from scheduling import rules, services
from scheduling.models import Appointment, Series
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db
NY = "America/New_York"


def _plan(first_day, weekdays=(0, 2, 4), count=6, wall=time(10)):
    return rules.expand_weekly(first_day=first_day, weekdays=weekdays, wall=wall, count=count, tz_name=NY)


def _book_series(clinic, patient, by, occurrences, **kwargs):
    return services.series_book(
        patient=patient,
        appointment_type=clinic.infusion,
        location=clinic.site,
        occurrences=occurrences,
        by=by,
        **{"clinician": clinic.nurse, **kwargs},
    )


@pytest.mark.parametrize("first_day", [date(2026, 3, 2), date(2026, 10, 26)], ids=["spring", "autumn"])
def test_a_series_at_ten_is_booked_at_ten_local_on_both_sides_of_the_dst_change(clinic, patient, frontdesk, first_day):
    with time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC), tick=False):
        series = _book_series(clinic, patient, frontdesk, _plan(first_day), local_time=time(10), weekdays=[0, 2, 4])
    starts = list(series.occurrences.order_by("start").values_list("start", flat=True))
    assert len(starts) == 6
    assert {s.astimezone(clinic.site.zone).time() for s in starts} == {time(10)}
    assert len({s.astimezone(UTC).hour for s in starts}) == 2  # the UTC hour moves, the local one does not
    assert (series.time_zone, series.weekdays, series.planned_count) == (NY, "0,2,4", 6)


def test_conflicts_are_reported_per_occurrence_with_alternatives_and_nothing_is_saved(clinic, patient, frontdesk):
    first = local_day(7)
    plan = _plan(first, weekdays=[first.weekday()], count=3)
    # The patient is already busy at the second occurrence.
    book(clinic, patient, frontdesk, start=plan[1].start, kind="follow_up")
    with pytest.raises(services.SeriesConflicts) as caught:
        _book_series(clinic, patient, frontdesk, plan)
    checks = caught.value.checks
    assert [c.ok for c in checks] == [True, False, True]
    assert "already has an appointment" in checks[1].problems[0]
    assert checks[1].alternatives
    assert all(
        not rules.overlaps((a.start, a.end), (plan[1].start, plan[1].start + timedelta(minutes=30)))
        for a in checks[1].alternatives
    )
    assert not Series.objects.exists()
    assert Appointment.objects.filter(series__isnull=False).count() == 0


def test_occurrences_that_overlap_each_other_are_refused(clinic, patient, frontdesk):
    day = local_day(7)
    overlapping = [
        rules.PlannedOccurrence(day=day, start=at(day, 9)),
        rules.PlannedOccurrence(day=day, start=at(day, 10)),  # infusion + recovery runs to 10:40
    ]
    with pytest.raises(services.SeriesConflicts) as caught:
        _book_series(clinic, patient, frontdesk, overlapping)
    assert "Overlaps occurrence 1" in caught.value.checks[1].problems[0]
    assert not Appointment.objects.exists()


def test_a_nonexistent_local_time_in_a_series_is_reported(clinic, patient, frontdesk):
    with (
        time_machine.travel(datetime(2026, 2, 1, tzinfo=UTC), tick=False),
        pytest.raises(services.SeriesConflicts) as caught,
    ):
        _book_series(clinic, patient, frontdesk, _plan(date(2026, 3, 1), weekdays=[6], count=2, wall=time(2, 30)))
    assert "does not exist" in caught.value.checks[1].problems[0]


def test_each_occurrence_is_its_own_row_that_can_be_cancelled_alone(clinic, patient, frontdesk):
    first = local_day(7)
    series = _book_series(clinic, patient, frontdesk, _plan(first, weekdays=[first.weekday()], count=3))
    second = series.occurrences.order_by("start")[1]
    services.appointment_cancel(appointment=second, by=frontdesk, reason="Travelling")
    statuses = list(series.occurrences.order_by("start").values_list("status", flat=True))
    assert statuses == ["booked", "cancelled", "booked"]


def test_a_series_for_another_patient_in_the_same_chairs_finds_no_room_when_full(clinic, frontdesk):
    first = local_day(7)
    plan = _plan(first, weekdays=[first.weekday()], count=2, wall=time(9))
    for chair in clinic.chairs:
        _book_series(clinic, PatientFactory(), frontdesk, plan, resource=chair, clinician=None)
    with pytest.raises(services.SeriesConflicts) as caught:
        _book_series(clinic, PatientFactory(), frontdesk, plan, clinician=None)
    assert all("No infusion chair is free" in c.problems[0] for c in caught.value.checks)


@pytest.mark.django_db
def test_the_series_form_starts_from_the_plans_number_of_infusions(client, frontdesk):
    client.force_login(frontdesk)
    response = client.get("/schedule/series/new/", {"count": "8"})
    assert response.status_code == 200
    assert response.context["form"].initial["count"] == 8
    assert client.get("/schedule/series/new/", {"count": "999"}).context["form"].initial["count"] == 24
