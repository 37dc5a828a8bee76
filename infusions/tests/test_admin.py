"""The infusion policy in the admin: administrators edit it, and the change is audited."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from infusions.models import InfusionPolicy

pytestmark = pytest.mark.django_db


def test_administrator_edits_the_policy_and_it_applies_after_sign_off(client):
    from prescribers.models import PolicyChange
    from prescribers.policy import policy_change_decide
    from prescribers.tests.factories import credentialed, prescriber

    admin_user = UserFactory(username="policy.admin", role=Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:infusions_infusionpolicy_change", args=[1])
    page = client.get(url)
    assert page.status_code == 200
    assert "[S30]" in page.content.decode()  # the NPO defaults cite their source
    data = {
        name: ("" if value is None else value)
        for name, value in page.context["adminform"].form.initial.items()
        if name not in ("id", "updated_at", "updated_by")
    }
    data.update(min_observation_min=45, pregnancy_test_required="on")
    client.post(url, data)
    assert InfusionPolicy.objects.get(pk=1).min_observation_min != 45  # a proposal until signed off
    director = prescriber(username="director")
    credentialed(director, medical_director=True)
    policy_change_decide(change=PolicyChange.objects.get(), by=director, approve=True)
    policy = InfusionPolicy.objects.get(pk=1)
    assert policy.min_observation_min == 45
    assert policy.pregnancy_test_required is True
    assert AuditEvent.objects.filter(action="infusions.infusionpolicy.updated").exists()


def test_clinicians_cannot_change_the_policy(client, clinician):
    client.force_login(clinician)
    response = client.get(reverse("admin:infusions_infusionpolicy_change", args=[1]))
    assert response.status_code in (302, 403)
