"""The intake's consent store moves into the consents app: every document version and every
consent an intake recorded, once, with nothing lost and the intakes untouched."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import import_module
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents.models import ConsentKind, ConsentSignature, ConsentVersion
from consents.selectors import consent_status
from consultations.models import Consultation
from consultations.tests.factories import ConsultationFactory, signed_record
from core.hashing import content_sha256

pytestmark = pytest.mark.django_db
MIGRATION = import_module("consents.migrations.0003_from_intake_consent_store")


class _OldDocuments:
    """The retired ConsentDocument table as the historical model would read it."""

    def __init__(self, rows):
        self.objects = SimpleNamespace(order_by=lambda *fields: sorted(rows, key=lambda r: (r.effective_from, r.id)))


def _apps(documents):
    old = _OldDocuments(documents)
    return SimpleNamespace(
        get_model=lambda app, name: old if name == "ConsentDocument" else django_apps.get_model(app, name)
    )


def _document(pk, version, effective_from, *, active=True, summary=""):
    title = "Informed consent: IV ketamine (off-label)"
    return SimpleNamespace(
        id=pk, title=title, version=version, effective_from=effective_from, active=active, summary=summary
    )


def test_versions_and_recorded_consents_move_once_and_the_intakes_keep_theirs():
    UserFactory(role=Role.ADMINISTRATOR, is_superuser=True)
    today = timezone.localdate()
    documents = [
        _document(1, "IVK-2025-2", today - timedelta(days=900), active=False),
        _document(2, "IVK-2026-1", today - timedelta(days=600), summary="Adds the escort paragraph."),
    ]
    clinician = UserFactory(role=Role.PRESCRIBER)
    signed = signed_record(
        clinician=clinician,
        consent_given=True,
        consent_document_version="IVK-2026-1",
        consent_signed_on=today - timedelta(days=20),
    )
    # A draft that named a version the settings page never listed, and one with no consent.
    unlisted = ConsultationFactory(
        consent_given=True, consent_document_version="PAPER-7", consent_signed_on=today - timedelta(days=700)
    )
    ConsultationFactory(consent_given=None, consent_document_version="", consent_signed_on=None)

    MIGRATION.forwards(_apps(documents), None)
    MIGRATION.forwards(_apps(documents), None)  # a second run adds nothing

    versions = {v.version_label: v for v in ConsentVersion.objects.filter(kind=ConsentKind.TREATMENT)}
    assert set(versions) == {"IVK-2025-2", "IVK-2026-1", "PAPER-7"}
    zone = ZoneInfo(settings.TIME_ZONE)
    current = versions["IVK-2026-1"]
    assert current.published_at.astimezone(zone).date() == today - timedelta(days=600)
    assert current.summary_of_changes == "Adds the escort paragraph."
    assert current.content_sha256 == content_sha256(current.content())
    assert "no longer given" in versions["IVK-2025-2"].body

    (signature,) = ConsentSignature.objects.filter(patient=signed.patient)
    assert (signature.version_id, signature.method, signature.recorded_by_id) == (current.pk, "paper", clinician.pk)
    assert signature.signed_at.astimezone(zone).date() == today - timedelta(days=20)
    assert signature.version_sha256 == current.content_sha256
    assert ConsentSignature.objects.get(patient=unlisted.patient).version == versions["PAPER-7"]
    assert ConsentSignature.objects.count() == 2
    assert consent_status(signed.patient)[ConsentKind.TREATMENT].is_current

    kept = Consultation.objects.get(pk=signed.pk)
    assert (kept.consent_given, kept.consent_document_version) == (True, "IVK-2026-1")


def test_nothing_to_move_needs_no_user():
    MIGRATION.forwards(_apps([]), None)
    assert not ConsentVersion.objects.exists()


def test_the_day_is_kept_whatever_the_zone():
    zone = ZoneInfo("Pacific/Kiritimati")
    assert MIGRATION._at_noon(date(2026, 3, 8), zone).astimezone(zone).date() == date(2026, 3, 8)


def test_the_chart_lists_a_consent_moved_from_an_intake_without_a_scan(client):
    from django.urls import reverse

    from consents.models import SignatureMethod
    from consents.tests.factories import ConsentSignatureFactory

    signature = ConsentSignatureFactory(method=SignatureMethod.PAPER)
    nurse = UserFactory(role=Role.NURSE)
    client.force_login(nurse)
    response = client.get(reverse("consents:patient-panel", args=[signature.patient_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "recorded on the intake" in html
    assert reverse("consents:scan", args=[signature.patient_id, signature.pk]) not in html


def test_the_intake_summary_shows_the_treatment_consent_from_the_consents_app():
    from consultations.documents import consultation_summary
    from consultations.tests.factories import signed_consultation

    consultation = signed_consultation()
    consent = consultation_summary(consultation)["consent"]
    assert consent["given"] == "Yes"
    signature = ConsentSignature.objects.get(patient=consultation.patient)
    assert consent["document_version"] == signature.version.version_label
