"""No infusion starts without each consent the clinic requires, signed on its current version:
a new version published refuses the start until the patient signs it; a paper consent serves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from consents import services as consent_services
from consents.models import ConsentSignature
from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from infusions import rules, services
from infusions.models import InfusionSession
from infusions.tests.factories import advance, open_session

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


def _start(session, nurse_user):
    return services.session_transition(session=session, to=S.INFUSING, by=nurse_user, container_lot="LOT-1")


def test_a_new_consent_version_refuses_the_start_until_signed_again(morning, policy, nurse_user, verifier, admin):
    first = ConsentVersionFactory(published_at=timezone.now() - timedelta(days=60))
    session = advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    ConsentSignatureFactory(patient=session.patient, version=first, signed_at=timezone.now() - timedelta(days=59))
    second = ConsentVersionFactory(published_at=timezone.now() - timedelta(hours=1))

    with pytest.raises(ValidationError, match="a new version was published since the patient signed"):
        _start(session, nurse_user)
    assert InfusionSession.objects.get(pk=session.pk).status == S.CLEARED

    consent_services.consent_sign(
        patient=session.patient,
        version=second,
        typed_name=session.patient.legal_last_name,
        ip_address="198.51.100.4",
        user_agent="tablet",
        by=nurse_user,
    )
    assert _start(InfusionSession.objects.get(pk=session.pk), nurse_user).status == S.INFUSING


def test_a_withdrawn_consent_refuses_and_a_scanned_paper_consent_allows_the_start(
    morning, policy, nurse_user, verifier, frontdesk, client
):
    version = ConsentVersionFactory()
    session = advance(open_session(by=nurse_user), S.CLEARED, nurse_user=nurse_user, verifier=verifier)
    # The intake could only be signed with the treatment consent in place; the patient then withdrew it.
    for signature in ConsentSignature.objects.filter(patient=session.patient):
        consent_services.consent_withdraw(signature=signature, reason="Wants to think it over", by=verifier)
    client.force_login(nurse_user)
    page = client.get(reverse("infusions:session", args=[session.pk])).content.decode()
    assert "Ketamine treatment (off-label use)" in page
    assert "the infusion cannot start until the patient signs version" in page
    with pytest.raises(ValidationError, match="consent was withdrawn by the patient; a new signed consent is needed"):
        _start(session, nurse_user)
    consent_services.consent_paper_record(
        patient=session.patient,
        version=version,
        typed_name="Signed on paper",
        signed_on=timezone.localdate(),
        upload=SimpleUploadedFile("consent.pdf", b"%PDF-1.4 scan", content_type="application/pdf"),
        by=frontdesk,
    )
    assert _start(InfusionSession.objects.get(pk=session.pk), nurse_user).status == S.INFUSING
