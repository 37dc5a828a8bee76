"""The locustfile of `make bench`'s load part: a clinic day of front desk, clinicians and administrators.

Run by bench/load_run.py, which starts gunicorn on the benchmark database, signs the demo accounts
in and writes what the users need (their session cookies, patient pks, surnames, locations, a
session page) to the JSON file named by ``GRACE_LOAD_CONTEXT``. Not meant to be run by hand.

Each page is followed, as a browser would, by the htmx panels it loads (``hx-get`` with an
``hx-trigger`` that includes ``load``), requested with ``HX-Request: true``. Panels are named by
their URL with numbers replaced by ``<id>``, so each kind of panel is one row in the results.

Every user of a role shares that role's one signed-in session: signing 50 users in would time
argon2 instead of the pages. Requests carry ``X-Forwarded-Proto: https`` and write the Cookie
header themselves, as bench/run.py does (the ``__Host-`` cookies are ``Secure``).
"""

from __future__ import annotations

import html
import json
import os
import random
import re

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

with open(os.environ["GRACE_LOAD_CONTEXT"], encoding="utf-8") as _file:
    CONTEXT = json.load(_file)

_WAIT = [float(x) for x in os.environ.get("GRACE_LOAD_WAIT", "0.5,1.5").split(",")]
HX_GET = re.compile(r'hx-get="([^"]+)"[^>]*?hx-trigger="([^"]*)"')
NUMBER = re.compile(r"/\d+/")


_ENVIRONMENT: list = []
PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


@events.init.add_listener
def _remember_environment(environment, **_kwargs) -> None:
    _ENVIRONMENT.append(environment)


@events.quit.add_listener
def _write_figures(exit_code: int, **_kwargs) -> None:
    """The final figures for bench/load_run.py (locust's CSV is written every few seconds, not at the end)."""
    out = os.environ.get("GRACE_LOAD_OUT")
    runner = _ENVIRONMENT[0].runner if _ENVIRONMENT else None
    if not out or runner is None:
        return
    stats = runner.stats

    def figures(entry) -> dict:
        has = entry.num_requests > 0
        return {
            "name": entry.name,
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.total_rps,
            **{key: entry.get_response_time_percentile(q) if has else None for key, q in PERCENTILES},
        }

    with open(out, "w", encoding="utf-8") as file:
        json.dump({"total": figures(stats.total), "pages": [figures(e) for e in stats.entries.values()]}, file)


def _panel_name(url: str) -> str:
    path = url.split("?", 1)[0]
    while NUMBER.search(path):
        path = NUMBER.sub("/<id>/", path)
    return f"panel {path}"


class ClinicUser(FastHttpUser):
    abstract = True
    persona = ""
    wait_time = between(*_WAIT)

    def on_start(self) -> None:
        cookies = CONTEXT["cookies"][self.persona]
        self.base_headers = {
            "X-Forwarded-Proto": "https",
            "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        }

    def page(self, name: str, path: str, *, panels: bool = True, htmx: bool = False) -> None:
        headers = dict(self.base_headers)
        if htmx:
            headers |= {"HX-Request": "true", "X-Background-Poll": "1"}
        with self.client.get(path, name=name, headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                return
            body = response.text or ""
        if not panels:
            return
        for url, trigger in HX_GET.findall(body):
            if "load" in trigger.split(",")[0].split():
                self.panel(html.unescape(url))

    def panel(self, url: str) -> None:
        headers = self.base_headers | {"HX-Request": "true"}
        with self.client.get(url, name=_panel_name(url), headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")


class FrontDesk(ClinicUser):
    """Checks patients in, books and finds them: the calendar, the registry search, the patient page."""

    weight = 4
    persona = "frontdesk"

    @task(2)
    def home(self) -> None:
        self.page("frontdesk home", "/")

    @task(3)
    def calendar_day(self) -> None:
        self.page("calendar day", f"/schedule/?location={random.choice(CONTEXT['locations'])}")  # noqa: S311

    @task(4)
    def patient_search(self) -> None:
        self.page("patient search", "/patients/?q=" + random.choice(CONTEXT["surnames"]))  # noqa: S311

    @task(3)
    def patient_page(self) -> None:
        self.page("patient page (front desk)", f"/patients/{random.choice(CONTEXT['patients'])}/")  # noqa: S311


class Clinician(ClinicUser):
    """Runs the infusion day: the chair board (and its 15-second refresh), a session, follow-ups."""

    weight = 5
    persona = "clinician"

    @task(2)
    def home(self) -> None:
        self.page("clinician home", "/")

    @task(2)
    def chair_board(self) -> None:
        self.page("chair board", CONTEXT["board"])

    @task(6)
    def chair_board_refresh(self) -> None:
        self.page("chair board refresh", CONTEXT["board"], panels=False, htmx=True)

    @task(3)
    def session_page(self) -> None:
        self.page("session page", random.choice(CONTEXT["sessions"]))  # noqa: S311

    @task(2)
    def followup_worklist(self) -> None:
        self.page("follow-up worklist", "/followups/worklist/")

    @task(2)
    def patient_page(self) -> None:
        self.page("patient page (clinician)", f"/patients/{random.choice(CONTEXT['patients'])}/")  # noqa: S311


class Administrator(ClinicUser):
    """Looks at the numbers: reports, the audit report, the ketamine ledger."""

    weight = 1
    persona = "admin"

    @task(1)
    def home(self) -> None:
        self.page("admin home", "/")

    @task(3)
    def report(self) -> None:
        self.page("report", random.choice(CONTEXT["reports"]))  # noqa: S311

    @task(2)
    def audit_report(self) -> None:
        self.page("audit report", "/accounts/audit/?sort=-at")

    @task(2)
    def ledger_home(self) -> None:
        self.page("ledger home", "/controlled-substances/")
