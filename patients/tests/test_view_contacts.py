"""GET/POST /patients/<pk>/contacts/: the contact log, paginated; adding an entry."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from patients.models import ContactLogEntry
from patients.tests.factories import ContactLogEntryFactory

pytestmark = pytest.mark.django_db


def url(patient):
    return reverse("patients:contacts", args=[patient.pk])


def test_logging_a_contact_returns_to_the_patient_page_where_it_is_listed(client_as, frontdesk, patient):
    client = client_as(frontdesk)
    response = client.post(
        url(patient), {"channel": "phone", "direction": "out", "summary": "Confirmed Tuesday 10:00."}
    )
    assert response["Location"] == reverse("patients:detail", args=[patient.pk]) + "#contact-log"
    assert "Confirmed Tuesday 10:00." in client.get(response["Location"]).content.decode()
    entry = ContactLogEntry.objects.get()
    assert entry.by == frontdesk


def test_clinicians_may_log_contacts_too(client_as, clinician, patient):
    client_as(clinician).post(url(patient), {"channel": "email", "direction": "in", "summary": "Asked about parking."})
    assert ContactLogEntry.objects.filter(by=clinician).exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "phone", "direction": "out", "summary": "   "}, "summary"),
        ({"channel": "fax", "direction": "out", "summary": "Sent"}, "channel"),
        ({"channel": "phone", "direction": "out", "summary": "x" * 301}, "summary"),
        ({"channel": "phone", "direction": "out", "summary": "Later", "at": "2099-01-01T10:00"}, "at"),
        ({"channel": "phone", "direction": "out", "summary": "When?", "at": "not a time"}, "at"),
    ],
)
def test_bad_input_is_explained_and_kept(client_as, frontdesk, patient, data, field):
    response = client_as(frontdesk).post(url(patient), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ContactLogEntry.objects.exists()


def test_a_past_time_can_be_given(client_as, frontdesk, patient):
    when = timezone.localtime() - timedelta(days=1)
    client_as(frontdesk).post(
        url(patient),
        {
            "channel": "in_person",
            "direction": "in",
            "summary": "Dropped off forms.",
            "at": when.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert timezone.localtime(ContactLogEntry.objects.get().at).date() == when.date()


def test_people_without_access_cannot_post(client_as, outsider, patient):
    response = client_as(outsider).post(url(patient), {"channel": "phone", "direction": "out", "summary": "x"})
    assert response.status_code == 403
    assert not ContactLogEntry.objects.exists()


@pytest.mark.parametrize("page", ["abc", "0", "999"])
def test_any_page_number_works(client_as, frontdesk, patient, page):
    ContactLogEntryFactory.create_batch(3, patient=patient)
    assert client_as(frontdesk).get(url(patient), {"page": page}).status_code == 200


@pytest.mark.parametrize("rows", [2, 60])
def test_the_log_costs_the_same_queries_however_long(
    client_as, frontdesk, patient, django_assert_max_num_queries, rows
):
    ContactLogEntryFactory.create_batch(rows, patient=patient, by=frontdesk)
    client = client_as(frontdesk)
    # session, user, permissions (2), patient, role, audit of the read (5),
    # count, page (with authors), session save (3)
    with django_assert_max_num_queries(16):
        assert client.get(url(patient)).status_code == 200
    assert AuditEvent.objects.filter(action="patients.contact_log.viewed").exists()
