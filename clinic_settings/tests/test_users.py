"""Users and roles: accounts created, re-roled and deactivated in the product, each audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.roles import Role, role_of
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin.users", role=Role.ADMINISTRATOR)


NEW = {
    "username": "sam.lee",
    "first_name": "Sam",
    "last_name": "Lee",
    "email": "sam.lee@grace-mindcare.invalid",
    "credentials": "RN",
    "role": "nurse",
}


def test_an_administrator_creates_a_nurse_account(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:create", args=["users"]), NEW)
    assert response.status_code == 302
    user = User.objects.get(username="sam.lee")
    assert role_of(user) == Role.NURSE
    assert user.has_usable_password()  # random and unknown: they set theirs through the reset link
    event = AuditEvent.objects.get(action="accounts.user.created")
    assert (event.verb, event.data_category, event.object_id) == ("create", "security", str(user.pk))
    assert event.changes["role"] == ["", "nurse"]


def test_a_used_email_is_refused_and_what_was_typed_stays(client, administrator):
    UserFactory(email="sam.lee@grace-mindcare.invalid")
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:create", args=["users"]), {**NEW, "role": "surgeon"})
    form = response.context["form"]
    assert form.errors["email"] == ["Another account uses this e-mail address."]
    assert form.errors["role"][0].startswith("Select a valid choice.")
    assert 'value="sam.lee"' in response.content.decode()


def test_a_role_change_is_a_privilege_change_event(client, administrator):
    colleague = UserFactory(username="sam.lee", role=Role.FRONT_DESK)
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:edit", args=["users", colleague.pk]), {**NEW, "role": "nurse"})
    assert response.status_code == 302
    colleague = User.objects.get(pk=colleague.pk)
    assert role_of(colleague) == Role.NURSE
    event = AuditEvent.objects.get(action="accounts.user.privileges_changed")
    assert event.verb == "privilege_change"
    assert event.changes["role"] == ["front_desk", "nurse"]


def test_deactivating_an_account_keeps_it_and_is_audited(client, administrator):
    colleague = UserFactory(role=Role.NURSE)
    client.force_login(administrator)
    client.post(reverse("clinic_settings:retire", args=["users", colleague.pk]))
    assert User.objects.get(pk=colleague.pk).is_active is False
    event = AuditEvent.objects.get(action="accounts.user.deactivated")
    assert event.verb == "privilege_change"


def test_an_administrator_cannot_deactivate_themselves(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:retire", args=["users", administrator.pk]), follow=True)
    assert User.objects.get(pk=administrator.pk).is_active is True
    assert "ask another administrator" in response.content.decode()


def test_a_superuser_account_is_out_of_reach_of_other_administrators(client, administrator, admin):
    client.force_login(administrator)
    assert client.get(reverse("clinic_settings:edit", args=["users", admin.pk])).status_code == 404
    assert client.post(reverse("clinic_settings:retire", args=["users", admin.pk])).status_code == 404
    assert "admin.persona" not in client.get(reverse("clinic_settings:list", args=["users"])).content.decode()


def test_the_list_links_to_the_second_factor_reset(client, administrator):
    colleague = UserFactory(role=Role.NURSE)
    client.force_login(administrator)
    page = client.get(reverse("clinic_settings:list", args=["users"])).content.decode()
    assert reverse("accounts:two-factor-reset", args=[colleague.pk]) in page


@pytest.mark.parametrize("accounts", [1, 20])
def test_the_users_list_shows_roles_in_the_same_queries_however_many(
    client, administrator, django_assert_max_num_queries, accounts
):
    for _ in range(accounts):
        UserFactory(role=Role.NURSE)
    client.force_login(administrator)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("clinic_settings:list", args=["users"])).content.decode()
    assert "<td>Nurse</td>" in page
    assert "<td>Administrator</td>" in page
