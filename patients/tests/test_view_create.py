"""GET/POST /patients/new/: registration, bad input kept at the field, the duplicate warning."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = reverse("patients:create")


def form_data(**overrides):
    data = {
        "legal_first_name": "Ada",
        "legal_last_name": "Lindqvist",
        "date_of_birth": "03/07/1980",
        "sex_at_birth": "female",
        "phone": "(617) 555-0142",
        "email": "ada@example.com",
        "preferred_language": "English",
        "sms_opt_in": "on",
        "sms_consent_method": "verbal",
        "email_consent_method": "",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def test_the_form_is_offered(client_as, frontdesk):
    response = client_as(frontdesk).get(URL)
    assert response.status_code == 200
    assert "Reason to register anyway" not in response.content.decode()


def test_registering_lands_on_the_new_patient(client_as, frontdesk):
    response = client_as(frontdesk).post(URL, form_data())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert (patient.legal_last_name, patient.date_of_birth) == ("Lindqvist", date(1980, 3, 7))
    assert str(patient.phone) == "+16175550142"
    assert patient.sms_opt_in
    assert patient.sms_consent_at
    assert patient.sms_consent_method == "verbal"


@pytest.mark.parametrize("typed", ["3/7/80", "1980-03-07", "March 7 1980", "7 Mar 1980"])
def test_dates_of_birth_are_read_in_the_usual_forms(client_as, frontdesk, typed):
    client_as(frontdesk).post(URL, form_data(date_of_birth=typed))
    assert Patient.objects.get().date_of_birth == date(1980, 3, 7)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"date_of_birth": "01/01/2099"}, "date_of_birth", "in the future"),
        ({"date_of_birth": "01/01/1880"}, "date_of_birth", "more than 120 years"),
        ({"date_of_birth": "yesterday-ish"}, "date_of_birth", "MM/DD/YYYY"),
        ({"date_of_birth": ""}, "date_of_birth", "required"),
        ({"phone": "555-12"}, "phone", "valid phone number"),
        ({"email": "ada@"}, "email", "valid email"),
        ({"legal_last_name": ""}, "legal_last_name", "required"),
        ({"legal_first_name": "   "}, "legal_first_name", "required"),
        ({"sms_consent_method": ""}, "sms_consent_method", "how the patient gave consent"),
        ({"phone": "", "sms_opt_in": "on"}, "sms_opt_in", "need a phone number"),
        ({"legal_last_name": "x" * 101}, "legal_last_name", "at most 100"),
    ],
)
def test_bad_input_is_explained_at_the_field_and_kept(client_as, frontdesk, overrides, field, message):
    response = client_as(frontdesk).post(URL, form_data(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert message.lower() in " ".join(form.errors[field]).lower()
    html = response.content.decode()
    assert 'value="Lindqvist"' in html or field == "legal_last_name"
    typed = overrides.get(field)
    if typed and field not in ("sms_opt_in",):
        assert f'value="{typed}"' in html
    assert not Patient.objects.exists()


def test_a_nul_byte_is_stripped_at_the_edge_and_the_rest_kept(client_as, frontdesk):
    """Control characters never reach a form (one middleware strips them), so none can 500."""
    response = client_as(frontdesk).post(URL, form_data(legal_last_name="Null\x00Byte"))
    assert response.status_code == 302
    assert Patient.objects.get().legal_last_name == "NullByte"


def test_hostile_strings_are_stored_and_shown_as_text(client_as, frontdesk):
    client = client_as(frontdesk)
    response = client.post(
        URL,
        form_data(legal_last_name="<script>alert(1)</script>", legal_first_name="'; DROP TABLE patients_patient; --"),
    )
    patient = Patient.objects.get()
    assert patient.legal_last_name == "<script>alert(1)</script>"
    html = client.get(response["Location"]).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#x27;; DROP TABLE patients_patient; --" in html


def test_fields_the_desk_does_not_set_are_ignored(client_as, frontdesk):
    client_as(frontdesk).post(
        URL,
        form_data(mrn="GM1", version="99", status="deceased", sms_consent_at="2001-01-01T00:00", created_by="1"),
    )
    patient = Patient.objects.get()
    assert patient.mrn != "GM1"
    assert patient.version == 1
    assert patient.status == "active"
    assert patient.sms_consent_at.year >= 2026
    assert patient.created_by != 1 or patient.created_by.username == "fd.persona"


def test_a_near_copy_shows_the_possible_duplicates_and_asks_for_a_reason(client_as, frontdesk):
    original = PatientFactory(legal_last_name="Lindqvist", legal_first_name="Adah", date_of_birth=date(1980, 3, 7))
    client = client_as(frontdesk)

    first = client.post(URL, form_data(phone="", sms_opt_in=None, sms_consent_method="", email=""))
    html = first.content.decode()
    assert first.status_code == 200
    assert "This person may already be registered" in html
    assert reverse("patients:detail", args=[original.pk]) in html
    assert "same name and date of birth" in html
    assert 'value="Ada"' in html  # what was typed is kept
    assert "Reason to register anyway" in html
    assert not first.context["form"].errors  # a warning, not yet an error

    again = client.post(
        URL, form_data(phone="", sms_opt_in=None, sms_consent_method="", email="", duplicates_shown="1")
    )
    assert "Give a reason to register anyway" in " ".join(again.context["form"].errors["duplicate_reason"])
    assert Patient.objects.count() == 1

    done = client.post(
        URL,
        form_data(
            phone="", sms_opt_in=None, sms_consent_method="", email="", duplicate_reason="Different person: checked ID"
        ),
    )
    new = Patient.objects.exclude(pk=original.pk).get()
    assert done["Location"] == reverse("patients:detail", args=[new.pk])
    event = AuditEvent.objects.get(action="patients.patient.created", patient_id=new.pk)
    assert event.changes["duplicate_reason"] == [None, "Different person: checked ID"]


def test_posting_directly_cannot_skip_the_duplicate_check(client_as, frontdesk):
    PatientFactory(phone="+16175550142")
    response = client_as(frontdesk).post(URL, form_data(duplicate_reason=""))
    assert response.status_code == 200
    assert "same phone" in response.content.decode()
    assert Patient.objects.count() == 1
