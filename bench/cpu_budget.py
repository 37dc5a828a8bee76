"""A fixed CPU budget for a process group, through a Linux control group's CPU quota.

bench/cluster.py uses it to show that web nodes scale on one machine. On a machine with few cores,
two unconstrained nodes compete with PostgreSQL, Redis, HAProxy and the load generator for the
same cores, so their throughput says more about the machine than about the nodes. Giving each node
the same quota (say half a core) makes the web tier what limits throughput, and what the second
node adds is then what a second machine would add.

Either cgroup hierarchy works: v2 (``cpu.max``) or v1's ``cpu`` controller (``cpu.cfs_quota_us``).
Creating a group needs write access to it (root, or a delegated subtree); without it
:func:`available` says why and the caller measures without budgets.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


def _hierarchy() -> tuple[str, Path] | None:
    if (ROOT / "cgroup.controllers").exists():
        return "v2", ROOT
    if (ROOT / "cpu" / "cpu.cfs_quota_us").exists():
        return "v1", ROOT / "cpu"
    return None


def available() -> str:
    """Empty when budgets can be made here; otherwise why not, in a few words."""
    found = _hierarchy()
    if found is None:
        return "no cgroup CPU controller on this machine"
    version, base = found
    if version == "v2" and "cpu" not in (base / "cgroup.subtree_control").read_text().split():
        return "the cgroup v2 cpu controller is not enabled for child groups"
    if not os.access(base, os.W_OK):
        return "no write access to the cgroup hierarchy (run as root or in a delegated cgroup)"
    return ""


class CpuBudget:
    """A group allowed ``cores`` CPUs' worth of time per period; processes forked inside stay inside."""

    def __init__(self, name: str, cores: float):
        found = _hierarchy()
        if found is None or cores <= 0:
            raise ValueError("no cgroup CPU controller, or a budget of no CPU")
        self.version, base = found
        self.base = base
        self.path = base / name
        self.cores = cores
        self.path.mkdir(exist_ok=True)
        quota = int(cores * PERIOD_US)
        if self.version == "v2":
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))

    def add_group(self, pgid: int) -> int:
        """Move every process of process group ``pgid`` (a gunicorn master and its workers) in."""
        moved = 0
        for pid in _pids_of_group(pgid):
            with contextlib.suppress(OSError):  # a worker recycled meanwhile
                (self.path / "cgroup.procs").write_text(str(pid))
                moved += 1
        return moved

    def throttled_seconds(self) -> float:
        """How long the group's processes were held back by the quota: above zero, the budget was what
        limited them."""
        key, scale = ("throttled_usec", 1e6) if self.version == "v2" else ("throttled_time", 1e9)
        for line in (self.path / "cpu.stat").read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value) / scale
        return 0.0

    def release(self) -> None:
        """Move whatever is left back to the parent and remove the group."""
        with contextlib.suppress(OSError):
            for pid in (self.path / "cgroup.procs").read_text().split():
                with contextlib.suppress(OSError):
                    (self.base / "cgroup.procs").write_text(pid)
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _pids_of_group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Field 5 of /proc/<pid>/stat is the process group; the command name (field 2) may hold
            # spaces, so count from its closing parenthesis.
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid:
                pids.append(int(entry.name))
    return pids
