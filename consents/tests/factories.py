"""Consent versions (published by default) and signatures, for tests of every app."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from consents.models import ConsentKind, ConsentScan, ConsentSignature, ConsentVersion, SignatureMethod
from core.hashing import content_sha256
from patients.tests.factories import PatientFactory


class ConsentVersionFactory(factory.django.DjangoModelFactory):
    """A published version of the ketamine treatment consent (``published_at=None``: a draft)."""

    class Meta:
        model = ConsentVersion

    kind = ConsentKind.TREATMENT
    title = "Consent to intravenous ketamine treatment"
    version_label = factory.Sequence(lambda n: f"2026.{n + 1}")
    body = "Ketamine is not approved for this use.\n\nYou may stop at any time."
    created_by = factory.SubFactory(UserFactory, role=Role.ADMINISTRATOR)
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    published_by = factory.LazyAttribute(lambda v: v.created_by if v.published_at else None)
    content_sha256 = factory.LazyAttribute(
        lambda v: (
            content_sha256({"kind": v.kind, "title": v.title, "version": v.version_label, "body": v.body})
            if v.published_at
            else ""
        )
    )


class ConsentSignatureFactory(factory.django.DjangoModelFactory):
    """The patient's consent to ``version``, signed in the clinic (on the tablet) yesterday."""

    class Meta:
        model = ConsentSignature

    patient = factory.SubFactory(PatientFactory)
    version = factory.SubFactory(ConsentVersionFactory)
    kind = factory.LazyAttribute(lambda s: s.version.kind)
    version_sha256 = factory.LazyAttribute(lambda s: s.version.content_sha256)
    method = SignatureMethod.IN_CLINIC
    typed_name = factory.LazyAttribute(lambda s: f"{s.patient.legal_first_name} {s.patient.legal_last_name}")
    signed_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    created_at = factory.LazyAttribute(lambda s: s.signed_at)
    recorded_by = factory.SubFactory(UserFactory, role=Role.NURSE)


def object_for_route(name: str, patient):
    """What the access tests put in a consent URL: a published treatment consent to sign, a paper
    consent of this patient's (with its scan), a draft version to open and publish."""
    if name == "consent_kind":
        ConsentVersionFactory()
        return ConsentKind.TREATMENT
    if name == "consent_signature_id":
        signature = ConsentSignatureFactory(patient=patient, method=SignatureMethod.PAPER)
        ConsentScan.objects.create(
            signature=signature,
            filename="scan.pdf",
            content_type="application/pdf",
            content=b"%PDF-1.4 scan",
            sha256="0" * 64,
            size_bytes=13,
        )
        return signature.pk
    if name == "consent_version_id":
        return ConsentVersionFactory(published_at=None).pk
    raise AssertionError(name)
