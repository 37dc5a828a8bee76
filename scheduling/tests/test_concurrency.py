"""Concurrent bookings on real PostgreSQL (security-reference R1, test E1)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from patients.tests.factories import PatientFactory
from scheduling import services
from scheduling.models import Appointment
from scheduling.tests.conftest import at, local_day

THREADS = 20


def _race(callables):
    """Run the callables at the same instant, each on its own database connection."""
    barrier = threading.Barrier(len(callables))

    def run(fn):
        try:
            barrier.wait(timeout=30)
            return ("ok", fn())
        except services.SlotTaken as exc:
            return ("taken", exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(callables)) as pool:
        return list(pool.map(run, callables))


@pytest.mark.django_db(transaction=True)
def test_twenty_desks_booking_one_chair_slot_exactly_one_wins(clinic, frontdesk):
    patients = [PatientFactory() for _ in range(THREADS)]
    start = at(local_day(3), 10)
    chair = clinic.chairs[0]

    def booking(patient):
        return lambda: services.appointment_book(
            patient=patient,
            appointment_type=clinic.infusion,
            location=clinic.site,
            start=start,
            resource=chair,
            by=frontdesk,
        )

    results = _race([booking(p) for p in patients])

    outcomes = sorted(kind for kind, _ in results)
    assert outcomes.count("ok") == 1
    assert outcomes.count("taken") == THREADS - 1
    for kind, exc in results:
        if kind == "taken":
            assert exc.message_dict  # a message for the form, not a 500
            assert exc.alternatives, "the loser is offered other times"
            assert all(alt.start >= start for alt in exc.alternatives)
    assert Appointment.objects.filter(resource=chair).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_monitored_infusions_never_exceed_the_clinicians_capacity(clinic, frontdesk):
    """Different chairs, one nurse: the capacity count is serialised per clinician."""
    clinic.site.monitoring_capacity = 2
    clinic.site.save(update_fields=["monitoring_capacity"])
    start = at(local_day(3), 9)

    def booking(chair):
        return lambda: services.appointment_book(
            patient=PatientFactory(),
            appointment_type=clinic.infusion,
            location=clinic.site,
            start=start,
            resource=chair,
            clinician=clinic.nurse,
            by=frontdesk,
        )

    results = _race([booking(chair) for chair in clinic.chairs])

    assert sorted(kind for kind, _ in results) == ["ok", "ok", "taken"]
    assert Appointment.objects.filter(clinician=clinic.nurse).count() == 2
