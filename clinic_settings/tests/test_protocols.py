"""The protocol library: dose figures of a protocol in use wait for the medical director."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.models import Protocol
from consultations.tests.factories import depression_protocol
from prescribers.models import PolicyChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin.protocols", role=Role.ADMINISTRATOR)


def _data(protocol: Protocol, **overrides) -> dict:
    data = {
        "name": protocol.name,
        "indications": list(protocol.indications),
        "dose_unit": protocol.dose_unit,
        "dose_min": protocol.dose_min,
        "dose_max": protocol.dose_max,
        "infusion_minutes": protocol.infusion_minutes or "",
        "sessions": protocol.sessions or "",
        "sessions_per_week": protocol.sessions_per_week or "",
        "course": protocol.course,
        "default_weight_basis": protocol.default_weight_basis,
        "source": protocol.source,
        "notes": protocol.notes,
    }
    return {**data, **overrides}


def test_a_dose_edit_is_a_proposal_and_the_notes_save_now(client, administrator):
    protocol = depression_protocol()
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:edit", args=["protocols", protocol.pk]),
        _data(protocol, dose_max="0.6", notes="Reviewed this year."),
    )
    assert response.status_code == 302
    stored = Protocol.objects.get(pk=protocol.pk)
    assert stored.dose_max == protocol.dose_max
    assert stored.notes == "Reviewed this year."
    assert PolicyChange.objects.get().changes["dose_max"]["after"] == "0.600"
    assert AuditEvent.objects.filter(action="consultations.protocol.updated").exists()


def test_a_dose_outside_the_hard_bounds_is_refused_at_the_field(client, administrator):
    protocol = depression_protocol()
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:edit", args=["protocols", protocol.pk]), _data(protocol, dose_max="3")
    )
    assert response.status_code == 200
    assert "outside it" in response.context["form"].errors["dose_max"][0]
    assert not PolicyChange.objects.exists()
