"""The environment for a subprocess (a Celery worker, a web server) that must use the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_env(**extra: str) -> dict[str, str]:
    """This process's environment with ``DATABASE_URL`` naming the test database, plus ``extra``."""
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    if host.startswith("/"):  # the embedded server listens on a Unix socket folder
        url = f"postgres://{db['USER']}@/{db['NAME']}?host={host}&port={port}"
    else:
        url = f"postgres://{db['USER']}@{host}:{port}/{db['NAME']}"
    env = dict(os.environ)
    env.update(DJANGO_SETTINGS_MODULE="grace_mindcare.settings_test", DATABASE_URL=url, **extra)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def run_script(script: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """One of our scripts (``scripts/…``) against the test database, its output captured."""
    return subprocess.run(  # noqa: S603 - our own script
        [sys.executable, script, *args],
        cwd=ROOT,
        env=database_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
