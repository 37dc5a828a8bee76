"""Browser: each role signs in, sees its own home page, and signs out."""

import pytest
from django.contrib.auth.hashers import make_password

from accounts.roles import Role
from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough e2e password"
HOMES = {
    Role.FRONT_DESK: "Front desk",
    Role.NURSE: "Nurse",
    Role.PRESCRIBER: "Prescriber",
    Role.ADMINISTRATOR: "Administrator",
}


@pytest.mark.parametrize("role", list(HOMES))
def test_each_role_signs_in_to_its_home_and_signs_out(live_server, page, role):
    user = UserFactory(username=f"e2e-{role}", role=role)
    user.password = make_password(PASSWORD)
    user.save(update_fields=["password"])

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == HOMES[role]

    page.get_by_role("button", name=str(user)).click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")
    page.goto(f"{live_server.url}/patients/")
    assert "/accounts/login/" in page.url
