"""Adjunct (integration or psychotherapy) visits: a consult room, never a chair, under the
scheduling exclusion constraints; a short note that is signed, then fixed, then amended."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from care_team import services
from care_team.models import AdjunctNote
from care_team.tests.factories import adjunct_visit
from scheduling.models import Appointment
from scheduling.services import SchedulingError
from scheduling.tests.factories import (
    AppointmentFactory,
    ClinicianFactory,
    LocationFactory,
    ResourceFactory,
    appointment_type,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    location = LocationFactory(time_zone="UTC")
    room = ResourceFactory(location=location, kind="room", name="Room 1")
    ResourceFactory(location=location, kind="chair", name="Chair 1")
    return location, room, ClinicianFactory(location=location)


def _tomorrow_at(hour: int) -> datetime:
    return datetime.combine(timezone.now().astimezone(UTC).date() + timedelta(days=1), time(hour), tzinfo=UTC)


def test_an_adjunct_visit_takes_a_room_not_a_chair(site, frontdesk, patient):
    location, room, therapist = site
    visit = services.adjunct_book(
        patient=patient, location=location, start=_tomorrow_at(10), by=frontdesk, clinician=therapist
    )
    assert visit.resource == room
    assert visit.appointment_type.code == "adjunct"
    assert visit.minutes == services.policy_current().adjunct_minutes


def test_a_visit_needs_the_clinician_who_sees_the_patient(site, frontdesk, patient):
    location, _room, _therapist = site
    with pytest.raises(SchedulingError, match="clinician"):
        services.adjunct_book(patient=patient, location=location, start=_tomorrow_at(10), by=frontdesk)


def test_no_free_room_refuses_even_when_a_chair_is_free(site, frontdesk, patient):
    location, room, therapist = site
    AppointmentFactory(location=location, resource=room, start=_tomorrow_at(10), end=_tomorrow_at(11))
    with pytest.raises(SchedulingError, match="room"):
        services.adjunct_book(
            patient=patient, location=location, start=_tomorrow_at(10), by=frontdesk, clinician=therapist
        )


def test_the_patient_cannot_be_in_the_chair_and_the_room_at_once(site, frontdesk, patient):
    location, _room, therapist = site
    chair = location.resources.get(kind="chair")
    AppointmentFactory(
        patient=patient,
        appointment_type=appointment_type("infusion"),
        location=location,
        resource=chair,
        start=_tomorrow_at(9),
        end=_tomorrow_at(11),
    )
    with pytest.raises(SchedulingError):
        services.adjunct_book(
            patient=patient, location=location, start=_tomorrow_at(10), by=frontdesk, clinician=therapist
        )
    # The day after the infusion is free.
    assert services.adjunct_book(
        patient=patient,
        location=location,
        start=_tomorrow_at(10) + timedelta(days=1),
        by=frontdesk,
        clinician=therapist,
    )


def test_the_database_refuses_two_visits_in_one_room(site, patient):
    location, room, _therapist = site
    adjunct_visit(patient=patient, location=location, resource=room, start=_tomorrow_at(10))
    with pytest.raises(IntegrityError), transaction.atomic():
        adjunct_visit(patient=AppointmentFactory().patient, location=location, resource=room, start=_tomorrow_at(10))


def test_the_booking_page_offers_the_day_after_an_infusion(client, frontdesk, site, patient):
    location, _room, therapist = site
    infusion = AppointmentFactory(
        patient=patient,
        appointment_type=appointment_type("infusion"),
        location=location,
        resource=location.resources.get(kind="chair"),
        start=_tomorrow_at(14),
        end=_tomorrow_at(16),
    )
    client.force_login(frontdesk)
    url = reverse("care_team:adjunct-book", args=[patient.pk])
    response = client.get(url, {"after": infusion.pk})
    day_after = (_tomorrow_at(14) + timedelta(days=1)).date()
    assert response.status_code == 200
    assert f'value="{day_after.isoformat()}"' in response.content.decode()
    response = client.post(
        url,
        {"day": day_after.isoformat(), "time": "14:00", "location": location.pk, "clinician": therapist.pk, "note": ""},
    )
    assert response.status_code == 302
    booked = Appointment.objects.get(patient=patient, appointment_type__code="adjunct")
    assert booked.resource.kind == "room"
    # The infusion's own page offers the booking to the desk.
    page = client.get(reverse("scheduling:appointment-detail", args=[infusion.pk]))
    assert "Book an integration visit the day after" in page.content.decode()


def test_a_note_is_signed_then_fixed_and_amended(nurse, patient):
    visit = adjunct_visit(patient=patient)
    note = services.adjunct_note_save(appointment=visit, by=nurse, text="Integration: processed imagery of session 3.")
    note = services.adjunct_note_sign(note=note, by=nurse)
    assert note.content_sha256
    with pytest.raises(ValidationError):
        services.adjunct_note_save(appointment=visit, by=nurse, text="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AdjunctNote.objects.filter(pk=note.pk).update(text="rewritten")
    amendment = services.adjunct_note_amend(note=note, by=nurse, reason="Late entry", text="Agreed a next visit.")
    assert amendment.note_id == note.pk


def test_a_note_is_not_signed_before_the_visit(nurse, patient):
    visit = adjunct_visit(patient=patient, start=timezone.now() + timedelta(days=1))
    note = services.adjunct_note_save(appointment=visit, by=nurse, text="Prepared questions.")
    with pytest.raises(ValidationError, match="started"):
        services.adjunct_note_sign(note=note, by=nurse)


def test_only_an_adjunct_visit_has_this_note(nurse, patient):
    with pytest.raises(ValidationError):
        services.adjunct_note_save(appointment=AppointmentFactory(patient=patient), by=nurse, text="x")


def test_the_front_desk_never_reads_a_note(client, frontdesk, patient):
    visit = adjunct_visit(patient=patient)
    client.force_login(frontdesk)
    assert client.get(reverse("care_team:adjunct-note", args=[visit.pk])).status_code == 403
