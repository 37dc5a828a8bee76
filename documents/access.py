"""Who may see, issue and download which kind of document (one place decides).

Front desk: discharge instructions only (they hand them over at check-out; the
hand-out holds no clinical findings, only standard advice, whom to call and the
next appointment). Clinical summaries and session records need
``documents.download_clinical_document`` plus ``patients.view_clinical_record``,
which the front desk never has, so those answer it 403 and are not even listed.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from documents.models import Document, DocumentKind

CLINICAL_RECORD = "patients.view_clinical_record"
PATIENT_KINDS = frozenset({DocumentKind.DISCHARGE_INSTRUCTIONS})


def _perms(kind: str, action: str) -> tuple[str, ...]:
    if kind in PATIENT_KINDS:
        return (f"documents.{action}_patient_document", "patients.view_patient")
    return (f"documents.{action}_clinical_document", CLINICAL_RECORD)


def can_download(user, kind: str) -> bool:
    return all(user.has_perm(p) for p in _perms(kind, "download"))


def can_issue(user, kind: str) -> bool:
    return all(user.has_perm(p) for p in _perms(kind, "issue"))


def visible_kinds(user) -> list[str]:
    return [kind for kind in DocumentKind.values if can_download(user, kind)]


def get_document_for_user(request, document_id: int) -> Document:
    """The document if the user may download its kind: 403 without any download permission, 404 if absent."""
    if not visible_kinds(request.user):
        raise PermissionDenied
    document = Document.objects.select_related("patient", "issued_by").defer("pdf").filter(pk=document_id).first()
    if document is None:
        raise Http404("No such document.")
    if not can_download(request.user, document.kind):
        raise PermissionDenied
    return document
