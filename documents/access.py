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

from documents import registry
from documents.models import Document, DocumentKind
from patients.access import CLINICAL, VIEW, has_chart_perms, may_open_a_chart, sees_every_location

PATIENT_KINDS = frozenset({DocumentKind.DISCHARGE_INSTRUCTIONS})


def _perms(kind: str, action: str) -> tuple[str, ...]:
    if kind == DocumentKind.DATA_EXPORT:  # per export: see export_perms
        return ("documents.no_such_permission",)
    entry = registry.get(kind)
    if entry is not None and entry.download_perms:  # a report about no patient: its own permissions
        return entry.download_perms
    if kind in PATIENT_KINDS:
        return (f"documents.{action}_patient_document", VIEW)
    return (f"documents.{action}_clinical_document", CLINICAL)


def can_download(user, kind: str, *, patient_id: int | None) -> bool:
    return has_chart_perms(user, *_perms(kind, "download"), patient_id=patient_id)


def can_issue(user, kind: str, *, patient_id: int | None) -> bool:
    return has_chart_perms(user, *_perms(kind, "issue"), patient_id=patient_id)


def export_perms(document: Document) -> tuple[str, ...]:
    """Who may download a data export: the permissions its registered export names."""
    entry = registry.export(document.snapshot.get("export") if isinstance(document.snapshot, dict) else None)
    return entry.permissions if entry is not None else ("documents.no_such_permission",)


def _may_download(user, document: Document) -> bool:
    if document.patient_id is None and is_export(document.kind) and not _asked_within_their_locations(user, document):
        return False
    if document.kind == DocumentKind.DATA_EXPORT:
        return has_chart_perms(user, *export_perms(document), patient_id=None)
    return can_download(user, document.kind, patient_id=document.patient_id)


def _asked_within_their_locations(user, document: Document) -> bool:
    """A report or data export about several patients is of the locations its requester sees (every
    location, for chain-wide staff): a user scoped to some locations downloads the ones they asked
    for (their pages asked for their locations only), never a colleague's, which may hold others."""
    return sees_every_location(user) or document.issued_by_id == user.pk


def _may_download_something(user) -> bool:
    """Whether the user downloads any kind (a chart's, a report's or a data export's)."""
    return any(may_open_a_chart(user, *_perms(kind, "download")) for kind in DocumentKind.values) or any(
        has_chart_perms(user, *entry.permissions, patient_id=None) for entry in registry.exports()
    )


def is_export(kind: str) -> bool:
    if kind == DocumentKind.DATA_EXPORT:
        return True
    entry = registry.get(kind)
    return entry is not None and bool(entry.download_perms)


def visible_kinds(user, *, patient_id: int | None) -> list[str]:
    """The kinds about patients this user may download (reports about no patient are not listed on a chart)."""
    return [
        kind for kind in DocumentKind.values if not is_export(kind) and can_download(user, kind, patient_id=patient_id)
    ]


def get_document_for_user(request, document_id: int) -> Document:
    """The document if the user may download its kind on its patient's chart: 403 without, 404 if absent
    (403 too for a user who downloads only through a break-glass grant; see patients.access)."""
    user = request.user
    if not _may_download_something(user):
        raise PermissionDenied
    document = Document.objects.select_related("patient", "issued_by").defer("pdf").filter(pk=document_id).first()
    if document is None:
        if any(can_download(user, kind, patient_id=None) for kind in DocumentKind.values) or any(
            has_chart_perms(user, *entry.permissions, patient_id=None) for entry in registry.exports()
        ):
            raise Http404("No such document.")
        raise PermissionDenied
    if not _may_download(user, document):
        raise PermissionDenied
    return document
