"""Scheduling tells reminders about appointment changes through its hook registry, never by import."""

from __future__ import annotations

import ast
import contextlib
from pathlib import Path

import pytest
from django.db import transaction

from reminders.services.sync import on_appointment_changed
from scheduling import hooks

SCHEDULING = Path(__file__).resolve().parents[2] / "scheduling"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_scheduling_imports_nothing_from_reminders():
    # Scheduling's tests may hold its messages to the reminders' wording rule, as the import
    # contract lets every test use the stages around it; the code may not.
    offenders = [
        str(p.relative_to(SCHEDULING))
        for p in SCHEDULING.rglob("*.py")
        if "tests" not in p.relative_to(SCHEDULING).parts
        and any(m == "reminders" or m.startswith("reminders.") for m in _imported_modules(p))
    ]
    assert offenders == []


def test_the_reminder_sync_is_registered_from_the_app_config():
    assert on_appointment_changed in hooks._APPOINTMENT_CHANGED


def _change_then_fail(appointment_id: int) -> None:
    with contextlib.suppress(RuntimeError), transaction.atomic():
        hooks.appointment_changed(appointment_id)
        raise RuntimeError("the booking failed")


@pytest.mark.django_db
def test_listeners_hear_of_a_change_once_it_commits_and_never_of_a_rolled_back_one(
    django_capture_on_commit_callbacks,
):
    heard: list[int] = []
    hooks.register_appointment_changed(heard.append)
    hooks.register_appointment_changed(heard.append)  # twice: one copy
    try:
        with django_capture_on_commit_callbacks(execute=True):
            hooks.appointment_changed(41)
            assert heard == []  # not before the commit
        assert heard == [41]

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            _change_then_fail(42)
        assert callbacks == []
        assert heard == [41]
    finally:
        hooks.unregister_appointment_changed(heard.append)
    assert heard.append not in hooks._APPOINTMENT_CHANGED
