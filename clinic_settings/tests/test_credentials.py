"""Prescribers' credentials, the rescue formulary and the controlled-substance lists, outside the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from infusions.models import RescueDrug
from prescribers.models import PrescriberProfile, StateLicence

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin.credentials", role=Role.ADMINISTRATOR)


def test_a_prescriber_profile_and_licence_are_recorded_and_audited(client, administrator):
    doctor = UserFactory(role=Role.PRESCRIBER)
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["prescribers"]),
        {"user": doctor.pk, "credential": "MD", "npi": "1234567893"},
    )
    assert response.status_code == 302, response.context["form"].errors
    profile = PrescriberProfile.objects.get(user=doctor)
    response = client.post(
        reverse("clinic_settings:create", args=["state-licences"]),
        {"profile": profile.pk, "state": "NY", "number": "123456", "expires_on": "2030-01-31"},
    )
    assert response.status_code == 302, response.context["form"].errors
    assert StateLicence.objects.filter(profile=profile, state="NY").exists()
    assert AuditEvent.objects.filter(action="prescribers.statelicence.created", data_category="security").exists()


def test_a_malformed_npi_is_refused_at_the_field_without_an_error_page(client, administrator):
    doctor = UserFactory(role=Role.PRESCRIBER)
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["prescribers"]), {"user": doctor.pk, "credential": "MD", "npi": "12ab"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'value="12ab"' in response.content.decode()
    assert not PrescriberProfile.objects.exists()


def test_a_rescue_drug_is_retired_not_deleted(client, administrator):
    # The formulary's migration seeds Ondansetron; a database emptied by an earlier test has none.
    drug, _ = RescueDrug.objects.update_or_create(
        name="Ondansetron", defaults={"default_dose": "4", "source": "[S11]", "active": True}
    )
    client.force_login(administrator)
    client.post(reverse("clinic_settings:retire", args=["rescue-drugs", drug.pk]))
    assert RescueDrug.objects.get(pk=drug.pk).active is False


@pytest.mark.parametrize("who", ["frontdesk", "nurse", "prescriber"])
@pytest.mark.parametrize("slug", ["prescribers", "state-licences", "prescriber-dea", "rescue-drugs", "products"])
def test_clinical_and_desk_staff_cannot_edit_credentials_or_lists(client, persona, who, slug):
    client.force_login(persona[who])
    assert client.get(reverse("clinic_settings:list", args=[slug])).status_code == 403
