"""The packet's consent step hands the patient, already identified, to the consents app's signing
page (no second date-of-birth check), and brings them back with the step done; the handed-over
link opens once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consents.models import ConsentKind, ConsentSignature, SignatureMethod
from consents.tests.factories import ConsentVersionFactory
from packets.models import Packet
from packets.tests.factories import new_packet
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_consent_step_signs_on_the_consent_page_and_comes_back_done(client):
    version = ConsentVersionFactory()
    patient = PatientFactory(legal_first_name="Ana", legal_last_name="Lima")
    new = new_packet(patient)
    client.get(reverse("packets:link-open", args=[new.token]))
    client.post(reverse("packets:link-verify"), {"date_of_birth": patient.date_of_birth.isoformat()})

    handover = client.get(reverse("packets:step", args=["consent"]))
    assert handover.status_code == 302
    assert handover["Location"].startswith("/consents/c/")
    opened = client.get(handover["Location"])
    assert opened["Location"] == reverse("consents:public-sign")
    assert client.get(handover["Location"]).status_code == 410  # the handed-over link opens once
    page = client.get(reverse("consents:public-sign"))
    assert b"You may stop at any time." in page.content
    signed = client.post(
        reverse("consents:public-sign"), {"version": version.pk, "typed_name": "Ana Lima", "agree": "on"}
    )
    assert signed["Location"] == reverse("packets:step", args=["consent"])
    back = client.get(signed["Location"])
    assert back["Location"] == reverse("packets:hub")
    assert client.get(back["Location"]).status_code == 200  # the packet's session was kept
    assert Packet.objects.get(pk=new.packet.pk).consent_at is not None
    signature = ConsentSignature.objects.get(patient=patient)
    assert (signature.kind, signature.method) == (ConsentKind.TREATMENT, SignatureMethod.ONLINE)
