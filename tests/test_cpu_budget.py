"""The CPU budget `make cluster CLUSTER_ARGS=--scaling` gives each web node: a process group put in
it stays inside (a gunicorn master's later workers too), is held back once it spends its quota,
and is handed back when the budget is released."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from bench import cpu_budget

BUSY = "import os, time\nos.fork()\nend = time.monotonic() + 1.5\nwhile time.monotonic() < end: pass\n"


@pytest.fixture
def budget():
    if why_not := cpu_budget.available():
        pytest.skip(f"no CPU budgets here: {why_not}")
    made = cpu_budget.CpuBudget(f"grace-test-{uuid.uuid4().hex[:8]}", 0.1)
    yield made
    made.release()


def test_a_busy_process_group_in_a_tenth_of_a_core_is_held_back_and_released(budget):
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)\n" + BUSY], start_new_session=True)  # noqa: S603
    try:
        assert budget.add_group(process.pid) == 1
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    time.sleep(0.2)  # the forked child spins as long as its parent

    # The parent and the child it forked after joining both ran inside the quota, so the group was
    # throttled for most of their 1.5 s each.
    assert budget.throttled_seconds() > 0.5
    assert budget.path.exists()
    budget.release()
    assert not budget.path.exists()


def test_the_group_of_a_process_is_found_by_its_process_group():
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"], start_new_session=True)  # noqa: S603
    try:
        assert cpu_budget._pids_of_group(process.pid) == [process.pid]
        assert os.getpid() not in cpu_budget._pids_of_group(process.pid)
    finally:
        process.kill()
        process.wait()
