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
    "chain_wide": "on",
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


def test_an_administrator_assigns_a_new_colleague_to_locations(client, administrator):
    from scheduling.access import location_ids_for
    from scheduling.tests.factories import LocationFactory

    north, south, _east = LocationFactory(name="North"), LocationFactory(name="South"), LocationFactory(name="East")
    client.force_login(administrator)
    scoped = {**NEW, "chain_wide": "", "locations": [north.pk, south.pk]}
    response = client.post(reverse("clinic_settings:create", args=["users"]), scoped)
    assert response.status_code == 302
    user = User.objects.get(username="sam.lee")
    assert not user.chain_wide
    assert location_ids_for(user) == {north.pk, south.pk}
    event = AuditEvent.objects.get(action="accounts.user.created")
    assert event.changes["locations"] == [[], ["North", "South"]]
    listing = client.get(reverse("clinic_settings:list", args=["users"])).content.decode()
    assert "North, South" in listing


def test_a_new_account_needs_a_location_or_all_locations(client, administrator):
    client.force_login(administrator)
    response = client.post(reverse("clinic_settings:create", args=["users"]), {**NEW, "chain_wide": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["locations"] == [
        "Choose the locations this colleague works at, or All locations."
    ]
    assert not User.objects.filter(username="sam.lee").exists()
    # Unticked by default: a new account is scoped unless the administrator says otherwise.
    blank = client.get(reverse("clinic_settings:create", args=["users"]))
    assert blank.context["form"]["chain_wide"].value() is False


def test_narrowing_a_colleague_to_one_location_is_a_privilege_change(client, administrator):
    from scheduling.models import StaffLocation
    from scheduling.tests.factories import LocationFactory

    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    colleague = UserFactory(username="sam.lee", role=Role.NURSE)
    StaffLocation.objects.create(user=colleague, location=south)
    client.force_login(administrator)
    url = reverse("clinic_settings:edit", args=["users", colleague.pk])
    assert client.get(url).context["form"]["locations"].value() == [south.pk]
    response = client.post(url, {**NEW, "chain_wide": "", "locations": [north.pk]})
    assert response.status_code == 302
    colleague.refresh_from_db()
    assert not colleague.chain_wide
    assert list(StaffLocation.objects.filter(user=colleague).values_list("location__name", flat=True)) == ["North"]
    event = AuditEvent.objects.get(action="accounts.user.privileges_changed")
    assert event.changes["chain_wide"] == [True, False]
    assert event.changes["locations"] == [["South"], ["North"]]
