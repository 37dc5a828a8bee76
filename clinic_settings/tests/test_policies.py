"""The policy pages: clinical policy changes wait for the medical director; bounds are shown and held."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from clinic_settings.pages import POLICIES
from controlled_substances.models import ControlledSubstancePolicy
from infusions.models import InfusionPolicy
from prescribers.models import PolicyChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin.policy", role=Role.ADMINISTRATOR)


def _current(response) -> dict:
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = field.prepare_value(value)
    return data


@pytest.mark.parametrize("slug", sorted(POLICIES))
@pytest.mark.parametrize("who", ["frontdesk", "nurse", "prescriber", "outsider"])
def test_only_administrators_open_the_policy_pages(client, persona, slug, who):
    client.force_login(persona[who])
    assert client.get(reverse("clinic_settings:policy", args=[slug])).status_code == 403
    assert client.post(reverse("clinic_settings:policy", args=[slug]), {}).status_code == 403


@pytest.mark.parametrize("slug", sorted(POLICIES))
def test_each_policy_page_shows_its_fields_with_their_source_and_bounds(client, administrator, slug):
    client.force_login(administrator)
    response = client.get(reverse("clinic_settings:policy", args=[slug]))
    assert response.status_code == 200
    # Every way back out of the page leads somewhere: no breadcrumb to a list a policy does not have.
    crumbs = re.findall(r'<li class="breadcrumb-item"><a href="([^"]+)"', response.content.decode())
    assert crumbs
    for href in crumbs:
        assert client.get(href).status_code == 200, href


def test_the_infusion_policy_shows_sources_and_an_edit_becomes_a_proposal(client, administrator):
    client.force_login(administrator)
    url = reverse("clinic_settings:policy", args=["infusion-policy"])
    page = client.get(url)
    html = page.content.decode()
    assert "[S30]" in html  # the fasting defaults cite their source
    assert "clinic policy" in html.lower()
    data = {**_current(page), "min_observation_min": 45}
    response = client.post(url, data)
    assert response.status_code == 302
    assert InfusionPolicy.objects.get(pk=1).min_observation_min != 45  # not until signed off
    change = PolicyChange.objects.get()
    assert change.changes["min_observation_min"]["after"] == 45
    assert change.proposed_by == administrator
    assert AuditEvent.objects.filter(action="prescribers.policy_change.proposed", actor=administrator).exists()


def test_a_value_outside_its_bounds_is_refused_at_the_field_and_kept(client, administrator):
    client.force_login(administrator)
    url = reverse("clinic_settings:policy", args=["infusion-policy"])
    data = {**_current(client.get(url)), "min_infusion_minutes": 1}
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["min_infusion_minutes"] == [
        "Ensure this value is greater than or equal to 2."
    ]
    assert 'value="1"' in response.content.decode()
    assert not PolicyChange.objects.exists()


def test_the_controlled_substance_policy_applies_at_once_and_is_audited(client, administrator):
    client.force_login(administrator)
    url = reverse("clinic_settings:policy", args=["controlled-substance-policy"])
    data = {**_current(client.get(url)), "significant_discrepancy_mg": "5.00"}
    assert client.post(url, data).status_code == 302
    assert str(ControlledSubstancePolicy.objects.get(pk=1).significant_discrepancy_mg) == "5.00"
    event = AuditEvent.objects.get(action="controlled_substances.controlledsubstancepolicy.updated")
    assert event.changes["significant_discrepancy_mg"][1] == "5.00"


def test_the_self_booking_policy_is_validated_saved_at_once_and_audited(client, administrator):
    from scheduling.models import SelfBookingPolicy

    client.force_login(administrator)
    url = reverse("clinic_settings:policy", args=["self-booking-policy"])
    data = _current(client.get(url))
    refused = client.post(url, {**data, "horizon_days": "2", "min_notice_hours": "48"})
    assert refused.status_code == 200
    assert "must be shorter" in refused.content.decode()
    too_many = client.post(url, {**data, "waitlist_offer_count": "50"})
    assert too_many.status_code == 200
    assert SelfBookingPolicy.objects.get(pk=1).waitlist_offer_count == 3
    saved = client.post(url, {**data, "horizon_days": "14", "waitlist_offer_count": "5"})
    assert saved.status_code == 302
    row = SelfBookingPolicy.objects.get(pk=1)
    assert (row.horizon_days, row.waitlist_offer_count) == (14, 5)
    event = AuditEvent.objects.filter(action="scheduling.selfbookingpolicy.updated").latest("id")
    assert event.changes["horizon_days"] == [28, 14]


def test_an_administrator_makes_an_appointment_type_self_bookable(client, administrator):
    from scheduling.tests.factories import appointment_type

    kind = appointment_type("follow_up")
    client.force_login(administrator)
    url = reverse("clinic_settings:edit", args=["appointment-types", kind.pk])
    form = client.get(url).context["form"]
    data = {name: field.prepare_value(form.initial.get(name)) for name, field in form.fields.items()}
    data = {k: v for k, v in data.items() if v is not None and v is not False}
    data["self_bookable"] = "on"
    assert client.post(url, data).status_code == 302
    kind.refresh_from_db()
    assert kind.self_bookable
    changed = AuditEvent.objects.filter(action="scheduling.appointmenttype.updated", changes__has_key="self_bookable")
    assert changed.exists()
