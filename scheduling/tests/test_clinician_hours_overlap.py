"""A clinician's working hours never overlap, at one site or across sites (held by the database)."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import IntegrityError, transaction

from scheduling.models import ClinicianHours
from scheduling.tests.factories import ClinicianFactory, LocationFactory

pytestmark = pytest.mark.django_db


def test_overlapping_hours_at_another_site_are_refused_by_the_database():
    clinician = ClinicianFactory()
    north, south = LocationFactory(), LocationFactory()
    ClinicianHours.objects.create(clinician=clinician, location=north, weekday=0, starts=time(9), ends=time(13))
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicianHours.objects.create(clinician=clinician, location=south, weekday=0, starts=time(12), ends=time(16))


def test_back_to_back_hours_other_days_and_other_clinicians_are_fine():
    clinician, colleague = ClinicianFactory(), ClinicianFactory()
    north, south = LocationFactory(), LocationFactory()
    ClinicianHours.objects.create(clinician=clinician, location=north, weekday=0, starts=time(9), ends=time(13))
    ClinicianHours.objects.create(clinician=clinician, location=south, weekday=0, starts=time(13), ends=time(17))
    ClinicianHours.objects.create(clinician=clinician, location=south, weekday=1, starts=time(9), ends=time(13))
    ClinicianHours.objects.create(clinician=colleague, location=south, weekday=0, starts=time(9), ends=time(13))
    assert ClinicianHours.objects.count() == 4
