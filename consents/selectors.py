"""Reads of informed consent: which version is current, and where each patient stands.

``consent_status(patient, kinds=None, at=None)`` is the one question the other apps ask (the
infusion pre-check, the front desk, the pre-visit packet, a course's re-consent): for each kind,
current / outdated / missing / withdrawn (or nothing published yet), as of ``at``. The bulk form
``consent_statuses`` answers it for a page of patients in two queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from consents import rules
from consents.models import (
    ConsentKind,
    ConsentLink,
    ConsentPolicy,
    ConsentScan,
    ConsentSignature,
    ConsentVersion,
    ConsentWithdrawal,
)
from consents.rules import ConsentState
from documents.models import Document, DocumentKind


@dataclass(frozen=True)
class KindStatus:
    """One patient's standing for one kind of consent."""

    kind: str
    state: ConsentState
    latest_version_id: int | None = None
    latest_version_label: str = ""
    signed_version_label: str = ""
    signed_at: datetime | None = None
    method: str = ""
    signature_id: int | None = None

    @property
    def label(self) -> str:
        return ConsentKind(self.kind).label

    @property
    def state_label(self) -> str:
        return ConsentState(self.state).label

    @property
    def is_current(self) -> bool:
        return self.state == ConsentState.CURRENT

    @property
    def blocks(self) -> bool:
        return rules.blocks(self.state)


def policy_current() -> ConsentPolicy:
    return ConsentPolicy.objects.get_or_create(pk=1)[0]


def required_kinds() -> list[str]:
    return policy_current().required_kinds()


def _kinds(kinds: Iterable[str] | None) -> list[str]:
    wanted = list(kinds) if kinds is not None else list(ConsentKind.values)
    return [kind for kind in ConsentKind.values if kind in wanted]


def latest_versions(*, kinds: Iterable[str] | None = None, at: datetime | None = None) -> dict[str, ConsentVersion]:
    """The latest version of each kind published by ``at`` (default now), by kind."""
    at = at or timezone.now()
    rows = (
        ConsentVersion.objects.filter(kind__in=_kinds(kinds), published_at__lte=at)
        .order_by("kind", "-published_at", "-id")
        .distinct("kind")
    )
    return {row.kind: row for row in rows}


def consent_statuses(
    patient_ids: Iterable[int], *, kinds: Iterable[str] | None = None, at: datetime | None = None
) -> dict[int, dict[str, KindStatus]]:
    """Each patient's standing for each kind as of ``at`` (default now), in two queries."""
    at = at or timezone.now()
    wanted = _kinds(kinds)
    ids = list(dict.fromkeys(patient_ids))
    latest = latest_versions(kinds=wanted, at=at)
    signed: dict[tuple[int, str], ConsentSignature] = {}
    if ids and latest:
        withdrawn = ConsentWithdrawal.objects.filter(signature=OuterRef("pk"), withdrawn_at__lte=at)
        rows = (
            ConsentSignature.objects.filter(patient_id__in=ids, kind__in=list(latest), signed_at__lte=at)
            .annotate(withdrawn=Exists(withdrawn))
            .select_related("version")
            .only("id", "patient_id", "kind", "signed_at", "method", "version__id", "version__version_label")
            .order_by("patient_id", "kind", "-signed_at", "-id")
            .distinct("patient_id", "kind")
        )
        signed = {(row.patient_id, row.kind): row for row in rows}
    result: dict[int, dict[str, KindStatus]] = {}
    for pid in ids:
        result[pid] = {}
        for kind in wanted:
            version = latest.get(kind)
            signature = signed.get((pid, kind))
            state = rules.consent_state(
                latest_version_id=version.pk if version else None,
                signed_version_id=signature.version_id if signature else None,
                withdrawn=bool(signature and signature.withdrawn),  # type: ignore[attr-defined]  # annotated
            )
            result[pid][kind] = KindStatus(
                kind=kind,
                state=state,
                latest_version_id=version.pk if version else None,
                latest_version_label=version.version_label if version else "",
                signed_version_label=signature.version.version_label if signature else "",
                signed_at=signature.signed_at if signature else None,
                method=signature.method if signature else "",
                signature_id=signature.pk if signature else None,
            )
    return result


def consent_status(patient, kinds: Iterable[str] | None = None, at: datetime | None = None) -> dict[str, KindStatus]:
    """The patient's standing for each kind (all kinds by default) as of ``at`` (default now)."""
    return consent_statuses([patient.pk], kinds=kinds, at=at)[patient.pk]


def start_problems(patient, *, at: datetime | None = None) -> list[str]:
    """What stands in the way of starting an infusion: each required kind not current, in words."""
    statuses = consent_status(patient, kinds=required_kinds(), at=at)
    return [rules.refusal(label=s.label, state=s.state) for s in statuses.values() if s.blocks]


def lacking_consent(patient_ids: Iterable[int], *, at: datetime | None = None) -> set[int]:
    """The patients among ``patient_ids`` lacking a current consent of a required kind."""
    statuses = consent_statuses(patient_ids, kinds=required_kinds(), at=at)
    return {pid for pid, kinds in statuses.items() if any(s.blocks for s in kinds.values())}


def signatures_of(patient) -> QuerySet[ConsentSignature]:
    """The patient's signed consents, newest first, with their version and any withdrawal."""
    return (
        ConsentSignature.objects.filter(patient=patient)
        .defer("signature_png")
        .select_related("version", "recorded_by", "withdrawal", "scan")
        .defer("scan__content")
        .order_by("-signed_at", "-id")
    )


def signature_for_patient(patient, signature_id: int | None) -> ConsentSignature | None:
    if signature_id is None:
        return None
    return (
        ConsentSignature.objects.select_related("version", "patient", "recorded_by")
        .filter(patient=patient, pk=signature_id)
        .first()
    )


def versions_of(kind: str | None = None) -> QuerySet[ConsentVersion]:
    rows = ConsentVersion.objects.select_related("created_by", "published_by").order_by("kind", "-published_at", "-id")
    return rows.filter(kind=kind) if kind else rows


def link_by_id(link_id: int | None) -> ConsentLink | None:
    if not link_id:
        return None
    return ConsentLink.objects.select_related("patient").filter(pk=link_id).first()


def infusion_start_problems(session) -> list[str]:
    """The infusion start check (``infusions.signing.register_start_check``): any object with a
    ``patient`` (an infusion session) is refused while a required consent is not current."""
    return start_problems(session.patient)


def signature_documents(signatures) -> dict[int, Document]:
    """The issued PDF (its latest version) of each signature, by signature id."""
    ids = [s.pk for s in signatures]
    if not ids:
        return {}
    ct = ContentType.objects.get_for_model(ConsentSignature)
    rows = (
        Document.objects.filter(kind=DocumentKind.SIGNED_CONSENT, subject_type=ct, subject_id__in=ids)
        .defer("pdf", "snapshot")
        .order_by("subject_id", "-version")
        .distinct("subject_id")
    )
    return {row.subject_id: row for row in rows if row.subject_id is not None}


def scan_of(signature: ConsentSignature) -> ConsentScan | None:
    return ConsentScan.objects.filter(signature=signature).first()
