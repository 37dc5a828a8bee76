"""Property: whatever the front desk does, no chair, room, patient or intake clinician is double-booked.

A hypothesis state machine books, cancels and reschedules at random through the
services (security-reference E1). Refusals are fine; anything else that escapes
the services, or any overlap of active bookings in the database, is a failure.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, multiple, rule, run_state_machine_as_test

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from scheduling import rules, services
from scheduling.models import ACTIVE_STATUSES, Appointment, AppointmentStatus
from scheduling.tests.conftest import at, local_day
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type

ACTIVE = [s.value for s in ACTIVE_STATUSES]
OVERLAPS_SQL = """
    SELECT count(*) FROM scheduling_appointment a
    JOIN scheduling_appointment b ON a.id < b.id
     AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
    WHERE a.status = ANY(%(active)s) AND b.status = ANY(%(active)s)
      AND (a.resource_id = b.resource_id
           OR a.patient_id = b.patient_id
           OR (a.clinician_exclusive AND b.clinician_exclusive AND a.clinician_id = b.clinician_id))
"""


class FrontDesk(RuleBasedStateMachine):
    appointments = Bundle("appointments")

    world: SimpleNamespace  # the clinic, created once per test run (see below)

    def __init__(self):
        super().__init__()
        # Each example runs in its own savepoint, rolled back in teardown.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        w = self.world
        self.desk, self.site, self.resources = w.desk, w.site, w.resources
        self.doctor, self.nurse, self.patients, self.types = w.doctor, w.nurse, w.patients, w.types
        self.day = local_day(3)

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _start(self, slot: int):
        return at(self.day, 9) + timedelta(minutes=30 * slot)

    @rule(
        target=appointments,
        patient=st.integers(0, 2),
        kind=st.sampled_from(["consultation", "infusion"]),
        resource=st.one_of(st.none(), st.integers(0, 2)),
        slot=st.integers(0, 12),
        minutes=st.sampled_from([30, 60, 100]),
    )
    def book(self, patient, kind, resource, slot, minutes):
        try:
            appt = services.appointment_book(
                patient=self.patients[patient],
                appointment_type=self.types[kind],
                location=self.site,
                start=self._start(slot),
                minutes=minutes,
                resource=self.resources[resource] if resource is not None else None,
                clinician=self.doctor if kind == "consultation" else self.nurse,
                by=self.desk,
            )
        except services.SchedulingError:
            return multiple()
        return appt.pk

    @rule(pk=appointments)
    def cancel(self, pk):
        with contextlib.suppress(services.SchedulingError):
            services.appointment_cancel(appointment=Appointment(pk=pk), by=self.desk, reason="Patient request")

    @rule(target=appointments, pk=appointments, slot=st.integers(0, 12), minutes=st.sampled_from([30, 60, 100]))
    def reschedule(self, pk, slot, minutes):
        old = Appointment.objects.get(pk=pk)
        try:
            new = services.appointment_reschedule(
                appointment=old, by=self.desk, start=self._start(slot), minutes=minutes, clinician=old.clinician
            )
        except services.SchedulingError:
            return multiple()
        return new.pk

    @invariant()
    def no_two_active_bookings_overlap(self):
        with connection.cursor() as cursor:
            cursor.execute(OVERLAPS_SQL, {"active": ACTIVE})
            assert cursor.fetchone()[0] == 0

    @invariant()
    def monitoring_stays_within_capacity(self):
        active = list(
            Appointment.objects.filter(clinician=self.nurse, status__in=ACTIVE_STATUSES).values_list("start", "end")
        )
        for start, end in active:
            assert rules.peak_concurrency(active, start, end) <= self.site.monitoring_capacity

    @invariant()
    def every_rescheduled_booking_links_to_its_replacement(self):
        moved = Appointment.objects.filter(status=AppointmentStatus.CANCELLED, cancel_reason=rules.RESCHEDULED_REASON)
        assert not moved.filter(rescheduled_to__isnull=True).exists()


@pytest.mark.django_db
def test_random_book_cancel_reschedule_never_double_books():
    site = LocationFactory(time_zone="America/New_York")
    site.monitoring_capacity = 2
    site.save(update_fields=["monitoring_capacity"])
    FrontDesk.world = SimpleNamespace(
        desk=UserFactory(role=Role.FRONT_DESK),
        site=site,
        resources=[
            ResourceFactory(location=site, kind="chair"),
            ResourceFactory(location=site, kind="chair"),
            ResourceFactory(location=site, kind="room"),
        ],
        doctor=ClinicianFactory(location=site),
        nurse=ClinicianFactory(location=site),
        patients=[PatientFactory() for _ in range(3)],
        types={"consultation": appointment_type("consultation"), "infusion": appointment_type("infusion")},
    )
    run_state_machine_as_test(
        FrontDesk,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
