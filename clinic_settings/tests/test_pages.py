"""The settings pages: who may open them, what they refuse and say, and the audit trail."""

from __future__ import annotations

from datetime import time

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from clinic_settings.pages import PAGES
from scheduling.models import ClinicianHours, Location, OpeningHours, Resource
from scheduling.tests.factories import ClinicianFactory, LocationFactory, ResourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    """An administrator who is not a superuser: the settings pages are theirs, the admin is not."""
    return UserFactory(username="admin.plain", role=Role.ADMINISTRATOR)


REFUSED = ("frontdesk", "nurse", "prescriber", "outsider")


@pytest.mark.parametrize("slug", sorted(PAGES))
@pytest.mark.parametrize("who", REFUSED)
def test_only_administrators_open_each_settings_page(client, persona, slug, who):
    client.force_login(persona[who])
    assert client.get(reverse("clinic_settings:list", args=[slug])).status_code == 403
    assert client.get(reverse("clinic_settings:create", args=[slug])).status_code == 403
    assert client.post(reverse("clinic_settings:create", args=[slug]), {}).status_code == 403


@pytest.mark.parametrize("slug", sorted(PAGES))
def test_an_administrator_opens_each_page_and_its_form(client, administrator, slug):
    client.force_login(administrator)
    assert client.get(reverse("clinic_settings:list", args=[slug])).status_code == 200
    expected = 200 if PAGES[slug].can_add else 404
    assert client.get(reverse("clinic_settings:create", args=[slug])).status_code == expected


def test_the_settings_index_lists_the_pages_for_administrators_only(client, administrator, nurse):
    client.force_login(administrator)
    page = client.get(reverse("clinic_settings:index")).content.decode()
    assert "Opening hours" in page
    assert "Clinician hours" in page
    client.force_login(nurse)
    assert client.get(reverse("clinic_settings:index")).status_code == 403


def test_the_django_admin_is_for_superusers_only(client, administrator, admin):
    client.force_login(administrator)
    assert client.get(reverse("admin:index")).status_code == 302
    client.force_login(admin)
    assert client.get(reverse("admin:index")).status_code == 200


def test_adding_a_location_is_audited_without_patient_data(client, administrator):
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["locations"]),
        {
            "name": "Grace Uptown",
            "time_zone": "America/New_York",
            "monitoring_capacity": 4,
            "no_show_grace_minutes": 15,
        },
    )
    assert response.status_code == 302
    location = Location.objects.get(name="Grace Uptown")
    event = AuditEvent.objects.get(action="scheduling.location.created")
    assert (event.actor, event.verb, event.data_category) == (administrator, "create", "configuration")
    assert event.object_id == str(location.pk)
    assert event.patient_id is None
    assert event.changes["name"] == [None, "Grace Uptown"]


def test_a_bad_time_zone_is_refused_at_the_field_and_what_was_typed_stays(client, administrator):
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["locations"]),
        {"name": "Grace Uptown", "time_zone": "Mars/Olympus", "monitoring_capacity": 99},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "is not an IANA time zone name" in form.errors["time_zone"][0]
    assert form.errors["monitoring_capacity"] == ["Ensure this value is less than or equal to 20."]
    assert form.errors["no_show_grace_minutes"] == ["This field is required."]
    page = response.content.decode()
    assert 'value="Grace Uptown"' in page
    assert 'value="Mars/Olympus"' in page
    assert not Location.objects.filter(name="Grace Uptown").exists()
    assert not AuditEvent.objects.filter(action="scheduling.location.created").exists()


def test_opening_hours_that_close_before_they_open_are_refused_in_words(client, administrator):
    site = LocationFactory(hours=[])
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["opening-hours"]),
        {"location": site.pk, "weekday": 0, "opens": "17:00", "closes": "09:00", "effective_from": "2026-01-05"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["closes"] == ["Must be after 5:00 PM."]
    assert 'value="09:00"' in response.content.decode()
    assert "Constraint" not in response.content.decode()


def test_new_opening_hours_start_today_unless_told_otherwise(client, administrator):
    client.force_login(administrator)
    response = client.get(reverse("clinic_settings:create", args=["opening-hours"]))
    assert response.context["form"].fields["effective_from"].initial is not None


def test_clinician_hours_overlapping_another_site_are_refused_in_the_form(client, administrator):
    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    nurse = ClinicianFactory(first_name="Ada", last_name="Okafor")
    ClinicianHours.objects.create(clinician=nurse, location=north, weekday=2, starts=time(9), ends=time(13))
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["clinician-hours"]),
        {"clinician": nurse.pk, "location": south.pk, "weekday": 2, "starts": "12:00", "ends": "16:00"},
    )
    assert response.status_code == 200
    message = response.context["form"].errors["starts"][0]
    assert "already works 9:00 AM–1:00 PM on Wednesday at North" in message
    assert 'value="12:00"' in response.content.decode()
    assert ClinicianHours.objects.filter(clinician=nurse).count() == 1
    ok = client.post(
        reverse("clinic_settings:create", args=["clinician-hours"]),
        {"clinician": nurse.pk, "location": south.pk, "weekday": 2, "starts": "13:00", "ends": "17:00"},
    )
    assert ok.status_code == 302
    assert ClinicianHours.objects.filter(clinician=nurse).count() == 2


