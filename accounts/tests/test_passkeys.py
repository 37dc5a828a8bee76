"""Passkeys (WebAuthn, django-otp-webauthn) as a second factor for chairside tablets, driven by
a software authenticator (an ES256 key made here, "none" attestation) instead of a browser: the
whole ceremony, the audit trail and the refusals."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from accounts import two_factor
from accounts.models import AuditEvent
from accounts.tests.test_two_factor import _enrol, _new_sign_in

pytestmark = pytest.mark.django_db

ORIGIN = "https://clinic.example.org"
HOST = "clinic.example.org"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftwareAuthenticator:
    """What a tablet's platform authenticator does, reduced to the bytes the server checks."""

    def __init__(self, origin: str = ORIGIN):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.origin = origin
        self.sign_count = 0

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def create(self, options: dict) -> dict:
        numbers = self.key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([0x45])  # user present, user verified, attested credential data
            + self.sign_count.to_bytes(4, "big")
            + bytes(16)  # AAGUID
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + cose_key
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": _b64(self.credential_id),
            "rawId": _b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(self._client_data("webauthn.create", options["challenge"])),
                "attestationObject": _b64(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options: dict) -> dict:
        self.sign_count += 1
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + self.sign_count.to_bytes(4, "big")
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": _b64(self.credential_id),
            "rawId": _b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _b64(client_data),
                "authenticatorData": _b64(auth_data),
                "signature": _b64(signature),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


@pytest.fixture
def passkey_site(settings):
    settings.OTP_REQUIRED = True
    settings.ALLOWED_HOSTS = [HOST]
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [ORIGIN]


@pytest.fixture
def tablet(client):
    return Client(HTTP_HOST=HOST, secure=True)


def _post_json(client, name: str, data: dict | None = None):
    return client.post(reverse(f"otp_webauthn:{name}"), json.dumps(data or {}), content_type="application/json")


def _register(client, authenticator) -> dict:
    options = _post_json(client, "credential-registration-begin").json()
    return _post_json(client, "credential-registration-complete", authenticator.create(options))


def test_passkey_enrolment_and_sign_in_on_a_tablet(tablet, nurse, passkey_site):
    _enrol(tablet, nurse)  # the app first; this session passed it
    security = tablet.get(reverse("accounts:security")).content.decode()
    assert 'id="passkey-registration-placeholder"' in security
    authenticator = SoftwareAuthenticator()
    enrolled = _register(tablet, authenticator)
    assert enrolled.status_code == 200, enrolled.content
    credential = WebAuthnCredential.objects.get(user=nurse)
    assert credential.confirmed
    assert AuditEvent.objects.filter(
        action="accounts.two_factor.passkey_enrolled", actor=nurse, object_id=str(credential.pk)
    ).exists()

    _new_sign_in(tablet, nurse)  # password again; the second factor is the passkey this time
    assert tablet.get(reverse("home"))["Location"] == reverse("accounts:two-factor")
    assert 'id="passkey-verification-button"' in tablet.get(reverse("accounts:two-factor")).content.decode()
    options = _post_json(tablet, "credential-authentication-begin").json()
    assert [c["id"] for c in options["allowCredentials"]] == [_b64(authenticator.credential_id)]
    assertion = authenticator.get(options)
    signed_in = _post_json(tablet, "credential-authentication-complete", assertion)
    assert signed_in.status_code == 200, signed_in.content
    assert signed_in.json()["redirect_url"] == reverse("home")
    assert tablet.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(action="accounts.two_factor.passkey_used", actor=nurse).exists()

    _new_sign_in(tablet, nurse)
    replay = _post_json(tablet, "credential-authentication-complete", assertion)  # no ceremony begun
    assert replay.status_code == 400
    assert tablet.get(reverse("home"))["Location"] == reverse("accounts:two-factor")


def test_a_passkey_cannot_be_added_before_a_second_factor(tablet, nurse, passkey_site, settings):
    """A stolen password alone must not be able to plant its own second factor: sent to the
    second factor when it is required, refused by the view in any case."""
    tablet.force_login(nurse)
    assert _post_json(tablet, "credential-registration-begin")["Location"] == reverse("accounts:two-factor")
    settings.OTP_REQUIRED = False
    refused = _post_json(tablet, "credential-registration-begin")
    assert refused.status_code == 403
    assert "authenticator app first" in refused.json()["detail"]
    assert _post_json(tablet, "credential-registration-complete", {}).status_code == 403
    assert not WebAuthnCredential.objects.exists()


def test_a_forged_or_foreign_passkey_does_not_pass_the_second_factor(tablet, nurse, clinician, passkey_site):
    _enrol(tablet, nurse)
    assert _register(tablet, SoftwareAuthenticator()).status_code == 200
    _new_sign_in(tablet, nurse)
    options = _post_json(tablet, "credential-authentication-begin").json()
    wrong_origin = SoftwareAuthenticator(origin="https://phish.example.net")
    wrong_origin.credential_id = base64.urlsafe_b64decode(options["allowCredentials"][0]["id"] + "==")
    assert _post_json(tablet, "credential-authentication-complete", wrong_origin.get(options)).status_code >= 400
    assert tablet.get(reverse("home"))["Location"] == reverse("accounts:two-factor")

    # Another person's passkey on this tablet does not verify the nurse's session.
    other = Client(HTTP_HOST=HOST, secure=True)
    _enrol(other, clinician)
    theirs = SoftwareAuthenticator()
    assert _register(other, theirs).status_code == 200
    options = _post_json(tablet, "credential-authentication-begin").json()
    assert _post_json(tablet, "credential-authentication-complete", theirs.get(options)).status_code >= 400
    assert tablet.get(reverse("home"))["Location"] == reverse("accounts:two-factor")


def test_passkeys_are_removed_by_their_owner_or_an_administrators_reset(tablet, nurse, admin, passkey_site):
    _enrol(tablet, nurse)
    assert _register(tablet, SoftwareAuthenticator()).status_code == 200
    credential = WebAuthnCredential.objects.get(user=nurse)
    tablet.post(reverse("accounts:security"), {"action": "remove_passkey", "passkey": credential.pk})
    assert not WebAuthnCredential.objects.filter(user=nurse).exists()
    assert AuditEvent.objects.filter(action="accounts.two_factor.passkey_removed", actor=nurse).exists()

    assert _register(tablet, SoftwareAuthenticator()).status_code == 200
    two_factor.two_factor_reset(user=nurse, by=admin, reason="Tablet lost; identity checked in person.")
    assert not WebAuthnCredential.objects.filter(user=nurse).exists()


def test_passkeys_have_no_admin_pages(client, admin):
    client.force_login(admin)
    assert client.get("/admin/django_otp_webauthn/webauthncredential/").status_code == 404
