"""FHIR Patient search on the bench data set, timed like the pages (a bench extra).

Another system looks patients up by name, date of birth or identifier (the MRN) over the API; the
answer must come within the pages' goal: 3x the baseline page, timed in the same rounds through
gunicorn started as for the pages. The client is a front-desk member of staff's app (a
``user/*.read`` token): the front desk is who looks patients up, and every patient in an answer is
audited as a read, which the timing includes.
"""

from __future__ import annotations

import secrets
import statistics
import time
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from accounts.models import User
from bench.pages import SkipPage, _most_common_surname
from interop import services
from patients.models import Patient

CLIENT_NAME = "Benchmark FHIR client"


def _token() -> str:
    """A fresh front-desk token of a client the benchmark registers once per data set."""
    users = {u.username: u for u in User.objects.filter(username__in=("frontdesk", "admin"))}
    if len(users) != 2:
        raise SkipPage("no demo front-desk or administrator account in the benchmark database")
    application = Application.objects.filter(name=CLIENT_NAME).first()
    if application is None:
        application, _secret = services.client_register(
            name=CLIENT_NAME,
            flow="user",
            redirect_uris="https://bench.invalid/callback",
            purpose="Benchmark",
            by=users["admin"],
        )
    value = secrets.token_urlsafe(30)
    AccessToken.objects.create(
        user=users["frontdesk"],
        application=application,
        token=value,
        scope="user/*.read",
        expires=timezone.now() + timedelta(hours=2),
    )
    return value


def _searches() -> list[tuple[str, str]]:
    patients = Patient.objects.order_by("pk")
    total = patients.count()
    if not total:
        raise SkipPage("no patients in the benchmark database")
    middle = patients.values("mrn", "date_of_birth")[total // 2]
    return [
        # The most common surname: the most rows to match (a page of 20 is returned).
        ("name", "/fhir/r4/Patient?" + urlencode({"family": _most_common_surname()})),
        ("birthdate", "/fhir/r4/Patient?" + urlencode({"birthdate": middle["date_of_birth"].isoformat()})),
        (
            "identifier",
            "/fhir/r4/Patient?" + urlencode({"identifier": f"{settings.FHIR_MRN_SYSTEM}|{middle['mrn']}"}),
        ),
    ]


def fhir_patient_search(ctx) -> list[dict]:
    """Median of each search next to the baseline page's, both through gunicorn in the same rounds."""
    from bench import run  # lazy: bench.run is the script that imports this module's list

    token = _token()
    searches = _searches()
    connection.close()
    gunicorn = run.Gunicorn(ctx.env, workers=ctx.args.workers)
    samples: dict[str, list[float]] = {name: [] for name, _path in [("baseline", ""), *searches]}
    try:
        gunicorn.start()
        port = gunicorn.port
        cookies = run.sign_in(port, "frontdesk")
        bearer = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
        requests = [("baseline", "/accounts/password/change/done/", None), *((n, p, bearer) for n, p in searches)]
        for round_number in range(ctx.args.warmup + ctx.args.requests):
            for name, path, headers in requests:
                started = time.perf_counter()
                response = run.http_request(port, "GET", path, cookies=None if headers else cookies, headers=headers)
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    raise RuntimeError(f"FHIR {name} search answered {response.status}")
                if headers is None:
                    run.remember_cookies(cookies, response)
                if round_number >= ctx.args.warmup:
                    samples[name].append(elapsed)
    finally:
        gunicorn.stop()
        AccessToken.objects.filter(application__name=CLIENT_NAME).delete()
        connection.close()
    reference = statistics.median(samples["baseline"]) * 1000
    rows = []
    for name, path in searches:
        median = statistics.median(samples[name]) * 1000
        rows.append(
            {
                "name": f"FHIR Patient search by {name} (`{path.split('?')[1].split('=')[0]}`, median, p95 "
                f"{run.p95(samples[name]) * 1000:.1f} ms)",
                "value": median,
                "unit": "ms",
                "reference": reference,
                "goal": f"≤ {run.DEFAULT_GOAL_RATIO:g}× reference (the baseline page)",
                "ok": median <= run.DEFAULT_GOAL_RATIO * reference,
            }
        )
    return rows
