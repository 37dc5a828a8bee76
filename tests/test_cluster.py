"""`make cluster`'s check, small: HAProxy in front of two web nodes, two workers and a guarded
beat, a private PostgreSQL primary with a streaming replica, Redis; shared sessions, throttle and
documents across nodes; a short clinic day with bookings and vitals while one web node and one
worker are SIGKILLed; then nothing acknowledged lost, no double booking, every reminder sent, the
ledger and the audit chains intact, the replica caught up. All on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.subprocess_env import database_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_two_nodes_behind_the_balancer_share_state_and_lose_nothing_when_a_node_and_a_worker_die():
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (scripts/cluster_deps.sh installs it; make test runs it)")
    env = database_env()
    # The migrated test database is copied into the cluster's own primary: migrating from nothing
    # takes minutes on a busy machine.
    argv = ["--check", "--quick", "--no-results", "--fresh", "--folder", "cluster-test"]
    argv += ["--copy-from", env["DATABASE_URL"]]

    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "cluster.py"), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    output = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, output
    for finding in (
        "signed in through web1, signed in on web2",
        "a report through the balancer reads the replica",
        "the PDF downloads through web2",
        "HAProxy took web2 out of rotation",
        "every acknowledged booking is in the database",
        "no two active bookings overlap",
        "every reminder queued before the kill was sent",
        "ketamine ledger reconciles",
        "verify_audit_chain",
        "replica streaming",
    ):
        assert f"✅ {finding}" in result.stdout, output
    assert "[cluster] stopped" in result.stdout
