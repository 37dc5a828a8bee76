"""Daily jobs run once a day at each site's local close of day, DST-correct, whoever ticks."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from scheduling import daily
from scheduling.models import Closure, DailyJobRun
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger_runs(monkeypatch):
    """A stand-in for the registered jobs that records which site it ran for, and when."""
    calls: list[tuple[int, datetime]] = []
    clock: list[datetime] = []
    monkeypatch.setattr(daily, "_JOBS", {"test.count": lambda location: calls.append((location.pk, clock[0]))})
    return calls, clock


def _tick_through(start: datetime, end: datetime, clock: list, step=timedelta(minutes=5)):
    now = start
    while now < end:
        clock[:] = [now]
        daily.run_due(now)
        now += step


def test_the_registered_jobs_include_the_nightly_ledger_reconcile():
    assert "controlled_substances.ledger_reconcile" in daily.jobs()


@pytest.mark.parametrize(
    ("first_day", "offsets_hours"),
    [
        # Spring forward on Sunday 8 March 2026: 17:30 local is 22:30 UTC on Saturday, 21:30 UTC after.
        (date(2026, 3, 7), [22.5, 21.5, 21.5]),
        # Fall back on Sunday 1 November 2026: 21:30 UTC on Saturday, 22:30 UTC from Sunday on.
        (date(2026, 10, 31), [21.5, 22.5, 22.5]),
    ],
)
def test_the_job_runs_once_a_local_day_at_close_across_a_daylight_saving_change(ledger_runs, first_day, offsets_hours):
    calls, clock = ledger_runs
    site = LocationFactory(time_zone="America/New_York", hours=[(d, time(8), time(17)) for d in range(7)])
    # The day before ran already (else the first tick would catch it up).
    DailyJobRun.objects.create(
        job="test.count", location=site, local_day=first_day - timedelta(days=1), ran_at=datetime.now(UTC)
    )
    start = datetime.combine(first_day, time(12), tzinfo=UTC)
    _tick_through(start, start + timedelta(days=3), clock)
    # Close at 17:00 local, run 30 minutes later: 17:30 on each local day, whatever the offset.
    assert [at.astimezone(site.zone).time() for _, at in calls] == [time(17, 30)] * 3
    assert [at - datetime.combine(at.date(), time(), tzinfo=UTC) for _, at in calls] == [
        timedelta(hours=h) for h in offsets_hours
    ]
    assert sorted(DailyJobRun.objects.values_list("local_day", flat=True)) == [
        first_day + timedelta(days=n) for n in range(-1, 3)
    ]


def test_each_site_runs_at_its_own_close(ledger_runs):
    calls, clock = ledger_runs
    east = LocationFactory(time_zone="America/New_York", hours=[(d, time(8), time(17)) for d in range(7)])
    west = LocationFactory(time_zone="America/Los_Angeles", hours=[(d, time(8), time(19)) for d in range(7)])
    for site in (east, west):
        DailyJobRun.objects.create(
            job="test.count", location=site, local_day=date(2026, 6, 9), ran_at=datetime.now(UTC)
        )
    start = datetime(2026, 6, 10, 12, tzinfo=UTC)
    _tick_through(start, start + timedelta(hours=24), clock)
    ran = {pk: at for pk, at in calls}
    assert ran[east.pk] == datetime(2026, 6, 10, 21, 30, tzinfo=UTC)  # 17:30 EDT
    assert ran[west.pk] == datetime(2026, 6, 11, 2, 30, tzinfo=UTC)  # 19:30 PDT


def test_a_second_beat_ticking_the_same_minute_runs_nothing_twice(ledger_runs):
    calls, clock = ledger_runs
    LocationFactory(time_zone="Europe/London")
    now = datetime(2026, 6, 10, 21, 0, tzinfo=UTC)  # 22:00 BST: past the 21:00 close and its half hour
    clock[:] = [now]
    assert len(daily.run_due(now)) == 2  # yesterday's run, missed, and today's
    assert daily.run_due(now) == []
    assert daily.run_due(now + timedelta(minutes=5)) == []
    assert len(calls) == 2


def test_a_closed_day_closes_at_the_configured_time_and_a_failed_run_is_retried(ledger_runs, monkeypatch, settings):
    calls, clock = ledger_runs
    site = LocationFactory(time_zone="America/Chicago")
    Closure.objects.create(location=site, starts_on=date(2026, 12, 25), ends_on=date(2026, 12, 25), reason="Holiday")
    assert daily.close_of_day(site, date(2026, 12, 25)).time() == time.fromisoformat(
        settings.DAILY_JOBS_CLOSED_DAY_TIME
    )
    assert daily.close_of_day(site, date(2026, 12, 24)).time() == time(21)

    def fails(location):
        raise RuntimeError("database went away")

    monkeypatch.setattr(daily, "_JOBS", {"test.count": fails})
    now = datetime(2026, 12, 26, 12, tzinfo=UTC)  # 06:00 local: the 25th is closed, the 26th not yet
    assert daily.run_due(now) == []
    assert not DailyJobRun.objects.exists()  # the claim rolled back with the failure
    monkeypatch.setattr(daily, "_JOBS", {"test.count": lambda location: calls.append((location.pk, now))})
    assert daily.run_due(now) == [("test.count", site.pk, date(2026, 12, 25))]


def test_the_nightly_reconcile_checks_only_the_sites_vials(mailoutbox):
    from decimal import Decimal

    from controlled_substances.models import Container
    from controlled_substances.services import reconciliation_run
    from controlled_substances.tests.factories import container, registration

    vial = container()
    other = container(at=registration(dea_number="FB7654321"), lot_number="24B001")
    Container.objects.filter(pk=vial.pk).update(remaining_ml=Decimal("9.50"))
    site = vial.registration.location
    assert other.registration.location != site
    assert reconciliation_run(other.registration.location) == []
    assert [p.split(":")[0] for p in reconciliation_run(site)] == [vial.code]
    assert site.name in mailoutbox[0].subject
