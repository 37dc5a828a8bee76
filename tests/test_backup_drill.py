"""The backup drill restores the test database into a scratch one and checks its audit trail."""

from __future__ import annotations

import subprocess

import pgtrigger
import pytest

from accounts import audit
from accounts.models import AuditEvent
from core.audit import Category, Verb
from tests.subprocess_env import run_script

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _drill() -> subprocess.CompletedProcess:
    return run_script("scripts/backup_drill.py", "--scratch", "grace_restore_drill_test", timeout=300)


def test_a_backup_restores_and_its_audit_trail_verifies_and_a_tampered_one_does_not(admin):
    for n in range(3):
        audit.record(actor=admin, action=f"drill.event.{n}", verb=Verb.QUERY, category=Category.AUDIT)
    done = _drill()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Audit chain intact" in done.stdout
    assert "Backup drill passed" in done.stdout

    victim = AuditEvent.objects.get(action="drill.event.1")
    with pgtrigger.ignore("accounts.AuditEvent:auditevent_append_only"):
        AuditEvent.objects.filter(pk=victim.pk).update(action="drill.innocent")
    failed = _drill()
    assert failed.returncode == 1
    assert "fail the chain" in failed.stdout + failed.stderr
