"""Links that the worker sends in development point at the port `make run` serves, whatever PORT
honcho hands each process (the worker's is the web's + 100)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _settings_value(name: str, **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "SERVED_PORT", "PORT")}
    environment.update(DJANGO_SETTINGS_MODULE="grace_mindcare.settings", DJANGO_DEBUG="1", **env)
    code = f"from django.conf import settings; print(settings.{name})"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.integration
def test_the_workers_links_follow_the_served_port_not_its_own():
    # What honcho gives the worker under `make run PORT=8123`: PORT 8223, SERVED_PORT 8123.
    assert _settings_value("DEV_SITE_URL", PORT="8223", SERVED_PORT="8123") == "http://127.0.0.1:8123"
    assert _settings_value("OTP_WEBAUTHN_ALLOWED_ORIGINS", PORT="8223", SERVED_PORT="8123") == (
        "['http://localhost:8123']"
    )


@pytest.mark.integration
def test_without_make_the_default_port_is_said_once():
    assert _settings_value("DEV_SITE_URL") == "http://127.0.0.1:8000"
    assert _settings_value("DEV_SITE_URL", SITE_URL="https://clinic.example") == "http://127.0.0.1:8000"


def test_make_run_hands_the_served_port_to_every_process():
    plan = subprocess.run(  # noqa: S603 - make, a fixed target, printing only (-n)
        ["make", "-n", "run", "PORT=8123"],  # noqa: S607 - make from PATH, as a developer runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    honcho = next(line for line in plan.splitlines() if "honcho start" in line)
    assert "SERVED_PORT=8123" in honcho
    assert "--port 8123" in honcho


def test_every_message_link_is_built_on_the_one_address(settings):
    from accounts import emergency
    from core.site import site_url
    from reminders.services.links import link_url

    settings.SITE_URL = ""
    settings.DEV_SITE_URL = "http://127.0.0.1:8123"
    assert site_url() == "http://127.0.0.1:8123"
    assert link_url("abc").startswith("http://127.0.0.1:8123/")
    settings.SITE_URL = "https://clinic.example/"
    assert link_url("abc").startswith("https://clinic.example/")
    assert "settings.SITE_URL" not in Path(emergency.__file__).read_text()
