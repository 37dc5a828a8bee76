"""Every clinical record is reachable from its appointment and from the chart, any day, and an
intake started from the chart takes the patient's booking instead of leaving it orphaned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from consultations import services
from consultations.models import Consultation
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


def _booked_intake(patient=None, days=3, **kwargs):
    start = timezone.now() + timedelta(days=days)
    return AppointmentFactory(
        start=start, end=start + timedelta(hours=1), **({"patient": patient} if patient else {}), **kwargs
    )


def test_the_appointment_page_opens_then_links_the_intake_on_any_day(client_as, clinician):
    appointment = _booked_intake(days=-9, clinician=clinician)  # a past booking, never opened
    client = client_as(clinician)
    url = reverse("scheduling:appointment-detail", args=[appointment.pk])
    body = client.get(url).content.decode()
    assert reverse("consultations:open", args=[appointment.pk]) in body
    assert "Open the intake</button>" in body
    consultation = services.consultation_open(appointment=appointment, by=clinician)
    body = client.get(url).content.decode()
    assert reverse("consultations:detail", args=[consultation.pk]) in body
    assert "Intake consultation (draft)" in body


def test_the_front_desk_sees_no_clinical_record_links(client_as, clinician, frontdesk):
    appointment = _booked_intake(clinician=clinician)
    services.consultation_open(appointment=appointment, by=clinician)
    body = client_as(frontdesk).get(reverse("scheduling:appointment-detail", args=[appointment.pk])).content.decode()
    assert 'id="appointment-records"' not in body


def test_the_chart_offers_the_booked_intake_and_starting_an_intake_takes_that_booking(client_as, clinician, patient):
    later = _booked_intake(patient=patient, days=10)
    first = _booked_intake(patient=patient, days=2)
    client = client_as(clinician)
    panel = client.get(reverse("consultations:patient-panel", args=[patient.pk])).content.decode()
    assert 'id="booked-intakes"' in panel
    assert reverse("consultations:open", args=[first.pk]) in panel
    assert reverse("consultations:open", args=[later.pk]) in panel
    assert "attached to the booking of" in panel

    response = client.post(reverse("consultations:start", args=[patient.pk]))
    consultation = Consultation.objects.get(patient=patient)
    assert response["Location"] == reverse("consultations:detail", args=[consultation.pk])
    assert consultation.appointment == first  # not orphaned: the booking has its record
    panel = client.get(reverse("consultations:patient-panel", args=[patient.pk])).content.decode()
    assert reverse("scheduling:appointment-detail", args=[first.pk]) in panel
    assert reverse("consultations:open", args=[first.pk]) not in panel


def test_a_walk_in_without_a_booking_still_starts_an_intake(client_as, clinician, patient):
    client_as(clinician).post(reverse("consultations:start", args=[patient.pk]))
    assert Consultation.objects.get(patient=patient).appointment is None
