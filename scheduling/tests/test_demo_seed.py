"""The demo calendar: realistic, consistent with the clock, and as valid as real bookings."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.utils import timezone

from demo.context import SeedContext
from demo.seeders import accounts as accounts_seeder
from demo.seeders import patients as patients_seeder
from demo.seeders import scheduling as scheduling_seeder
from scheduling import rules, selectors
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus, ClinicianHours, Location

pytestmark = pytest.mark.django_db
S = AppointmentStatus


def _seed(seed: int, patients: int) -> SeedContext:
    ctx = SeedContext(seed=seed, patients_wanted=patients, today=timezone.localdate(), allow_demo_accounts=True)
    for module in (accounts_seeder, patients_seeder, scheduling_seeder):
        module.seed(ctx)
    return ctx


def test_the_demo_schedule_is_consistent_with_time_and_the_booking_rules():
    ctx = _seed(3, 60)
    now = timezone.now()
    appointments = list(Appointment.objects.select_related("location", "appointment_type"))
    assert ctx.counts["appointments"] == len(appointments) > 150
    assert set(ctx.appointments) == {"consultation", "infusion", "follow_up", "booster"}
    assert {loc.name for loc in Location.objects.all()} == {
        "Grace MindCare Midtown",
        "Grace MindCare Brooklyn Heights",
    }
    # Statuses agree with the clock.
    assert not [a for a in appointments if a.end <= now and a.status in (S.BOOKED, S.CONFIRMED, S.CHECKED_IN)]
    assert not [a for a in appointments if a.start > now and a.status in (S.COMPLETED, S.NO_SHOW, S.IN_PROGRESS)]
    assert any(a.start > now for a in appointments), "the next four weeks are booked too"
    # Every booking respects opening hours, closures, clinician hours and monitoring capacity.
    hours = {loc.pk: selectors.opening_windows(loc) for loc in Location.objects.all()}
    shifts = defaultdict(lambda: defaultdict(list))
    for h in ClinicianHours.objects.all():
        shifts[(h.clinician_id, h.location_id)][h.weekday].append((h.starts, h.ends))
    closed = {(c.location_id, c.starts_on) for loc in Location.objects.all() for c in loc.closures.all()}
    monitoring = defaultdict(list)
    for a in appointments:
        zone_name = a.location.time_zone
        weekday = a.start.astimezone(a.location.zone).weekday()
        assert rules.fits_windows(a.start, a.end, zone_name, hours[a.location_id].get(weekday, [])), a
        assert (a.location_id, a.start.astimezone(a.location.zone).date()) not in closed
        assert rules.fits_windows(a.start, a.end, zone_name, shifts[(a.clinician_id, a.location_id)][weekday]), a
        if a.status in ACTIVE_STATUSES and not a.clinician_exclusive:
            monitoring[a.clinician_id].append((a.start, a.end))
    for intervals in monitoring.values():
        assert max(rules.peak_concurrency(intervals, s, e) for s, e in intervals) <= 4
    # A completed visit went through the lifecycle, step by step.
    done = next(a for a in appointments if a.status == S.COMPLETED)
    path = list(done.status_changes.order_by("at").values_list("to_status", flat=True))
    assert path == [S.BOOKED, S.CONFIRMED, S.CHECKED_IN, S.IN_PROGRESS, S.COMPLETED]


def test_seeding_again_on_top_never_collides_with_earlier_bookings():
    _seed(3, 30)
    before = Appointment.objects.count()
    ctx = SeedContext(seed=9, patients_wanted=30, today=timezone.localdate(), allow_demo_accounts=True)
    for module in (accounts_seeder, patients_seeder, scheduling_seeder):
        module.seed(ctx)  # the exclusion constraints would raise on any double booking
    assert Appointment.objects.count() > before


def test_the_demo_has_an_online_request_to_approve_and_patients_on_the_waitlist():
    from demo.seeders import self_booking as self_booking_seeder
    from scheduling.models import SelfBooking, WaitlistEntry

    ctx = _seed(5, 40)
    self_booking_seeder.seed(ctx)
    assert ctx.counts["online requests"] == 1
    assert SelfBooking.objects.filter(status=SelfBooking.Status.PENDING).count() == 1
    assert ctx.counts["waitlist entries"] == WaitlistEntry.objects.filter(status="waiting").count() >= 3
    assert WaitlistEntry.objects.filter(created_by__isnull=True).exists()  # one asked from their own link
