"""The locustfile of `make cluster`: bench/load.py's clinic day plus the writes a clinic makes.

Run by bench/cluster.py against the load balancer (or one node), with the context file of
bench/load.py extended by ``bookings`` (form fields of slots worth booking, drawn so that several
users race for the same chair, clinician or patient), ``readings`` (pages of infusions running now)
and ``clinic_zone``. Not meant to be run by hand.

- **Front desk booking**: POSTs the booking form the desk uses (``/schedule/book/``). A booking the
  server made answers a redirect to the calendar focused on it (``focus=<id>``): that id is an
  acknowledged booking, appended to ``GRACE_CLUSTER_ACKS`` at once, so bench/cluster.py can check
  each one is in the database after nodes were killed. A refusal (the slot was just taken) answers
  the form again with 200: the desk was told, nothing was booked, not a failure.
- **Nurse at the chair**: POSTs a vitals reading to a running infusion's flowsheet
  (``/infusions/sessions/<id>/readings/``); stored answers a redirect (counted as acknowledged).

Every POST carries the role's CSRF token (the cookie's secret) and an ``Origin`` header, as a
browser's form does; requests go through the balancer with ``X-Forwarded-Proto: https``.
"""

from __future__ import annotations

import os
import random
import re
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from load import CONTEXT, Administrator, Clinician, ClinicUser, FrontDesk  # noqa: F401 - the users locust runs
from locust import events, task

FOCUS = re.compile(r"[?&]focus=(\d+)")
_ACKS = os.environ.get("GRACE_CLUSTER_ACKS", "")
COUNTS = {"booked": 0, "refused": 0, "readings": 0, "reading refused": 0}


def _acknowledge(kind: str, pk: str) -> None:
    if _ACKS:
        with open(_ACKS, "a", encoding="utf-8") as file:  # one line at once: nothing is lost if locust stops
            file.write(f"{kind} {pk}\n")


@events.quit.add_listener
def _write_counts(**_kwargs) -> None:
    if _ACKS:
        with open(_ACKS + ".counts", "w", encoding="utf-8") as file:
            file.write(" ".join(f"{key.replace(' ', '_')}={value}" for key, value in COUNTS.items()))


class Writer(ClinicUser):
    abstract = True

    def post_form(self, name: str, path: str, fields: dict):
        cookies = CONTEXT["cookies"][self.persona]
        token = next((value for key, value in cookies.items() if key.endswith("csrftoken")), "")
        origin = CONTEXT["origin"]
        headers = self.base_headers | {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + path,
        }
        body = urlencode({**fields, "csrfmiddlewaretoken": token})
        return self.client.request(
            "POST", path, name=name, data=body, headers=headers, allow_redirects=False, catch_response=True
        )


class FrontDeskBooking(Writer):
    """Books a visit from the desk's form: the slots are few, so desks race for them."""

    weight = 2
    persona = "frontdesk"

    @task
    def book(self) -> None:
        if not CONTEXT.get("bookings"):
            return
        fields = random.choice(CONTEXT["bookings"])  # noqa: S311
        with self.post_form("book (POST)", "/schedule/book/", fields) as response:
            if response.status_code == 302:
                found = FOCUS.search(response.headers.get("Location", ""))
                if not found:
                    response.failure("booked without an id")
                    return
                COUNTS["booked"] += 1
                _acknowledge("booking", found.group(1))
            elif response.status_code == 200:
                COUNTS["refused"] += 1  # the form again, saying the slot was taken
            else:
                response.failure(f"{response.status_code}")


class ChairNurse(Writer):
    """Enters vitals on running infusions, as the flowsheet's quick entry does."""

    weight = 2
    persona = "clinician"

    @task
    def reading(self) -> None:
        if not CONTEXT.get("readings"):
            return
        path = random.choice(CONTEXT["readings"])  # noqa: S311
        # A minute ago on the clinic's clock: a reading may not be in the future.
        taken = datetime.now(ZoneInfo(CONTEXT["clinic_zone"])) - timedelta(minutes=1)
        fields = {
            "taken_at": taken.strftime("%Y-%m-%dT%H:%M"),
            "sbp_mmhg": random.randint(112, 134),  # noqa: S311
            "dbp_mmhg": random.randint(70, 84),  # noqa: S311
            "hr_bpm": random.randint(62, 88),  # noqa: S311
            "spo2_pct": random.randint(96, 99),  # noqa: S311
            "rr_per_min": random.randint(12, 18),  # noqa: S311
        }
        with self.post_form("vitals reading (POST)", path, fields) as response:
            if response.status_code == 302:
                COUNTS["readings"] += 1
                _acknowledge("reading", path)
            elif response.status_code == 200:
                COUNTS["reading refused"] += 1
            else:
                response.failure(f"{response.status_code}")
