"""A follow-up or booster appointment's page reaches its note whatever the day (or opens it)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from followups import services
from followups.tests.factories import follow_up_appointment

pytestmark = pytest.mark.django_db


def test_the_appointment_page_opens_then_links_the_follow_up_note(client_as, clinician, frontdesk, patient):
    appointment = follow_up_appointment(patient=patient, clinician=clinician)
    url = reverse("scheduling:appointment-detail", args=[appointment.pk])
    body = client_as(clinician).get(url).content.decode()
    assert "Open the follow-up note</button>" in body
    assert reverse("followups:visit-open", args=[appointment.pk]) in body
    visit = services.visit_open(appointment=appointment, by=clinician)
    body = client_as(clinician).get(url).content.decode()
    assert reverse("followups:visit-detail", args=[visit.pk]) in body
    assert "Follow-up note (draft)" in body
    assert 'id="appointment-records"' not in client_as(frontdesk).get(url).content.decode()
