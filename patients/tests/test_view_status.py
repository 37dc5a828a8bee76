"""GET/POST /patients/<pk>/status/: deactivate or record a death instead of deleting."""

import pytest
from django.urls import reverse

from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def url(patient):
    return reverse("patients:status", args=[patient.pk])


def test_only_allowed_moves_are_offered(client_as, frontdesk):
    html = client_as(frontdesk).get(url(PatientFactory(status="deceased"))).content.decode()
    assert 'value="active"' in html
    assert 'value="inactive"' not in html


def test_deactivating_shows_on_the_patient_page(client_as, frontdesk, patient):
    client = client_as(frontdesk)
    response = client.post(url(patient), {"status": "inactive", "reason": "Moved to Ohio"})
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    html = client.get(response["Location"]).content.decode()
    assert 'data-alert="inactive"' in html
    assert "Moved to Ohio" in html


@pytest.mark.parametrize(
    ("data", "field"), [({"status": "inactive", "reason": ""}, "reason"), ({"status": "gone", "reason": "x"}, "status")]
)
def test_bad_input_is_explained(client_as, frontdesk, patient, data, field):
    response = client_as(frontdesk).post(url(patient), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    patient.refresh_from_db()
    assert patient.status == "active"
