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


def test_sign_out_tells_the_browser_to_clear_the_sites_data(client, frontdesk):
    client.force_login(frontdesk)
    response = client.post(reverse("accounts:logout"))
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
