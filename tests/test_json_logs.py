"""Logs are JSON lines naming the request, the user and the site by id, and never a patient."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.urls import reverse
from pythonjsonlogger.json import JsonFormatter

from accounts import context
from accounts.logging import RequestIdFilter
from scheduling.tests.factories import LocationFactory


@pytest.fixture
def json_log_lines():
    """Every record logged during the test, through the production formatter and filter."""
    formatter_spec = settings.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            formatter_spec["fmt"], rename_fields=formatter_spec["rename_fields"], timestamp=formatter_spec["timestamp"]
        )
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.mark.django_db
def test_a_chart_views_log_lines_name_request_user_and_site_and_no_patient(client, clinician, patient, json_log_lines):
    site = LocationFactory()
    client.force_login(clinician)
    session = client.session
    session[context.LOCATION_SESSION_KEY] = site.pk
    session.save()
    response = client.get(reverse("patients:detail", args=[patient.pk]), {"q": patient.legal_last_name})
    assert response.status_code == 200
    assert patient.legal_last_name.encode() in response.content  # the page shows the patient; the log must not
    lines = json_log_lines()
    access = [line for line in lines if line["logger"] == "grace.request"]
    assert len(access) == 1
    assert access[0]["user_id"] == clinician.pk
    assert access[0]["location_id"] == site.pk
    assert access[0]["request_id"] == response["X-Request-ID"]
    assert (access[0]["view"], access[0]["status"]) == ("patients:detail", 200)
    assert access[0]["timestamp"].endswith("+00:00")  # UTC, whatever the clinic's zone
    text = "\n".join(json.dumps(line) for line in lines)
    dob = patient.date_of_birth
    for phi in (patient.legal_first_name, patient.legal_last_name, patient.mrn, dob.isoformat(), f"{dob:%m/%d/%Y}"):
        assert phi not in text


def test_the_console_logs_in_the_configured_format():
    assert settings.LOGGING["handlers"]["console"]["formatter"] == settings.LOG_FORMAT
    assert settings.LOG_FORMAT in settings.LOGGING["formatters"]
