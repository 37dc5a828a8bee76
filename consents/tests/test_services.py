"""Publishing, signing (online, on the tablet, on paper), withdrawing, and the database holding
published versions and signed records fixed."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction

from accounts.models import AuditEvent
from consents import rules, selectors, services
from consents.models import ConsentKind, ConsentSignature, ConsentVersion, SignatureMethod
from consents.rules import ConsentState
from consents.tests.factories import ConsentSignatureFactory, ConsentVersionFactory
from core.hashing import content_sha256
from documents import services as documents
from documents.models import Document, DocumentKind
from documents.tests.helpers import flat
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
# A 1 x 1 transparent PNG: what a canvas's toDataURL gives, in miniature.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
DATA_URL = rules.DATA_URL_PREFIX + base64.b64encode(PNG).decode()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _publish(
    admin, *, label: str = "2026.1", kind: str = ConsentKind.TREATMENT, body: str = "You may stop at any time."
):
    draft = services.consent_version_draft(
        by=admin, kind=kind, title="Consent to ketamine treatment", version_label=label, body=body
    )
    return services.consent_version_publish(version=draft, by=admin)


def test_publishing_fixes_the_content_hash_and_only_an_administrator_may(clock, admin, nurse):
    with pytest.raises(PermissionDenied):
        services.consent_version_draft(by=nurse, kind=ConsentKind.TREATMENT, title="T", version_label="1", body="B")
    version = _publish(admin)
    assert version.content_sha256 == content_sha256(
        {
            "kind": "ketamine_treatment",
            "title": "Consent to ketamine treatment",
            "version": "2026.1",
            "body": "You may stop at any time.",
        }
    )
    assert version.published_at == NOW
    with pytest.raises(ValidationError, match="never changes"):
        services.consent_version_draft(
            by=admin, version=version, kind=version.kind, title="New", version_label="2026.1", body="Changed"
        )
    with pytest.raises(ValidationError, match="already has a version"):
        services.consent_version_draft(
            by=admin, kind=ConsentKind.TREATMENT, title="T", version_label="2026.1", body="B"
        )


def test_the_database_refuses_to_change_a_published_version_or_a_signature(clock, admin, nurse):
    version = _publish(admin)
    draft = services.consent_version_draft(
        by=admin, kind=ConsentKind.TREATMENT, title="Draft", version_label="2026.2", body="Draft text"
    )
    signature = ConsentSignatureFactory(version=version)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE consents_consentversion SET body = 'edited' WHERE id = %s", [draft.pk])  # a draft may
        for sql, pk in [
            ("UPDATE consents_consentversion SET body = 'edited' WHERE id = %s", version.pk),
            ("DELETE FROM consents_consentversion WHERE id = %s", version.pk),
            ("UPDATE consents_consentsignature SET typed_name = 'Someone else' WHERE id = %s", signature.pk),
            ("DELETE FROM consents_consentsignature WHERE id = %s", signature.pk),
        ]:
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute(sql, [pk])
    assert ConsentVersion.objects.get(pk=version.pk).body == "You may stop at any time."
    assert ConsentSignature.objects.get(pk=signature.pk).typed_name == signature.typed_name


def test_signing_on_the_tablet_keeps_the_version_hash_ip_and_agent_and_renders_a_pdf_that_reads_back(
    clock, admin, nurse, django_capture_on_commit_callbacks
):
    version = _publish(admin)
    patient = PatientFactory(legal_first_name="Ana", legal_last_name="Lima")
    with django_capture_on_commit_callbacks(execute=False):
        signature = services.consent_sign(
            patient=patient,
            version=version,
            typed_name="  Ana   Lima ",
            signature_data_url=DATA_URL,
            ip_address="203.0.113.9",
            user_agent="Mozilla/5.0 (Linux; Android 14) Tablet",
            by=nurse,
        )
    signature.refresh_from_db()
    assert (signature.method, signature.typed_name, signature.version_sha256) == (
        SignatureMethod.IN_CLINIC,
        "Ana Lima",
        version.content_sha256,
    )
    assert (signature.ip_address, signature.user_agent, signature.signed_at) == (
        "203.0.113.9",
        "Mozilla/5.0 (Linux; Android 14) Tablet",
        NOW,
    )
    assert bytes(signature.signature_png) == PNG
    assert signature.recorded_by == nurse
    assert AuditEvent.objects.filter(action="consents.consent.signed", patient_id=patient.pk).exists()

    document = Document.objects.get(kind=DocumentKind.SIGNED_CONSENT, patient=patient)
    document = documents.document_render(document_id=document.pk)
    text = flat(documents.pdf_bytes(document))
    assert "Ana Lima" in text
    assert "version 2026.1" in text
    assert version.content_sha256 in text.replace(" ", "")
    assert document.snapshot["signature"]["image"].startswith(rules.DATA_URL_PREFIX)
    assert selectors.consent_status(patient)[ConsentKind.TREATMENT].state == ConsentState.CURRENT


def test_a_signature_needs_the_patients_name_and_a_real_png_when_drawn(clock, admin, nurse):
    version = _publish(admin)
    patient = PatientFactory(legal_first_name="Ana", legal_last_name="Lima")
    kwargs = {"patient": patient, "version": version, "ip_address": None, "user_agent": "", "by": nurse}
    with pytest.raises(ValidationError) as refused:
        services.consent_sign(typed_name="", signature_data_url="data:image/png;base64,AAAA", **kwargs)
    assert set(refused.value.message_dict) == {"typed_name", "signature"}
    with pytest.raises(ValidationError, match="full legal name"):
        services.consent_sign(typed_name="Someone Else", **kwargs)
    # Keyboard only: the typed name alone is the signature.
    signature = services.consent_sign(typed_name="ana lima", **kwargs)
    assert bytes(signature.signature_png) == b""


def test_a_new_version_makes_the_signature_outdated_until_signed_again(clock, admin, nurse):
    first = _publish(admin)
    patient = PatientFactory()
    services.consent_sign(
        patient=patient, version=first, typed_name=patient.legal_last_name, ip_address=None, user_agent="", by=nurse
    )
    clock.shift(timedelta(days=1))
    second = _publish(admin, label="2026.2", body="New wording.")
    status = selectors.consent_status(patient, kinds=[ConsentKind.TREATMENT])[ConsentKind.TREATMENT]
    assert (status.state, status.signed_version_label, status.latest_version_label) == (
        ConsentState.OUTDATED,
        "2026.1",
        "2026.2",
    )
    assert selectors.start_problems(patient) == [
        "Ketamine treatment (off-label use) consent: a new version was published since the patient signed; "
        "they must sign it first"
    ]
    # Status as of before the new version: still current then.
    assert selectors.consent_status(patient, at=NOW)[ConsentKind.TREATMENT].state == ConsentState.CURRENT
    with pytest.raises(ValidationError, match="newer version"):
        services.consent_sign(
            patient=patient, version=first, typed_name=patient.legal_last_name, ip_address=None, user_agent="", by=nurse
        )
    services.consent_sign(
        patient=patient, version=second, typed_name=patient.legal_last_name, ip_address=None, user_agent="", by=nurse
    )
    assert selectors.start_problems(patient) == []


def test_nothing_published_requires_nothing_and_only_required_kinds_block(clock, admin):
    patient = PatientFactory()
    assert selectors.consent_status(patient)[ConsentKind.TREATMENT].state == ConsentState.NONE_PUBLISHED
    assert selectors.start_problems(patient) == []
    _publish(admin, kind=ConsentKind.FINANCIAL)
    assert selectors.consent_status(patient)[ConsentKind.FINANCIAL].state == ConsentState.MISSING
    assert selectors.start_problems(patient) == []  # the financial policy is not required by default
    policy = selectors.policy_current()
    policy.require_financial = True
    policy.save()
    assert selectors.start_problems(patient) == [
        "Financial policy consent is not signed; the patient signs it (or staff record the paper consent) first"
    ]


def test_a_scanned_paper_consent_is_the_equivalent_and_its_file_is_checked(clock, admin, frontdesk):
    version = _publish(admin)
    patient = PatientFactory()
    kwargs = {"patient": patient, "version": version, "typed_name": "As signed", "signed_on": date(2026, 3, 9)}
    fake = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ValidationError, match="not the type"):
        services.consent_paper_record(upload=fake, by=frontdesk, **kwargs)
    exe = SimpleUploadedFile("scan.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
    with pytest.raises(ValidationError, match="PDF, PNG or JPEG"):
        services.consent_paper_record(upload=exe, by=frontdesk, **kwargs)
    big = SimpleUploadedFile("scan.pdf", b"%PDF-" + b"0" * rules.SCAN_MAX_BYTES, content_type="application/pdf")
    with pytest.raises(ValidationError, match="larger than"):
        services.consent_paper_record(upload=big, by=frontdesk, **kwargs)
    scan = SimpleUploadedFile("scan.pdf", b"%PDF-1.7 scanned consent", content_type="application/pdf")
    signature = services.consent_paper_record(upload=scan, by=frontdesk, **kwargs)
    assert signature.method == SignatureMethod.PAPER
    assert services.scan_bytes(signature.scan) == b"%PDF-1.7 scanned consent"
    assert signature.scan.size_bytes == 24
    assert selectors.start_problems(patient) == []


def test_a_withdrawal_is_a_new_record_that_blocks_the_next_infusion(clock, admin, nurse, frontdesk):
    version = _publish(admin)
    signature = ConsentSignatureFactory(version=version)
    with pytest.raises(PermissionDenied):
        services.consent_withdraw(signature=signature, reason="Changed my mind", by=frontdesk)
    services.consent_withdraw(signature=signature, reason="Changed my mind", by=nurse)
    assert selectors.consent_status(signature.patient)[ConsentKind.TREATMENT].state == ConsentState.WITHDRAWN
    assert "withdrawn" in selectors.start_problems(signature.patient)[0]
    assert ConsentSignature.objects.filter(pk=signature.pk).exists()


def test_the_bulk_status_costs_two_queries_however_many_patients(clock, admin, django_assert_num_queries):
    version = ConsentVersionFactory()
    patients = [ConsentSignatureFactory(version=version).patient for _ in range(5)] + [PatientFactory()]
    with django_assert_num_queries(2):
        statuses = selectors.consent_statuses([p.pk for p in patients])
    assert [statuses[p.pk][ConsentKind.TREATMENT].state for p in patients] == [ConsentState.CURRENT] * 5 + [
        ConsentState.MISSING
    ]
