"""Behind the TLS proxy every request arrives from the proxy's address: the sign-in lockout, the
audit trail and the patient-link rate limits must see the client the proxy vouches for, or a few
wrong guesses from one place lock out the whole clinic."""

import importlib

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.network import client_ip
from accounts.roles import Role
from accounts.tests.factories import UserFactory

PROXY = "10.0.0.2"


PASSWORD = "correct horse battery staple"


def _via_proxy(client_address: str) -> dict:
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client_address}


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "198.51.100.7", PROXY),  # no trusted proxy: the header is anyone's to forge
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client's own entry is not believed
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", PROXY),  # fewer hops than proxies: it did not come through them
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_rate_limits_and_lockout_behind_the_proxy_use_the_forwarded_client(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_rate_limits_and_lockout_behind_the_proxy_lock_one_client_not_the_clinic(client, settings):
    """Five wrong passwords from one workstation lock that workstation's attempts only (django-axes
    keys on the user name and the client address; the per-account password throttle, which holds
    across addresses, is set out of the way here)."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PASSWORD_CHECK_LIMIT = 100
    UserFactory(username="nurse", password=PASSWORD, role=Role.NURSE)
    login = reverse("accounts:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(login, {"username": "nurse", "password": "not-it"}, **_via_proxy("198.51.100.7"))
    assert (
        client.post(login, {"username": "nurse", "password": PASSWORD}, **_via_proxy("198.51.100.7")).status_code == 429
    )
    other = client.post(login, {"username": "nurse", "password": PASSWORD}, **_via_proxy("198.51.100.8"))
    assert other.status_code == 302
    event = AuditEvent.objects.filter(action="accounts.user.signed_in").latest("at")
    assert event.ip_address == "198.51.100.8"


@pytest.mark.django_db
def test_rate_limits_and_lockout_behind_the_proxy_count_appointment_links_per_client(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    view = importlib.import_module("reminders.views")
    for n in range(view.RATE_LIMIT):
        client.get(reverse("reminders:visit-link", args=[f"guess{n:040d}"]), **_via_proxy("198.51.100.7"))
    guessing = client.get(reverse("reminders:visit-link", args=["x" * 40]), **_via_proxy("198.51.100.7"))
    assert guessing.status_code == 429
    patient = client.get(reverse("reminders:visit-link", args=["y" * 40]), **_via_proxy("198.51.100.8"))
    assert patient.status_code == 404  # an unknown link, but not refused for someone else's guessing


@pytest.mark.django_db
def test_rate_limits_and_lockout_behind_the_proxy_count_questionnaire_links_per_client(client, settings):
    from followups.services import policy_current

    settings.TRUSTED_PROXY_COUNT = 1
    limit = policy_current().rate_limit_per_window
    for n in range(limit):
        client.get(reverse("followups:link-open", args=[f"guess{n}"]), **_via_proxy("198.51.100.7"))
    assert client.get(reverse("followups:link-open", args=["x"]), **_via_proxy("198.51.100.7")).status_code == 429
    assert client.get(reverse("followups:link-open", args=["x"]), **_via_proxy("198.51.100.8")).status_code == 404
