"""The packet link (security-reference A9, as the questionnaire links): hashed token, expiry,
date-of-birth check that locks, scoped session, rate limit, another patient's token, and the
message that names no treatment."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from packets import services
from packets.access import SESSION_PACKET
from packets.models import Packet
from packets.tests.factories import new_packet
from patients.tests.factories import PatientFactory
from reminders.rules import denied_words_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def new(patient):
    return new_packet(patient)


def _dob(patient) -> dict:
    return {"date_of_birth": patient.date_of_birth.isoformat()}


def _open(client, new, patient):
    first = client.get(reverse("packets:link-open", args=[new.token]))
    if first.status_code != 302:
        return first
    return client.post(first["Location"], _dob(patient))


def test_token_is_256_bits_and_only_its_hash_is_stored(new):
    assert len(new.token) >= 43
    stored = Packet.objects.get(pk=new.packet.pk)
    assert stored.token_sha256 == hashlib.sha256(new.token.encode()).hexdigest()
    assert new.token not in str(Packet.objects.filter(pk=stored.pk).values().get())


def test_the_token_url_leaves_at_once_for_a_token_free_identity_check(client, new):
    response = client.get(reverse("packets:link-open", args=[new.token]))
    assert response.status_code == 302
    assert response["Location"] == reverse("packets:link-verify")
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get(response["Location"])
    assert "date of birth" in page.content.decode()
    assert new.token.encode() not in page.content
    assert page["Cache-Control"] == "no-store"


def test_right_dob_starts_a_scoped_session_at_a_token_free_address(client, new, patient):
    response = _open(client, new, patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("packets:hub")
    assert client.session[SESSION_PACKET] == new.packet.pk
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert new.token.encode() not in page.content
    assert "Your details and contacts" in page.content.decode()
    assert Packet.objects.get(pk=new.packet.pk).opened_at is not None


def test_the_scoped_session_reaches_nothing_else(client, new, patient):
    _open(client, new, patient)
    assert client.get(reverse("patients:list")).status_code == 302  # sign-in, not a list of patients
    assert client.get(reverse("packets:patient-panel", args=[patient.pk])).status_code == 302


def test_the_scoped_session_expires(client, new, patient):
    _open(client, new, patient)
    with time_machine.travel(timedelta(hours=1)):
        assert client.get(reverse("packets:hub")).status_code == 403


def test_expired_link_is_refused(client, new, patient):
    with time_machine.travel(new.packet.expires_at + timedelta(seconds=1)):
        response = _open(client, new, patient)
    assert response.status_code == 410
    assert SESSION_PACKET not in client.session


def test_withdrawn_link_is_refused(client, new, patient, frontdesk):
    services.packet_revoke(packet=new.packet, by=frontdesk)
    assert _open(client, new, patient).status_code == 410


def test_a_completed_packet_is_not_reused(client, new, patient):
    Packet.objects.filter(pk=new.packet.pk).update(completed_at=new.packet.created_at + timedelta(minutes=5))
    assert _open(client, new, patient).status_code == 410


def test_each_step_is_submitted_once(client, new, patient):
    _open(client, new, patient)
    services.details_submit(
        packet=new.packet, details={"emergency_contact_name": "Sam", "emergency_contact_phone": "+12025550142"}
    )
    page = client.get(reverse("packets:step", args=["details"]))
    assert "already sent this part" in page.content.decode()
    with pytest.raises(services.LinkRefused):
        services.details_submit(packet=new.packet, details={})
    # From another browser, the same link opens again (resuming) and still refuses the step.
    other = Client()
    _open(other, new, patient)
    assert "already sent this part" in other.get(reverse("packets:step", args=["details"])).content.decode()


def test_wrong_dob_is_refused_and_counted_then_the_link_locks(client, new, patient):
    wrong = {"date_of_birth": (patient.date_of_birth - timedelta(days=1)).isoformat()}
    client.get(reverse("packets:link-open", args=[new.token]))
    for _ in range(5):
        response = client.post(reverse("packets:link-verify"), wrong)
        assert response.status_code == 200
        assert "does not match" in response.content.decode()
        assert SESSION_PACKET not in client.session
    assert Packet.objects.get(pk=new.packet.pk).dob_failures == 5
    assert _open(client, new, patient).status_code == 410  # locked: even the right one


def test_another_patients_token_with_my_dob_does_not_open_it(client, new):
    me = PatientFactory(date_of_birth=new.packet.patient.date_of_birth - timedelta(days=400))
    mine = new_packet(me)
    # My date of birth against their link: refused; my own link still opens with mine.
    client.get(reverse("packets:link-open", args=[new.token]))
    response = client.post(reverse("packets:link-verify"), _dob(me))
    assert response.status_code == 200
    assert SESSION_PACKET not in client.session
    assert _open(client, mine, me).status_code == 302
    assert client.session[SESSION_PACKET] == mine.packet.pk


def test_a_session_scoped_to_one_packet_cannot_reach_another(client, new, patient):
    other = new_packet(PatientFactory())
    _open(client, new, patient)
    # Opening another token starts again from the date-of-birth check: the old scope is gone.
    client.get(reverse("packets:link-open", args=[other.token]))
    assert SESSION_PACKET not in client.session
    assert client.get(reverse("packets:hub")).status_code == 403


def test_bad_dob_input_is_a_field_error_not_a_500(client, new):
    client.get(reverse("packets:link-open", args=[new.token]))
    for bad in ("31/31/31", "", "x" * 500, "2024-02-30"):
        response = client.post(reverse("packets:link-verify"), {"date_of_birth": bad})
        assert response.status_code == 200
        assert "date of birth" in response.content.decode()


def test_unknown_token_is_404(client):
    assert client.get(reverse("packets:link-open", args=["x" * 43])).status_code == 404


def test_brute_force_is_rate_limited_even_for_a_valid_token(client, new, patient):
    for n in range(25):
        assert client.get(reverse("packets:link-open", args=[f"guess{n:040d}"])).status_code in (404, 429)
    assert client.get(reverse("packets:link-open", args=["guess"])).status_code == 429
    assert _open(client, new, patient).status_code == 429


def test_the_message_names_no_treatment_and_goes_out_on_the_consented_channels(frontdesk):
    patient = PatientFactory(
        email="jo@example.com",
        email_opt_in=True,
        email_consent_at=timezone.now(),
        email_consent_method="written",
        sms_opt_in=False,
    )
    new = new_packet(patient, by=frontdesk)
    used = services.packet_send(new=new, base_url="https://clinic.example", by=frontdesk)
    assert used == ["email"]
    body = mail.outbox[-1].body
    assert new.token in body
    assert not denied_words_in(body)
    assert patient.contact_log.filter(summary__startswith="Pre-visit forms link sent by email").exists()


def test_without_consent_to_contact_nothing_is_sent(frontdesk):
    patient = PatientFactory(sms_opt_in=False, email_opt_in=False)
    new = new_packet(patient, by=frontdesk)
    with pytest.raises(Exception, match="not agreed"):
        services.packet_send(new=new, base_url="https://clinic.example", by=frontdesk)
