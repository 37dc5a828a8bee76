"""Consent document versions: a version patients signed is never renamed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consultations.models import ConsentDocument
from consultations.tests.factories import ConsultationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin.consent", role=Role.ADMINISTRATOR)


def test_a_new_consent_version_is_added_and_audited(client, administrator):
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:create", args=["consent-documents"]),
        {"title": "Informed consent", "version": "IVK-2027-1", "effective_from": "2027-01-01"},
    )
    assert response.status_code == 302
    assert ConsentDocument.objects.filter(version="IVK-2027-1").exists()
    assert AuditEvent.objects.filter(action="consultations.consentdocument.created").exists()


def test_a_signed_version_cannot_be_renamed(client, administrator):
    ConsultationFactory(consent_document_version="IVK-2026-1")
    document = ConsentDocument.objects.create(
        title="Informed consent", version="IVK-2026-1", effective_from="2026-01-01"
    )
    client.force_login(administrator)
    response = client.post(
        reverse("clinic_settings:edit", args=["consent-documents", document.pk]),
        {"title": "Informed consent", "version": "IVK-2026-1b", "effective_from": "2026-01-01"},
    )
    assert response.status_code == 200
    assert "Patients have signed IVK-2026-1" in response.context["form"].errors["version"][0]
    assert 'value="IVK-2026-1b"' in response.content.decode()
    assert ConsentDocument.objects.get(pk=document.pk).version == "IVK-2026-1"


@pytest.mark.parametrize("who", ["frontdesk", "nurse", "prescriber"])
def test_only_administrators_manage_consent_versions(client, persona, who):
    client.force_login(persona[who])
    assert client.get(reverse("clinic_settings:list", args=["consent-documents"])).status_code == 403
