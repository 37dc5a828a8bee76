"""Reads for documents. The PDF bytes are never loaded for a list."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from documents import access, registry
from documents.models import Disclosure, Document, DocumentKind

LIST_FIELDS = (
    "id",
    "kind",
    "patient_id",
    "subject_type_id",
    "subject_id",
    "version",
    "supersedes_id",
    "title",
    "issued_at",
    "issued_by__username",
    "issued_by__first_name",
    "issued_by__last_name",
    "issued_by__display_name",
    "issued_by__credentials",
    "status",
    "size_bytes",
    "page_count",
)


def patient_documents(*, patient, kinds: list[str], limit: int = 200) -> QuerySet[Document]:
    return (
        Document.objects.filter(patient=patient, kind__in=kinds)
        .select_related("issued_by")
        .only(*LIST_FIELDS)
        .order_by("kind", "subject_type_id", "subject_id", "-version")[:limit]
    )


def grouped(documents) -> list[dict[str, Any]]:
    """One entry per (kind, subject): the current version first, older versions after it."""
    chains: dict[tuple, list[Document]] = defaultdict(list)
    for document in documents:
        chains[(document.kind, document.subject_type_id, document.subject_id)].append(document)
    entries = [
        {"kind": DocumentKind(key[0]).label, "current": versions[0], "older": versions[1:]}
        for key, versions in chains.items()
    ]
    return sorted(entries, key=lambda e: e["current"].issued_at, reverse=True)


def recent_disclosures(*, patient, limit: int = 10) -> list[Disclosure]:
    return list(
        Disclosure.objects.filter(patient=patient)
        .select_related("by", "document")
        .only(
            "id",
            "at",
            "recipient",
            "purpose",
            "channel",
            "by__username",
            "by__first_name",
            "by__last_name",
            "by__display_name",
            "by__credentials",
            "document__title",
            "document__version",
            "document__kind",
        )
        .order_by("-at", "-id")[:limit]
    )


def issue_choices(*, user, patient) -> dict[str, Any]:
    """What this user may issue for this patient, per kind: the records the issue buttons offer
    (each signed consultation, each plan, each infusion day), or True for a kind issued about
    the patient as a whole (discharge instructions); empty or False where the user may not."""
    choices: dict[str, Any] = {}
    for entry in registry.kinds():
        if entry.find is None:
            continue
        allowed = access.can_issue(user, entry.kind, patient_id=patient.pk)
        if entry.choices is None:
            choices[entry.kind] = allowed
        else:
            choices[entry.kind] = entry.choices(patient) if allowed else []
    return choices
