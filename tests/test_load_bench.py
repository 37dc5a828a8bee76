"""`make bench`'s load part runs end to end: gunicorn, the three demo personas signed in, locust's
clinic day with its htmx panels, for a few seconds with 2 users, against a tiny seeded test
database (on loopback; bounded in users and seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.subprocess_env import database_env

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_few_seconds_of_the_clinic_day_answer_every_page_and_panel_without_failures():
    call_command("seed_demo", patients=8, seed=2026, allow_demo_accounts=True)
    env = database_env()
    argv = ["--database-url", env["DATABASE_URL"], "--users", "3", "--seconds", "12", "--ramp", "1", "--no-results"]

    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "bench" / "load_run.py"), *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "3 users:" in result.stdout
    assert "| users | req/s | p50 ms | p95 ms | p99 ms |" in result.stdout
    figures = json.loads((ROOT / "var" / "bench" / "load-3.json").read_text())
    assert figures["total"]["requests"] > 0
    assert figures["total"]["failures"] == 0
    names = {page["name"] for page in figures["pages"]}
    assert any(name.startswith("panel ") for name in names), names  # the pages' htmx panels were followed
