"""Document pages: the patient page's documents panel, issuing a version, downloading it.

Function views: fetch through ``documents.access``, bind a form, call one service.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from accounts.models import AuditEvent
from documents import access, selectors, services
from documents.forms import DisclosureForm, IssueForm
from documents.models import Disclosure, DocumentKind
from patients.access import get_patient_for_user


@require_GET
def patient_panel(request, patient_id: int):
    """Every document of the patient the user may download, with its versions (htmx-loaded)."""
    kinds = access.visible_kinds(request.user, patient_id=patient_id)
    if not kinds:
        raise PermissionDenied
    patient = get_patient_for_user(request, patient_id)
    return _panel(request, patient, kinds)


def _panel(request, patient, kinds, *, error: str = "") -> HttpResponse:
    clinical = access.can_download(request.user, DocumentKind.CONSULTATION_SUMMARY, patient_id=patient.pk)
    audit.record_read(
        actor=request.user,
        action="documents.patient_documents.viewed",
        target=patient,
        patient=patient,
        category=AuditEvent.Category.CLINICAL if clinical else AuditEvent.Category.DEMOGRAPHICS,
    )
    context = {
        "patient": patient,
        "entries": selectors.grouped(selectors.patient_documents(patient=patient, kinds=kinds)),
        "issue": selectors.issue_choices(user=request.user, patient=patient),
        "disclosures": selectors.recent_disclosures(patient=patient) if clinical else [],
        "error": error,
    }
    return render(request, "documents/_patient_panel.html", context)


# What the documents card listens for: it fetches itself again once a document is issued.
ISSUED_EVENT = "documentIssued"


@require_POST
def document_issue(request, patient_id: int):
    """Issue (or re-issue after an amendment) one document, then download it. From the card
    (htmx) the download starts and the card lists the new version at once; a refusal is shown
    in the card."""
    patient = get_patient_for_user(request, patient_id)
    if not any(access.can_issue(request.user, kind, patient_id=patient.pk) for kind in DocumentKind.values):
        raise PermissionDenied
    form = IssueForm(request.POST)
    back = reverse("patients:detail", args=[patient.pk]) + "#documents"

    def refused(message: str) -> HttpResponse:
        if request.htmx:
            return _panel(request, patient, access.visible_kinds(request.user, patient_id=patient.pk), error=message)
        messages.error(request, message)
        return redirect(back)

    if not form.is_valid():
        return refused("Choose a document to issue.")
    kind = form.cleaned_data["kind"]
    if not access.can_issue(request.user, kind, patient_id=patient.pk):
        raise PermissionDenied
    try:
        document = services.issue_for_patient(
            kind=kind, patient=patient, subject_id=form.cleaned_data["subject_id"], by=request.user
        )
    except services.DocumentError as exc:
        return refused(str(exc))
    download = reverse("documents:download", args=[document.pk])
    if not request.htmx:
        return redirect(download)
    # The trigger is handled before the redirect: the card fetches itself again while the
    # browser downloads the attachment (the page stays where it is).
    response = HttpResponse(status=200)
    response["HX-Trigger"] = ISSUED_EVENT
    response["HX-Redirect"] = download
    response["HX-Reswap"] = "none"
    return response


@require_GET
def document_status(request, document_id: int):
    """Where a document rendered in the background stands: preparing (the panel polls itself),
    ready (the download link) or failed. Shows the kind and the row count, never the content."""
    document = access.get_document_for_user(request, document_id)
    # The ready panel names the file, and a patient's file name carries the record number: a chart read.
    audit.record_read(
        actor=request.user,
        action="documents.document_status.viewed",
        target=document,
        patient=document.patient,
        category=AuditEvent.Category.CLINICAL if document.patient_id else services.document_category(document),
    )
    rows = document.snapshot.get("rows") if isinstance(document.snapshot, dict) else None
    context = {
        "document": document,
        "rows": rows,
        "label": document.title if document.is_data_export else DocumentKind(document.kind).label,
        "percent": _percent(document),
    }
    if request.htmx:
        return render(request, "documents/_export_status.html", context)
    back = document.snapshot.get("back", "") if isinstance(document.snapshot, dict) else ""
    context["back"] = back if isinstance(back, str) and back.startswith("/") and not back.startswith("//") else ""
    return render(request, "documents/export_status.html", context)


def _percent(document) -> int | None:
    """How far a data export has got, 0..100 (None before the worker has counted its rows)."""
    if not document.is_data_export or document.rows_total is None:
        return None
    if not document.rows_total:
        return 100 if document.is_issued else 0
    return min(100, (document.rows_done or 0) * 100 // document.rows_total)


@require_GET
def document_download(request, document_id: int):
    """The PDF as an attachment; every download is an accounted disclosure and an audit event."""
    document = access.get_document_for_user(request, document_id)
    form = DisclosureForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("Unknown disclosure purpose.")
    if document.is_data_export and not document.is_issued:  # never written by the web worker: wait for it
        return redirect("documents:status", document_id=document.pk)
    if not document.is_issued:  # the worker has not rendered it yet: render now (the first request)
        try:
            document = services.document_render(document_id=document.pk)
        except services.DocumentError as exc:
            return HttpResponse(str(exc), status=503, content_type="text/plain")
    if why := services.release_refusal(document):  # e.g. the patient revoked the authorisation to share
        return HttpResponse(why, status=403, content_type="text/plain")
    purpose, recipient = services.disclosure_defaults(document, by=request.user)
    services.document_disclose(
        document=document,
        by=request.user,
        purpose=form.cleaned_data["purpose"] or purpose,
        recipient=form.cleaned_data["recipient"].strip() or recipient,
        channel=Disclosure.Channel.DOWNLOAD,
    )
    response: HttpResponse | StreamingHttpResponse
    if document.is_data_export:  # up to a million rows: streamed a slice at a time, never held whole
        response = StreamingHttpResponse(services.file_chunks(document), content_type=document.content_type)
        if document.size_bytes is not None:
            response["Content-Length"] = str(document.size_bytes)
    else:
        response = HttpResponse(services.pdf_bytes(document), content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    if document.rendered_at is not None:  # set whenever the PDF is; no date is better than a wrong one
        response["Last-Modified"] = http_date(document.rendered_at.timestamp())
    return response
