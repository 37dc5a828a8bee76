from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory

LOGIN = "/accounts/login/"
PASSWORD = "correct horse battery staple"


def _attempt(client, username, password, ip="10.0.0.7"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def nurse(db):
    return UserFactory(username="nurse", password=PASSWORD, role=Role.NURSE)


@pytest.mark.django_db
def test_a_user_signs_in_and_lands_on_their_home(client, nurse):
    response = _attempt(client, "nurse", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert AuditEvent.objects.filter(action="accounts.user.signed_in", actor=nurse).exists()


@pytest.mark.django_db
def test_a_wrong_password_is_refused_and_audited_without_the_password(client, nurse):
    response = _attempt(client, "nurse", "wrong-password-123")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    event = AuditEvent.objects.get(action="accounts.user.sign_in_failed")
    assert event.outcome == "denied"
    assert "wrong-password-123" not in str(event.changes)


@pytest.mark.django_db
def test_repeated_failures_lock_the_account_even_for_the_right_password(client, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "nurse", "not-it")
    response = _attempt(client, "nurse", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_lockout_does_not_affect_another_user_from_the_same_address(client, nurse, settings):
    UserFactory(username="desk", password=PASSWORD, role=Role.FRONT_DESK)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, "nurse", "not-it")
    assert _attempt(client, "desk", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lockout_clears_after_the_cool_off(client, nurse, settings):
    with time_machine.travel("2026-03-02 09:00 +0000", tick=False) as clock:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            _attempt(client, "nurse", "not-it")
        assert _attempt(client, "nurse", PASSWORD).status_code == 429
        clock.shift(settings.AXES_COOLOFF_TIME + timedelta(minutes=1))
        assert _attempt(client, "nurse", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_new_password_hashes_use_argon2(client, nurse):
    nurse.refresh_from_db()
    assert nurse.password.startswith("argon2$")
