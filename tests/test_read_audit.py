"""Every page that shows patient data writes one audit event per request (ONC (d)(2), (d)(10))."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.access_table import ACCESS, OK, PHI_PAGES
from tests.test_access_matrix import _route_kwargs, _url_names

# A download is a disclosure (export); everything else a read of one chart or a query over several.
READ_VERBS = (AuditEvent.Verb.READ, AuditEvent.Verb.QUERY, AuditEvent.Verb.EXPORT)
# The first of these the access table lets in opens the page (the admin persona, a superuser, last).
READERS = ("prescriber", "nurse", "frontdesk", "admin")
NO_PATIENT_DATA = {
    # The FHIR API's public descriptions, and the administrators' API clients.
    "interop:metadata",
    "interop:smart-configuration",
    "interop:clients",
    "interop:client-new",
    "accounts:login",
    "accounts:password-change",
    "accounts:password-change-done",
    "accounts:password-reset",
    "accounts:password-reset-complete",
    "accounts:password-reset-confirm",
    "accounts:password-reset-done",
    "accounts:security",
    "accounts:two-factor",
    "accounts:two-factor-reset",
    "healthz",
    "scheduling:resource-options",  # the chairs and rooms of a location
    "otp_webauthn:js-i18n-catalog",  # the passkey script's translations
    "patients:create",
    "care_team:directory",  # outside clinicians: names and practices, no patient
    "care_team:provider-new",
    "care_team:provider-edit",
    "staff_tasks:new",  # the staff to choose from; a patient is named by MRN, not shown
    "prescribers:policy-changes",  # settings before and after, no patient
    # The settings pages hold the clinic's set-up and its staff accounts, never a patient.
    "clinic_settings:index",
    "clinic_settings:list",
    "clinic_settings:create",
    "clinic_settings:edit",
    "clinic_settings:policy",
    "reports:index",
    "consents:versions",  # the clinic's consent documents, no patient
    "consents:version-new",
    "consents:version-detail",
    "infusions:board-index",
    "scheduling:feeds",
    "reminders:visit-done",
    "inquiries:start",  # the public form, empty
    "inquiries:thanks",  # the same words for everyone
    "inquiries:poster",  # the form's address and its QR code
    "controlled_substances:container-adjust",
    "controlled_substances:container-destroy",
    "controlled_substances:container-loss",
    "controlled_substances:container-move",
    "controlled_substances:container-transfer",
    "controlled_substances:container-waste",
    "controlled_substances:count-detail",
    "controlled_substances:count-new",
    "controlled_substances:counts",
    "controlled_substances:entry-reverse",
    "controlled_substances:loss-report",
    "controlled_substances:receive",
    "controlled_substances:report-balances",
    "controlled_substances:report-discrepancies",
}


def _kwargs(url_name: str, patient) -> dict:
    if url_name == "consultations:amend":  # a draft's amendment page sends the user back to the draft
        from consultations.tests.factories import signed_consultation

        return {"consultation_id": signed_consultation(patient=patient).pk}
    return _route_kwargs(dict(_url_names())[url_name], patient)


def test_every_page_a_role_opens_is_classified_for_patient_data():
    opened = {name for name, spec in ACCESS.items() if spec["method"] == "get" and OK in spec["expect"].values()}
    classified = PHI_PAGES | NO_PATIENT_DATA
    assert not opened - classified, f"say whether these pages show patient data: {sorted(opened - classified)}"
    assert not classified - opened, f"stale: {sorted(classified - opened)}"


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", sorted(PHI_PAGES))
def test_every_page_that_shows_phi_writes_one_audit_event_per_request(client, persona, patient, url_name):
    spec = ACCESS[url_name]
    who = next(w for w in READERS if spec["expect"][w] == OK)
    url = reverse(url_name, kwargs=_kwargs(url_name, patient))
    client.force_login(persona[who])
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    query = {"date_from": "2020-01-01"} if url_name == "accounts:audit-report" else {}
    response = client.get(url, query)
    assert response.status_code == 200, f"{who} GET {url}"
    events = list(AuditEvent.objects.filter(id__gt=last).values_list("verb", "actor_id"))
    assert len(events) == 1, f"{who} GET {url}: {events}"
    assert events[0] in [(verb, persona[who].pk) for verb in READ_VERBS], f"{who} GET {url}: {events}"


@pytest.mark.django_db
@pytest.mark.parametrize("url_name", ["scheduling:book", "scheduling:series-new"])
def test_a_booking_form_opened_for_a_patient_is_a_read_of_that_chart(client, frontdesk, patient, url_name):
    client.force_login(frontdesk)
    response = client.get(reverse(url_name), {"patient": patient.pk})
    assert response.status_code == 200
    assert patient.display_name in response.content.decode()
    event = AuditEvent.objects.filter(actor=frontdesk).latest("id")
    assert (event.verb, event.patient_id) == (AuditEvent.Verb.READ, patient.pk)


@pytest.mark.django_db
def test_a_form_posted_back_with_errors_is_not_counted_again_as_a_read(client, frontdesk, patient):
    # The POST records what it changed (or nothing, when refused); the read was the GET's.
    client.force_login(frontdesk)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = client.post(reverse("patients:status", args=[patient.pk]), {})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(id__gt=last, verb=AuditEvent.Verb.READ).exists()
