import pytest


@pytest.fixture(autouse=True)
def protocol_library(request):
    """Migration 0002's protocol library, re-created if a transactional test flushed it."""
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    ):
        from consultations.tests.factories import ensure_protocol_library

        request.getfixturevalue("db")
        ensure_protocol_library()


@pytest.fixture(autouse=True)
def no_later_completion_checks(monkeypatch):
    """The infusion app's "no infusion given yet" is its tests' business (infusions' own tests
    walk a plan to completed after a session); these tests move plans without infusions."""
    from consultations import plan_checks

    monkeypatch.setattr(plan_checks, "_CHECKS", [])
