"""Consents' document: the signed consent, rendered once as an immutable PDF (registered with
documents). It shows the exact text signed, the version's SHA-256, the typed name, the drawn
signature when there is one, and when, where from and how it was signed."""

from __future__ import annotations

import base64
from typing import Any

from consents.models import ConsentSignature, SignatureMethod
from consents.rules import DATA_URL_PREFIX
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import letterhead, local_text, patient_part, user_text


def signed_consent(signature: ConsentSignature) -> dict[str, Any]:
    version = signature.version
    png = bytes(signature.signature_png or b"")
    return {
        "letterhead": letterhead(),
        "patient": patient_part(signature.patient),
        "consent": {
            "kind": signature.get_kind_display(),
            "title": version.title,
            "version": version.version_label,
            "version_sha256": signature.version_sha256,
            "published_at": local_text(version.published_at),
            "paragraphs": version.paragraphs(),
        },
        "signature": {
            "id": signature.pk,
            "typed_name": signature.typed_name,
            "image": DATA_URL_PREFIX + base64.b64encode(png).decode() if png else "",
            "signed_at": local_text(signature.signed_at),
            "method": signature.get_method_display(),
            "paper": signature.method == SignatureMethod.PAPER,
            "ip_address": signature.ip_address or "",
            "user_agent": signature.user_agent,
            "recorded_by": user_text(signature.recorded_by),
        },
    }


def find_signature(patient, signature_id: int | None) -> ConsentSignature | None:
    if signature_id is None:
        return None
    return (
        ConsentSignature.objects.select_related("version", "patient", "recorded_by")
        .filter(patient=patient, pk=signature_id)
        .first()
    )


def signatures(patient) -> list[ConsentSignature]:
    return list(
        ConsentSignature.objects.filter(patient=patient)
        .defer("signature_png")
        .select_related("version")
        .order_by("-signed_at", "-id")[:50]
    )


registry.register(
    DocumentKind.SIGNED_CONSENT,
    template="documents/signed_consent.html",
    build=signed_consent,
    patient_of=lambda signature: signature.patient,
    find=find_signature,
    choices=signatures,
    not_found="No such signed consent for this patient.",
)
