"""GET/POST /patients/<pk>/edit/: saves through the service; two editors never overwrite silently."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def url(patient):
    return reverse("patients:edit", args=[patient.pk])


def edit_data(patient, **overrides):
    data = {
        "legal_first_name": patient.legal_first_name,
        "legal_last_name": patient.legal_last_name,
        "date_of_birth": patient.date_of_birth.strftime("%m/%d/%Y"),
        "sex_at_birth": patient.sex_at_birth,
        "phone": str(patient.phone),
        "email": patient.email,
        "preferred_language": patient.preferred_language,
        "city": patient.city,
        "version": str(patient.version),
    }
    return data | overrides


def test_the_form_shows_the_current_values(client_as, frontdesk):
    patient = PatientFactory(date_of_birth=date(1980, 3, 7), city="Salem")
    html = client_as(frontdesk).get(url(patient)).content.decode()
    assert 'value="03/07/1980"' in html
    assert 'value="Salem"' in html
    assert 'name="version" value="1"' in html


def test_saving_goes_through_the_service_and_is_audited(client_as, frontdesk, patient):
    response = client_as(frontdesk).post(url(patient), edit_data(patient, city="Boston"))
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    patient.refresh_from_db()
    assert (patient.city, patient.version) == ("Boston", 2)
    assert AuditEvent.objects.get(action="patients.patient.updated").changes["city"][1] == "Boston"


def test_the_second_of_two_editors_is_told_and_keeps_their_input(frontdesk, admin):
    patient = PatientFactory(city="Salem")
    first, second = Client(), Client()
    first.force_login(admin)
    second.force_login(frontdesk)
    loaded_by_both = edit_data(patient)

    first.post(url(patient), loaded_by_both | {"city": "Boston"})
    response = second.post(url(patient), loaded_by_both | {"city": "Chicago", "pronouns": "they/them"})

    assert response.status_code == 200
    # Only what the other person changed is listed (read from the history), with both values.
    assert [label for label, _, _ in response.context["conflicts"]] == ["City"]
    assert response.context["conflicts"][0][1:] == ("Boston", "Chicago")
    html = response.content.decode()
    assert "Someone else saved changes to this patient" in html
    assert 'value="Chicago"' in html  # their input is kept
    assert "Boston" in html  # and the other save is shown
    assert 'name="version" value="2"' in html
    patient.refresh_from_db()
    assert patient.city == "Boston"

    # Saving again on purpose applies the second editor's version.
    second.post(url(patient), loaded_by_both | {"city": "Chicago", "version": "2"})
    patient.refresh_from_db()
    assert (patient.city, patient.version) == ("Chicago", 3)


def test_a_form_without_its_version_is_refused_visibly(client_as, frontdesk, patient):
    data = edit_data(patient, city="Boston")
    del data["version"]
    response = client_as(frontdesk).post(url(patient), data)
    assert response.status_code == 200
    assert "reload the page" in response.content.decode()
    patient.refresh_from_db()
    assert patient.version == 1


def test_bad_input_is_kept_and_explained(client_as, frontdesk, patient):
    response = client_as(frontdesk).post(url(patient), edit_data(patient, email="not@", date_of_birth="2/30/1980"))
    assert set(response.context["form"].errors) == {"email", "date_of_birth"}
    assert 'value="2/30/1980"' in response.content.decode()


def test_an_unknown_patient_is_404(client_as, frontdesk):
    assert client_as(frontdesk).get(reverse("patients:edit", args=[10**9])).status_code == 404
