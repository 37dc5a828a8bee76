"""A small clinic for the scheduling tests: one site, chairs, rooms, two clinicians."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from scheduling import rules, services
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory, appointment_type


@pytest.fixture
def clinic(db):
    site = LocationFactory(name="Midtown", time_zone="America/New_York")
    chairs = [ResourceFactory(location=site, kind="chair", name=f"Chair {i}") for i in range(1, 4)]
    rooms = [ResourceFactory(location=site, kind="room", name=f"Room {i}") for i in range(1, 3)]
    return SimpleNamespace(
        site=site,
        chairs=chairs,
        rooms=rooms,
        doctor=ClinicianFactory(username="dr.test", credentials="MD", location=site),
        nurse=ClinicianFactory(username="nurse.test", credentials="RN", location=site),
        consultation=appointment_type("consultation"),
        infusion=appointment_type("infusion"),
        follow_up=appointment_type("follow_up"),
    )


def local_day(days_ahead: int = 1, tz_name: str = "America/New_York") -> date:
    return timezone.now().astimezone(ZoneInfo(tz_name)).date() + timedelta(days=days_ahead)


def at(day: date, hour: int, minute: int = 0, tz_name: str = "America/New_York") -> datetime:
    return rules.to_utc(day, time(hour, minute), tz_name, fold=0)


def book(clinic, patient, by, *, start, kind="consultation", **kwargs):
    """Book through the service with the clinic's usual choices for the type."""
    defaults = {
        "consultation": {"appointment_type": clinic.consultation, "clinician": clinic.doctor},
        "follow_up": {"appointment_type": clinic.follow_up, "clinician": clinic.doctor},
        "infusion": {"appointment_type": clinic.infusion, "clinician": clinic.nurse},
    }[kind]
    return services.appointment_book(
        patient=patient, location=clinic.site, start=start, by=by, **{**defaults, **kwargs}
    )
