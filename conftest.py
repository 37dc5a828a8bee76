"""Shared fixtures: role personas and the browser-test set-up."""

from __future__ import annotations

import os
import shutil
import signal

import pytest
from hypothesis import HealthCheck, settings

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from patients.tests.factories import PatientFactory

CHROMIUM = "/usr/bin/chromium"

# Property tests check the rules, not the machine's speed: hypothesis' too_slow health check
# and per-example deadline failed them on a busy shared runner (a two-item draw took 3.6 s)
# although every example passed.
settings.register_profile("grace", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("grace")


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    """Building the test database (every migration, once per run) is not the first test's time.

    pytest-timeout's alarm covers a test's fixtures, and the first test that needs the database
    pays for creating it: about 2 minutes on a quiet two-core machine, past the 300 s limit on a
    loaded one, which failed that test for nothing it did. The alarm is paused while the database
    is built and resumed with the time it had left.
    """
    if fixturedef.argname != "django_db_setup" or not hasattr(signal, "setitimer"):
        yield
        return
    remaining, _interval = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining)


@pytest.fixture
def frontdesk(db):
    return UserFactory(username="fd.persona", role=Role.FRONT_DESK)


@pytest.fixture
def clinician(db):
    """A physician prescriber with a current licence and DEA registration (at a location of
    its own: a decision at another clinic needs ``prescribers.tests.factories.register``)."""
    from prescribers.tests.factories import prescriber

    return prescriber(username="clin.persona")


@pytest.fixture
def nurse(db):
    """A registered nurse: runs the chair, never makes a prescriber's decision."""
    return UserFactory(username="nurse.persona", role=Role.NURSE, credentials="RN")


@pytest.fixture
def admin(db):
    return UserFactory(username="admin.persona", role=Role.ADMINISTRATOR, is_superuser=True, is_staff=True)


@pytest.fixture
def outsider(db):
    """Signed in, but in no role: sees nothing clinical or administrative."""
    return UserFactory(username="outsider.persona")


@pytest.fixture
def persona(request, frontdesk, nurse, clinician, admin, outsider):
    return {
        "frontdesk": frontdesk,
        "nurse": nurse,
        "prescriber": clinician,
        "admin": admin,
        "outsider": outsider,
    }


@pytest.fixture
def patient(db):
    return PatientFactory()


@pytest.fixture
def scope_to(db):
    """``scope_to(user, *locations)``: make ``user`` see only ``locations`` (not chain-wide)."""
    from scheduling.models import StaffLocation

    def scope(user, *locations):
        user.chain_wide = False
        user.save(update_fields=["chain_wide"])
        StaffLocation.objects.bulk_create([StaffLocation(user=user, location=loc) for loc in locations])
        return user

    return scope


@pytest.fixture
def client_as(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


# --- Browser tests ---------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM) or os.environ.get("CI") == "true":
        return
    skip = pytest.mark.skip(reason=f"browser tests need Debian's Chromium at {CHROMIUM}")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": shutil.which("chromium") or CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _allow_sync_orm_in_browser_tests():
    # Sync Playwright runs an event loop in the test thread; the live server and
    # the ORM calls in tests are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


BREAK_GLASS_PASSWORD = "front desk password 1"  # noqa: S105 - a test persona's password


@pytest.fixture
def break_glass(frontdesk, settings):
    """Signs ``client`` in as the front desk and opens emergency access to ``patient``'s chart
    through the real form (reason and password), as the front desk would."""
    from django.urls import reverse

    # Argon2 is slow by design; this fixture runs for every URL of the access table.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    frontdesk.set_password(BREAK_GLASS_PASSWORD)
    frontdesk.save(update_fields=["password"])

    def open_chart(client, patient):
        client.force_login(frontdesk)
        response = client.post(
            reverse("patients:emergency-access", args=[patient.pk]),
            {
                "reason": "Collapsed in the waiting room; paramedics ask for medications.",
                "password": BREAK_GLASS_PASSWORD,
            },
        )
        assert response.status_code == 302, "emergency access was not granted"
        return client

    return open_chart
