"""Input refused or cleaned at the edge, in one place (accounts.middleware)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    ["accounts:audit-report", "reports:appointments", "controlled_substances:report-dispensing", "patients:list"],
)
def test_a_nul_byte_in_a_filter_is_stripped_at_the_edge_and_never_a_500(client, admin, url_name):
    client.force_login(admin)
    response = client.get(reverse(url_name), {"user": "a\x00b", "q": "sm\x00ith\x07", "date_from": "2026-01-01"})
    assert response.status_code == 200
    logged = AuditEvent.objects.filter(actor=admin).latest("id")
    assert "\x00" not in str(logged.changes)


def test_a_nul_byte_in_a_form_is_stripped_before_the_form_sees_it(client, frontdesk, patient):
    client.force_login(frontdesk)
    response = client.post(
        reverse("patients:contacts", args=[patient.pk]),
        {"channel": "phone", "direction": "out", "summary": "Left\x00 a message about Tuesday"},
    )
    assert response.status_code == 302
    assert list(patient.contact_log.values_list("summary", flat=True)) == ["Left a message about Tuesday"]


def test_a_nul_byte_in_the_user_agent_is_stripped_before_the_audit_row_and_the_sign_in_record(client, nurse):
    nurse.set_password("a long enough password 1")
    nurse.save(update_fields=["password"])
    agent = {"HTTP_USER_AGENT": "Tablet\x00 browser\x07"}
    response = client.post(reverse("accounts:login"), {"username": nurse.username, "password": "wrong"}, **agent)
    assert response.status_code == 200  # refused at the form, never a 500
    response = client.post(
        reverse("accounts:login"), {"username": nurse.username, "password": "a long enough password 1"}, **agent
    )
    assert response.status_code == 302
    assert client.get(reverse("home"), **agent).status_code == 200
    assert set(AuditEvent.objects.filter(actor=nurse).values_list("user_agent", flat=True)) == {"Tablet browser"}


def test_sign_out_tells_the_browser_to_clear_the_sites_data(client, frontdesk):
    client.force_login(frontdesk)
    response = client.post(reverse("accounts:logout"))
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
