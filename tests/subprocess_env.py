"""The environment for a subprocess (a Celery worker, a web server) that must use the test database."""

from __future__ import annotations

import os

from django.db import connection


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