def test_a_chair_name_used_at_the_site_is_refused(client, administrator):
    site = LocationFactory()
    ResourceFactory(location=site, name="Chair 1")
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["chairs-and-rooms"]),
        {"location": site.pk, "kind": "chair", "name": "chair 1", "sort_order": 2},
    )
    assert response.context["form"].errors["name"] == [f"{site.name} already has a chair or room named chair 1."]


def test_editing_a_chair_audits_before_and_after(client, administrator):
    chair = ResourceFactory(name="Chair 1")
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:edit", args=["chairs-and-rooms", chair.pk]),
        {"location": chair.location_id, "kind": "chair", "name": "Window chair", "sort_order": chair.sort_order},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="scheduling.resource.updated")
    assert event.changes == {"name": ["Chair 1", "Window chair"]}


def test_a_chair_is_deactivated_never_deleted_and_can_come_back(client, administrator):
    chair = ResourceFactory()
    client.force_login(administrator)
    client.post(reverse("clinic_settings:retire", args=["chairs-and-rooms", chair.pk]))
    chair.refresh_from_db()
    assert chair.active is False
    assert AuditEvent.objects.filter(action="scheduling.resource.deactivated", object_id=str(chair.pk)).exists()
    client.post(reverse("clinic_settings:retire", args=["chairs-and-rooms", chair.pk]))
    assert Resource.objects.get(pk=chair.pk).active is True


def test_ending_opening_hours_keeps_the_row_for_the_days_it_applied(client, administrator):
    site = LocationFactory(hours=[(0, time(9), time(17))])
    hours = OpeningHours.objects.get(location=site)
    client.force_login(administrator)
    client.post(reverse("clinic_settings:retire", args=["opening-hours", hours.pk]))
    hours.refresh_from_db()
    assert hours.effective_until is not None
    assert AuditEvent.objects.filter(action="scheduling.openinghours.ended").exists()


def test_closures_cannot_be_retired(client, administrator):
    site = LocationFactory()
    closure = site.closures.create(starts_on="2026-12-25", ends_on="2026-12-25", reason="Christmas Day")
    client.force_login(administrator)
    assert client.post(reverse("clinic_settings:retire", args=["closures", closure.pk])).status_code == 404


def test_appointment_types_are_edited_not_added(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("clinic_settings:create", args=["appointment-types"])).status_code == 404


def test_an_unknown_page_is_not_found(client, administrator):
    client.force_login(administrator)
    assert client.get(reverse("clinic_settings:list", args=["patients"])).status_code == 404


@pytest.mark.parametrize("rows", [1, 30])
def test_a_list_costs_the_same_queries_however_many_rows(client, administrator, django_assert_max_num_queries, rows):
    for _ in range(rows):
        ResourceFactory()
    client.force_login(administrator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("clinic_settings:list", args=["chairs-and-rooms"]))
    assert response.status_code == 200
    assert len(response.context["rows"]) == min(rows, 25)


def test_a_chair_with_bookings_ahead_is_not_taken_out_of_service(client, administrator):
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.tests.factories import AppointmentFactory, appointment_type

    chair = ResourceFactory(name="Chair 9")
    start = timezone.now() + timedelta(days=2)
    AppointmentFactory(
        appointment_type=appointment_type("infusion"),
        location=chair.location,
        resource=chair,
        start=start,
        end=start + timedelta(hours=2),
        clinician_exclusive=False,
    )
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:retire", args=["chairs-and-rooms", chair.pk]), follow=True)
    assert "Chair 9 has 1 booking ahead: move or cancel it first" in response.content.decode()
    assert Resource.objects.get(pk=chair.pk).active is True
    response = client.post(reverse("clinic_settings:retire", args=["locations", chair.location_id]), follow=True)
    assert "has 1 booking ahead" in response.content.decode()
    assert Location.objects.get(pk=chair.location_id).active is True
