"""The patient page's appointment panel, and the clinician's private calendar feed."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from patients.tests.factories import PatientFactory
from scheduling.models import Appointment, CalendarFeed
from scheduling.tests.conftest import at, book, local_day

pytestmark = pytest.mark.django_db


def _history(clinic, patient, by, count, first=0):
    rows = []
    for i in range(first, first + count):
        start = at(local_day(-1 - i), 10) if i % 2 else at(local_day(1 + i), 10)
        rows.append(
            Appointment(
                patient=patient,
                appointment_type=clinic.consultation,
                location=clinic.site,
                resource=clinic.rooms[0],
                clinician=clinic.doctor,
                start=start,
                end=start + timedelta(hours=1),
                status="completed" if i % 2 else "booked",
            )
        )
    Appointment.objects.bulk_create(rows)


def test_the_patient_panel_shows_upcoming_and_past_with_a_fixed_query_count(
    client_as, frontdesk, clinic, django_assert_max_num_queries
):
    patient = PatientFactory()
    url = reverse("scheduling:patient-panel", args=[patient.pk])
    client = client_as(frontdesk)
    _history(clinic, patient, frontdesk, 2)
    # session, user, permissions ×2, patient, upcoming, past, audit (one statement), role (nav
    # context), session save (savepoint, update, release), online requests, waitlist entries
    with django_assert_max_num_queries(14):
        few = client.get(url)
    _history(clinic, patient, frontdesk, 50, first=2)  # more rows, same queries
    with django_assert_max_num_queries(14):
        many = client.get(url)
    assert len(few.context["upcoming"]) < len(many.context["upcoming"])
    assert len(many.context["past"]) == 20
    assert "Book a series" in many.content.decode()
    assert (
        AuditEvent.objects.filter(action="scheduling.patient_appointments.viewed", patient_id=patient.pk).count() == 2
    )


def test_the_panel_is_a_fragment_for_htmx_not_a_page(client_as, clinician, clinic, patient, frontdesk):
    book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    html = client_as(clinician).get(reverse("scheduling:patient-panel", args=[patient.pk])).content.decode()
    assert "<html" not in html
    assert 'id="appointments-panel"' in html
    assert "Book a series" not in html  # clinicians do not book


def _new_feed(client):
    client.post(reverse("scheduling:feed-regenerate"))
    url = client.get(reverse("scheduling:feeds")).context["feed_url"]
    return url[url.index("/schedule/") :]


def test_the_feed_shows_initials_and_type_never_names(client_as, client, frontdesk, clinic):
    patient = PatientFactory(legal_first_name="Zephyrine", legal_last_name="Quackenbush")
    appt = book(clinic, patient, frontdesk, start=at(local_day(2), 10))
    path = _new_feed(client_as(clinic.doctor))
    client.logout()
    response = client.get(path)  # calendar apps do not sign in
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "Zephyrine" not in body
    assert "Quackenbush" not in body
    assert patient.mrn not in body
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "ZQ · Intake consultation"
    assert event.decoded("DTSTART") == appt.start
    assert AuditEvent.objects.filter(action="scheduling.calendar_feed.fetched", verb="export").exists()


def test_the_feed_secret_is_stored_only_as_a_hash(client_as, clinic):
    path = _new_feed(client_as(clinic.doctor))
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    feed = CalendarFeed.objects.get(clinician=clinic.doctor)
    assert token not in feed.token_hash
    assert len(token) >= 43  # 256 bits, URL-safe
    assert client_as(clinic.doctor).get(reverse("scheduling:feeds")).context["feed_url"] == ""  # shown once


def test_a_revoked_or_replaced_feed_is_gone(client_as, client, clinic):
    doctor = client_as(clinic.doctor)
    first = _new_feed(doctor)
    second = _new_feed(doctor)
    doctor.post(reverse("scheduling:feed-revoke"))
    client.logout()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 404
    assert not CalendarFeed.objects.filter(revoked_at__isnull=True).exists()


def test_a_clinician_cannot_issue_a_feed_for_someone_else(clinic):
    from django.core.exceptions import PermissionDenied

    from scheduling import services

    with pytest.raises(PermissionDenied):
        services.calendar_feed_issue(clinician=clinic.nurse, by=clinic.doctor)
