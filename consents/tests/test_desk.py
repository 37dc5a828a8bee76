"""The front desk sees who lacks a consent the clinic requires: on today's arrivals and on the
printed day sheet; a patient whose consent is current is not marked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from scheduling.tests.factories import AppointmentFactory, LocationFactory

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # midday in New York


@time_machine.travel(NOON, tick=False)
def test_arrivals_and_the_day_sheet_mark_a_patient_who_lacks_consent(client, frontdesk):
    version = ConsentVersionFactory(published_at=NOON - timedelta(days=40))
    site = LocationFactory()
    lacking = AppointmentFactory(location=site, start=NOON + timedelta(hours=1), end=NOON + timedelta(hours=2))
    signed = AppointmentFactory(location=site, start=NOON + timedelta(hours=2), end=NOON + timedelta(hours=3))
    ConsentSignatureFactory(patient=signed.patient, version=version, signed_at=NOON - timedelta(days=3))
    client.force_login(frontdesk)
    home = client.get(reverse("home")).content.decode()
    assert home.count("Lacks consent") == 1
    assert home.index(lacking.patient.legal_last_name) < home.index("Lacks consent")
    sheet = client.get(reverse("scheduling:day-sheet"), {"location": site.pk, "date": "2026-03-10"}).content.decode()
    assert sheet.count("Lacks consent") == 1
