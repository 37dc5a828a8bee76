"""Break-glass (security-reference A6, ONC (d)(6)): front desk reads a chart's clinical record in
an emergency, with a reason, for a limited time; flagged in the audit trail; administrators told."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, EmergencyAccess
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

REASON = "Collapsed in the waiting room; paramedics ask for her medications."


def _clinical(client, patient):
    return client.get(reverse("patients:detail", args=[patient.pk])).content.decode()


PASSWORD = "front desk password 1"


@pytest.fixture
def frontdesk(frontdesk):
    frontdesk.set_password(PASSWORD)
    frontdesk.save(update_fields=["password"])
    return frontdesk


def _invoke(client, patient, reason=REASON, password=PASSWORD):
    return client.post(
        reverse("patients:emergency-access", args=[patient.pk]), {"reason": reason, "password": password}
    )


def test_front_desk_reads_the_clinical_record_after_giving_a_reason_and_administrators_are_told(
    client, frontdesk, admin, patient, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    admin.email = "director@clinic.example"
    admin.save()
    client.force_login(frontdesk)
    page = _clinical(client, patient)
    assert "Clinical record</h2>" not in page
    assert "Emergency access to the clinical record" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = _invoke(client, patient)
    assert response.status_code == 302
    page = _clinical(client, patient)
    assert "Clinical record</h2>" in page
    assert "Emergency access</strong> to clinical records until" in page

    started = AuditEvent.objects.get(action="accounts.emergency_access.started")
    assert (started.verb, started.actor, started.patient_id) == ("break_glass", frontdesk, patient.pk)
    assert started.changes["reason"] == REASON
    opened = AuditEvent.objects.filter(action="patients.patient.viewed", actor=frontdesk).latest("id")
    assert opened.under_emergency_access is True

    assert len(mail.outbox) == 1
    alert = mail.outbox[0]
    assert "director@clinic.example" in alert.to
    assert frontdesk.username in alert.body
    assert patient.legal_last_name not in alert.body + alert.subject  # no PHI in the e-mail
    assert patient.mrn not in alert.body


def test_the_grant_reads_only_and_ends_by_itself(client, frontdesk, patient, settings):
    settings.EMERGENCY_ACCESS_MINUTES = 30
    client.force_login(frontdesk)
    _invoke(client, patient)
    assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 200
    # Writing stays refused: no clinical change permission comes with the grant.
    assert client.post(reverse("followups:link-send", args=[patient.pk])).status_code == 403

    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        client.force_login(frontdesk)  # the idle time-out would otherwise end the session first
        assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 403
        assert "Clinical record</h2>" not in _clinical(client, patient)
        assert not AuditEvent.objects.filter(actor=frontdesk).latest("id").under_emergency_access


def test_ending_early_closes_the_record_at_once(client, frontdesk, patient):
    client.force_login(frontdesk)
    _invoke(client, patient)
    client.post(reverse("accounts:emergency-access-end"))
    assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 403
    assert EmergencyAccess.objects.get().ended_at is not None
    assert AuditEvent.objects.filter(action="accounts.emergency_access.ended", verb="break_glass").exists()


def test_the_grant_belongs_to_that_session_only(client, frontdesk, patient):
    client.force_login(frontdesk)
    _invoke(client, patient)
    other = Client()
    other.force_login(frontdesk)
    assert other.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 403


@pytest.mark.parametrize("reason", ["", "   ", "help"])
def test_no_grant_without_a_reason_and_what_was_typed_is_kept(client, frontdesk, patient, reason):
    client.force_login(frontdesk)
    response = _invoke(client, patient, reason)
    assert response.status_code == 200
    body = response.content.decode()
    assert "This field is required." in body or "Say what the emergency is" in body
    assert "<details" in body
    assert " open>" in body
    assert not EmergencyAccess.objects.exists()
    assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 403


def test_no_grant_without_the_users_own_password(client, frontdesk, patient):
    client.force_login(frontdesk)
    response = _invoke(client, patient, password="guess")
    body = response.content.decode()
    assert "That is not your password." in body
    assert REASON.split(";")[0] in body  # the reason typed is kept
    assert not EmergencyAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="accounts.emergency_access.started").exists()


def test_clinicians_neither_need_nor_get_the_button(client, clinician, patient):
    client.force_login(clinician)
    assert "Emergency access to the clinical record" not in _clinical(client, patient)
    assert _invoke(client, patient).status_code == 403


def test_emergency_access_opens_the_granted_chart_only(client, frontdesk, patient):
    """A grant for patient A reads A's record; B's record, the worklist and the reports stay closed
    (every helper is walked for both charts by tests/test_access_matrix.py)."""
    other = PatientFactory()
    client.force_login(frontdesk)
    _invoke(client, patient)
    assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 200
    assert client.get(reverse("consultations:patient-panel", args=[other.pk])).status_code == 403
    assert client.get(reverse("followups:outcomes", args=[other.pk])).status_code == 403
    assert "Clinical record</h2>" not in _clinical(client, other)
    assert client.get(reverse("followups:worklist")).status_code == 403
    assert client.get(reverse("reports:clinical-quality")).status_code == 403
    assert reverse("followups:worklist") not in _clinical(client, patient)  # no link to a many-patient page


def test_emergency_access_to_a_second_chart_ends_the_first(client, frontdesk, patient):
    other = PatientFactory()
    client.force_login(frontdesk)
    _invoke(client, patient)
    _invoke(client, other)
    assert client.get(reverse("consultations:patient-panel", args=[other.pk])).status_code == 200
    assert client.get(reverse("consultations:patient-panel", args=[patient.pk])).status_code == 403
    first, second = EmergencyAccess.objects.order_by("id")
    assert first.ended_at is not None
    assert second.ended_at is None


def test_reads_under_emergency_access_are_a_column_and_a_filter_of_the_audit_report(client, frontdesk, admin, patient):
    client.force_login(frontdesk)
    _invoke(client, patient)
    _clinical(client, patient)
    client.force_login(admin)
    flagged = client.get(reverse("accounts:audit-report"), {"emergency": "true"}).content.decode()
    assert "patients.patient.viewed" in flagged
    assert "accounts.user.signed_in" not in flagged
    assert '<span class="badge text-bg-danger">emergency</span>' in flagged
    unflagged = client.get(reverse("accounts:audit-report"), {"emergency": "false"}).content.decode()
    assert "accounts.user.signed_in" in unflagged
    assert "patients.patient.viewed" not in unflagged
