"""Factories for the calendar. ``AppointmentFactory`` writes rows directly (test set-up only);
tests of behaviour book through ``scheduling.services``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from importlib import import_module

import factory
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.roles import GROUP_NAMES, Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from scheduling.models import (
    Appointment,
    AppointmentType,
    ClinicianHours,
    Location,
    OpeningHours,
    Resource,
)

EVERY_DAY = range(7)


class LocationFactory(factory.django.DjangoModelFactory):
    """A site open every day 07:00–21:00 unless ``hours=[...]`` says otherwise."""

    class Meta:
        model = Location
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Test site {n}")
    time_zone = "America/New_York"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        if not create:
            return
        windows = extracted if extracted is not None else [(d, time(7), time(21)) for d in EVERY_DAY]
        OpeningHours.objects.bulk_create(
            OpeningHours(location=self, weekday=d, opens=a, closes=b) for d, a, b in windows
        )


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    location = factory.SubFactory(LocationFactory)
    kind = "chair"
    name = factory.Sequence(lambda n: f"Chair {n}")
    sort_order = factory.Sequence(lambda n: n)


class ClinicianFactory(UserFactory):
    """A clinician who works at ``location`` every day 07:00–21:00 (pass ``location=``)."""

    username = factory.Sequence(lambda n: f"clin{n}")
    credentials = "RN"

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=GROUP_NAMES[extracted or Role.NURSE]))

    @factory.post_generation
    def location(self, create, extracted, **kwargs):
        if create and extracted is not None:
            ClinicianHours.objects.bulk_create(
                ClinicianHours(clinician=self, location=extracted, weekday=d, starts=time(7), ends=time(21))
                for d in EVERY_DAY
            )


def appointment_type(code: str) -> AppointmentType:
    """One of the default types of migration 0002 (re-created after a transactional test's flush)."""
    found = AppointmentType.objects.filter(code=code).first()
    if found is None:
        migration = import_module("scheduling.migrations.0002_default_appointment_types")
        migration.create(django_apps, None)
        found = AppointmentType.objects.get(code=code)
    return found


def _next_start(n: int) -> datetime:
    base = datetime.combine(timezone.now().date() + timedelta(days=30), time(0), tzinfo=UTC)
    return base + timedelta(hours=2 * n)


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    appointment_type = factory.LazyFunction(lambda: appointment_type("consultation"))
    location = factory.SubFactory(LocationFactory)
    resource = factory.SubFactory(ResourceFactory, location=factory.SelfAttribute("..location"), kind="room")
    clinician = None
    start = factory.Sequence(_next_start)
    end = factory.LazyAttribute(lambda a: a.start + timedelta(minutes=60))
    clinician_exclusive = factory.LazyAttribute(lambda a: a.appointment_type.clinician_exclusive)
