import pytest


@pytest.fixture(autouse=True)
def protocol_library(request):
    """Migration 0002's protocol library, re-created if a transactional test flushed it."""
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        from consultations.tests.factories import ensure_protocol_library

        request.getfixturevalue("db")
        ensure_protocol_library()


@pytest.fixture
def nurse_user(db):
    from infusions.tests.factories import nurse

    return nurse(username="nurse.one")


@pytest.fixture
def verifier(db):
    from infusions.tests.factories import nurse

    return nurse(username="clin.two", credentials="MD") if False else nurse(username="clin.two")


@pytest.fixture
def policy(db):
    from infusions.tests.factories import set_policy

    return set_policy()


@pytest.fixture(autouse=True)
def no_foreign_sign_checks(monkeypatch):
    """Other apps' sign checks (the ledger's "unaccounted drug") are their tests' business;
    these tests register their own where they test the registry."""
    from infusions import signing

    monkeypatch.setattr(signing, "_CHECKS", [])


@pytest.fixture
def morning():
    """09:00 UTC today, so a second appointment later the same day is still today."""
    from datetime import UTC, datetime, time

    import time_machine
    from django.utils import timezone

    day = timezone.now().astimezone(UTC).date()
    with time_machine.travel(datetime.combine(day, time(9), tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def prechecked(policy, nurse_user):
    """A session at the pre-check: checked in, today's PHQ-9 and a clean checklist (80 kg)."""
    from infusions import services
    from infusions.tests.factories import PHQ9_CLEAR, clean_precheck, open_session

    session = open_session(by=nurse_user)
    services.session_check_in(session=session, by=nurse_user)
    services.instrument_record(session=session, by=nurse_user, code="phq9", answers=PHQ9_CLEAR)
    services.precheck_record(session=session, by=nurse_user, data=clean_precheck())
    return session
