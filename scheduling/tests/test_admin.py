"""Administrators manage sites in the Django admin; appointments there are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from scheduling.models import Location
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["location", "appointmenttype", "clinicianhours", "appointment"])
def test_the_scheduling_admin_pages_open_for_administrators(client_as, admin, model):
    AppointmentFactory()
    assert client_as(admin).get(reverse(f"admin:scheduling_{model}_changelist")).status_code == 200


def test_appointments_cannot_be_changed_behind_the_services_back(client_as, admin):
    appt = AppointmentFactory()
    client = client_as(admin)
    assert client.get(reverse("admin:scheduling_appointment_add")).status_code == 403
    page = client.get(reverse("admin:scheduling_appointment_change", args=[appt.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_changing_a_site_in_the_admin_is_audited_as_configuration(client_as, admin):
    client = client_as(admin)
    response = client.post(
        reverse("admin:scheduling_location_add"),
        {
            "name": "Grace MindCare Harlem",
            "time_zone": "America/New_York",
            "monitoring_capacity": 3,
            "no_show_grace_minutes": 15,
            "active": "on",
            **{
                f"{prefix}-{k}": v
                for prefix in ("opening_hours", "closures", "resources")
                for k, v in {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}.items()
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    site = Location.objects.get(name="Grace MindCare Harlem")
    event = AuditEvent.objects.get(action="scheduling.location.created")
    assert (event.data_category, event.object_id) == ("configuration", str(site.pk))


def test_a_bad_time_zone_is_refused(client_as, admin):
    response = client_as(admin).post(
        reverse("admin:scheduling_location_add"),
        {"name": "Nowhere", "time_zone": "Mars/Olympus_Mons", "monitoring_capacity": 4, "no_show_grace_minutes": 15},
    )
    assert response.status_code == 200
    assert "not an IANA time zone" in response.content.decode()
