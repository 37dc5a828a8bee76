"""The backup drill: back the database up, restore it into a scratch database, check the restore.

    DATABASE_URL=postgres://… .venv/bin/python scripts/backup_drill.py [--keep] [--scratch NAME]

1. ``pg_dump -Fc`` of the database in ``DATABASE_URL`` (a consistent snapshot; the app keeps running).
2. A scratch database on the same server (``grace_restore_drill`` unless ``--scratch`` names
   another starting with it; an older one of that name is dropped first), restored with
   ``pg_restore --exit-on-error``.
3. ``manage.py verify_audit_chain`` against the scratch database: every audit chain recomputed
   and every signed anchor checked, so a backup that lost or altered rows fails here. Run it with
   the production environment: the anchors verify only with the production ``AUDIT_ANCHOR_KEY``.
4. The scratch database is dropped (``--keep`` keeps it to look at).

Prints each step's time and the dump's size: the figures a recovery-time objective is set from.
The PostgreSQL client programs (pg_dump, pg_restore, createdb, dropdb) of the server's major
version or newer must be on PATH. Exits 1 when a step fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess  # nosec B404 - the drill runs the PostgreSQL client programs
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SCRATCH_PREFIX = "grace_restore_drill"


def _libpq_env(url: str) -> tuple[dict[str, str], str]:
    """The libpq variables for ``url`` (host, port, user, password) and its database name."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, not {parts.scheme}://")
    query = parse_qs(parts.query)  # ?host=/socket/folder&port=… (the embedded server)
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", parts.hostname or query.get("host", [""])[0]),
        ("PGPORT", str(parts.port) if parts.port else query.get("port", [""])[0]),
        ("PGUSER", unquote(parts.username) if parts.username else None),
        ("PGPASSWORD", unquote(parts.password) if parts.password else None),
    ):
        if value:
            env[key] = value
    return env, unquote(parts.path.lstrip("/"))


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _step(title: str, command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    print(f"- {title} …", flush=True)
    # Fixed programs from PATH (the PostgreSQL clients, this Python), arguments of our own: no shell.
    result = subprocess.run(command, env=env, cwd=ROOT, check=False)  # noqa: S603  # nosec B603
    took = time.monotonic() - started
    if result.returncode != 0:
        print(f"  FAILED ({' '.join(command[:2])} exited {result.returncode})", flush=True)
        raise SystemExit(1)
    print(f"  done in {took:.1f} s", flush=True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", default=SCRATCH_PREFIX, help=f"scratch database (starts with {SCRATCH_PREFIX})")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args()
    if not args.scratch.startswith(SCRATCH_PREFIX):
        raise SystemExit(f"the scratch database's name must start with {SCRATCH_PREFIX}: it is dropped")
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("set DATABASE_URL to the database to back up")
    env, source = _libpq_env(url)
    if source == args.scratch:
        raise SystemExit("the scratch database cannot be the source")

    with tempfile.TemporaryDirectory(prefix="grace-backup-") as folder:
        dump = Path(folder) / f"{source}.dump"
        _step(f"pg_dump {source}", ["pg_dump", "--format=custom", f"--file={dump}", source], env)
        print(f"  {dump.stat().st_size / 1_048_576:.1f} MiB", flush=True)
        _step(f"drop an older {args.scratch}", ["dropdb", "--if-exists", args.scratch], env)
        _step(f"create {args.scratch}", ["createdb", args.scratch], env)
        try:
            _step(
                f"pg_restore into {args.scratch}",
                ["pg_restore", "--exit-on-error", "--no-owner", f"--dbname={args.scratch}", str(dump)],
                env,
            )
            app_env = {**env, "DATABASE_URL": _with_database(url, args.scratch)}
            _step(
                "verify_audit_chain on the restore",
                [sys.executable, "manage.py", "verify_audit_chain"],
                app_env,
            )
        finally:
            if not args.keep:
                subprocess.run(["dropdb", "--if-exists", args.scratch], env=env, check=False)  # noqa: S603, S607  # nosec B603 B607
    print("Backup drill passed: the restore is complete and its audit trail verifies.")


if __name__ == "__main__":
    main()
