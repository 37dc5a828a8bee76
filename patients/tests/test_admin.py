"""The Django admin shows the registry read-only: changes go through the services."""

import pytest
from django.urls import reverse

from patients.tests.factories import ContactLogEntryFactory

pytestmark = pytest.mark.django_db


def test_administrators_can_look_but_not_edit(client_as, admin, patient):
    client = client_as(admin)
    entry = ContactLogEntryFactory(patient=patient)
    assert client.get(reverse("admin:patients_patient_changelist")).status_code == 200
    page = client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    assert page.status_code == 200
    assert b'name="legal_last_name"' not in page.content  # shown, not editable
    assert client.get(reverse("admin:patients_contactlogentry_change", args=[entry.pk])).status_code == 200
    assert client.get(reverse("admin:patients_patient_add")).status_code == 403
    assert client.post(reverse("admin:patients_patient_delete", args=[patient.pk]), {"post": "yes"}).status_code == 403
    patient.refresh_from_db()
