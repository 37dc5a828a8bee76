"""The point-in-time recovery drill runs end to end: a private primary archiving its WAL, a base
backup, a mistaken bulk change after a moment T, a restore recovered to T that holds T's rows and
not the mistake, and an audit trail that verifies there (and not on the damaged primary)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.subprocess_env import run_script

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_mistaken_bulk_change_is_undone_by_recovering_to_the_moment_before_it():
    # The test database is migrated already: the drill copies it rather than migrating anew
    # (7 minutes on a busy two-core machine), which is the same schema by other means.
    done = run_script("scripts/pitr_drill.py", "--load-from-database-url", "--patients", "12", timeout=280)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "after the mistake: {'patients': 12, 'active': 0, 'audited': 0}" in out
    assert "it fails, as it should" in out  # the damaged primary's chain
    assert "restored: {'patients': 12, 'active': 12, 'audited': 12}" in out
    assert re.search(r"Audit chain intact: \d+ rows, \d+ anchors", out)
    assert "PITR drill passed" in out
    scratch = re.search(r"PITR drill in (\S+)", out)
    assert scratch
    assert not Path(scratch.group(1)).exists()  # removed, its servers stopped
