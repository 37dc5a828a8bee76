"""GET /patients/<pk>/: header, alerts, contact log, panels by role, audit, query count."""

import pytest
from django.urls import NoReverseMatch, reverse

from accounts.models import AuditEvent
from patients.tests.factories import ContactLogEntryFactory, PatientFactory

pytestmark = pytest.mark.django_db


def url(patient):
    return reverse("patients:detail", args=[patient.pk])


def test_the_page_shows_identifiers_contacts_and_preferences(client_as, frontdesk):
    patient = PatientFactory(
        legal_last_name="Okafor",
        legal_first_name="Ada",
        pronouns="she/her",
        escort_name="Ben Okafor",
        escort_relationship="Spouse",
        emergency_contact_name="Chi Okafor",
    )
    html = client_as(frontdesk).get(url(patient)).content.decode()
    for text in ("Okafor, Ada", "she/her", patient.mrn, "Ben Okafor", "Spouse", "Chi Okafor", "Contact preferences"):
        assert text in html


def test_opening_a_chart_is_audited(client_as, clinician, patient):
    client_as(clinician).get(url(patient))
    event = AuditEvent.objects.get(action="patients.patient.viewed")
    assert (event.patient_id, event.verb, event.actor) == (patient.pk, "read", clinician)


def test_an_unknown_patient_is_404(client_as, frontdesk):
    assert client_as(frontdesk).get(reverse("patients:detail", args=[987654321])).status_code == 404


@pytest.mark.parametrize(
    ("fields", "alert"),
    [
        ({"status": "deceased"}, "deceased"),
        ({"status": "inactive"}, "inactive"),
        ({"sms_opt_in": False, "email_opt_in": False}, "no_reminder_consent"),
        ({"escort_name": ""}, "no_escort"),
    ],
)
def test_alerts_show_in_the_header(client_as, frontdesk, fields, alert):
    patient = PatientFactory(**{"escort_name": "Someone"} | fields)
    assert f'data-alert="{alert}"' in client_as(frontdesk).get(url(patient)).content.decode()


def test_a_possible_duplicate_is_flagged_with_a_link(client_as, frontdesk):
    original = PatientFactory(legal_last_name="García", legal_first_name="José")
    copy = PatientFactory(legal_last_name="Garcia", legal_first_name="Jose", date_of_birth=original.date_of_birth)
    html = client_as(frontdesk).get(url(copy)).content.decode()
    assert 'data-alert="duplicate"' in html
    assert url(original) in html


def test_front_desk_never_sees_the_clinical_section(client_as, frontdesk, clinician, patient):
    assert 'id="clinical-panels"' not in client_as(frontdesk).get(url(patient)).content.decode()
    assert 'id="clinical-panels"' in client_as(clinician).get(url(patient)).content.decode()


def test_the_appointments_panel_loads_from_scheduling_when_it_exists(client_as, frontdesk, patient):
    html = client_as(frontdesk).get(url(patient)).content.decode()
    try:
        panel = reverse("scheduling:patient-panel", args=[patient.pk])
    except NoReverseMatch:
        assert "Appointments" not in html
    else:
        assert f'hx-get="{panel}"' in html


def test_hostile_names_are_shown_as_text(client_as, frontdesk):
    patient = PatientFactory(legal_last_name="<script>alert(1)</script>", legal_first_name="<b>x</b>")
    ContactLogEntryFactory(patient=patient, summary="<img src=x onerror=alert(1)>")
    html = client_as(frontdesk).get(url(patient)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_contact_log_shows_the_newest_entries_first_and_links_to_the_rest(client_as, frontdesk, patient):
    entries = ContactLogEntryFactory.create_batch(12, patient=patient)
    html = client_as(frontdesk).get(url(patient)).content.decode()
    newest, oldest = max(entries, key=lambda e: (e.at, e.pk)), min(entries, key=lambda e: (e.at, e.pk))
    assert newest.summary in html
    assert oldest.summary not in html  # bounded: 10 on the page
    assert reverse("patients:contacts", args=[patient.pk]) in html
    assert "All entries" in html


@pytest.mark.parametrize("rows", [1, 40])
def test_the_page_costs_the_same_queries_however_much_history(
    client_as, clinician, django_assert_max_num_queries, rows
):
    patient = PatientFactory(legal_last_name="Smith", legal_first_name="John")
    ContactLogEntryFactory.create_batch(rows, patient=patient, by=clinician)
    PatientFactory.create_batch(
        rows // 4, legal_last_name="Smith", legal_first_name="John", date_of_birth=patient.date_of_birth
    )
    client = client_as(clinician)
    # session, user, permissions (2), patient, audit of the read (role, one
    # statement), contact log, duplicates, session save (savepoint, update, release)
    with django_assert_max_num_queries(12):
        assert client.get(url(patient)).status_code == 200
