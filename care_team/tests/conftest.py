import pytest


@pytest.fixture(autouse=True)
def protocol_library(request):
    """Migration 0002's protocol library, re-created if a transactional test flushed it."""
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from consultations.tests.factories import ensure_protocol_library

        request.getfixturevalue("db")
        ensure_protocol_library()


@pytest.fixture(autouse=True)
def no_foreign_sign_checks(monkeypatch):
    """The ledger's "unaccounted drug" check is its tests' business; these walk sessions to signed."""
    from infusions import signing

    monkeypatch.setattr(signing, "_CHECKS", [])


@pytest.fixture
def morning():
    """09:00 UTC today: a session booked five minutes ago is on today's local day at a UTC site."""
    from datetime import UTC, datetime, time

    import time_machine
    from django.utils import timezone

    day = timezone.now().astimezone(UTC).date()
    with time_machine.travel(datetime.combine(day, time(9), tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def nurse_user(db):
    from infusions.tests.factories import nurse

    return nurse(username="nurse.one")


@pytest.fixture
def verifier(db):
    from infusions.tests.factories import nurse

    return nurse(username="nurse.two")
