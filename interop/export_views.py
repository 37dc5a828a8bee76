"""Exports: FHIR Bulk Data ``$export`` (kick-off, status, files) for administrators' tokens, and a
patient's whole record prepared from the chart.

Bulk Data Access (1.0 and 2.0): the kick-off answers 202 with the status URL in Content-Location;
the status URL answers 202 with X-Progress while the worker writes, 200 with the manifest when it
is done, 500 with an OperationOutcome when it failed; DELETE cancels. The files need a token of
the user who asked (``requiresAccessToken``). A Group here is a location's patients
(``Group/location-<id>``)."""

from __future__ import annotations

import json
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import User
from core.audit import Category
from interop import bulk, export_services, selectors
from interop.models import Export, ExportFile
from interop.oauth import Grant, grant_for
from interop.views import _outcome, _unauthorised, fhir_base
from patients.access import CLINICAL, has_chart_perms, may_open_a_chart
from patients.models import Patient
from scheduling.access import may_see_location
from scheduling.models import Location

BULK_EXPORT = "interop.bulk_export"
EXPORT_RECORD = "interop.export_patient_record"
NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {NDJSON, "application/ndjson", "ndjson"}
UNSUPPORTED = ("_typeFilter", "_elements", "patient", "includeAssociatedData")
RETRY_AFTER = "5"


def _bulk_api(methods: list[str]):
    """Bearer-token API view, as in ``interop.views``, answering ``methods``."""

    def decorate(view):
        return login_not_required(csrf_exempt(never_cache(require_http_methods(methods)(view))))

    return decorate


def _types(request: HttpRequest, grant: Grant, level: str) -> list[str] | HttpResponse:
    """The resource types asked for (``_type``), each served and readable with this token."""
    asked = [t.strip() for value in request.GET.getlist("_type") for t in value.split(",") if t.strip()]
    if not asked:
        candidates = [
            rtype
            for rtype in selectors.RESOURCE_TYPES.values()
            if level == Export.Level.SYSTEM or bulk.patient_scoped(rtype)
        ]
        # Left unsaid, the types this token reads (a type it may not read is left out, not refused).
        return [t.name for t in candidates if grant.allows(t.name, search=True) and t.visible_to(grant.user)]
    names = []
    for name in asked:
        rtype = selectors.RESOURCE_TYPES.get(name)
        if rtype is None:
            return _outcome(400, "not-supported", f"_type: this server does not export {name[:40]!r} resources.")
        if not (grant.allows(rtype.name, search=True) and rtype.visible_to(grant.user)):
            return _outcome(403, "forbidden", f"_type: the token may not read {rtype.name} resources.")
        if rtype.name not in names:
            names.append(rtype.name)
    return names


def _kickoff(request: HttpRequest, level: str, group: Location | None = None) -> HttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    if not grant.user.has_perm(BULK_EXPORT) or grant.patient_id is not None:
        return _outcome(403, "forbidden", "Bulk export is for administrators' tokens, not one patient's.")
    if "respond-async" not in request.headers.get("Prefer", ""):
        return _outcome(400, "required", "A bulk export runs in the background: send 'Prefer: respond-async'.")
    accept = request.headers.get("Accept", "")
    if accept and not any(t in accept for t in ("application/fhir+json", "application/json", "*/*")):
        return _outcome(400, "not-supported", "Accept: the kick-off answers application/fhir+json.")
    output_format = request.GET.get("_outputFormat")
    if output_format is not None and output_format not in OUTPUT_FORMATS:
        return _outcome(400, "not-supported", f"_outputFormat: only {NDJSON} is written.")
    for name in UNSUPPORTED:
        if name in request.GET:
            return _outcome(400, "not-supported", f"{name} is not supported by this server.")
    since = None
    since_text = request.GET.get("_since")
    if since_text is not None:
        try:
            since = parse_datetime(since_text.strip()[:40])
        except ValueError:
            since = None
        if since is None or timezone.is_naive(since):
            return _outcome(400, "value", "_since: give an instant with its time zone, e.g. 2026-01-01T00:00:00Z.")
    types = _types(request, grant, level)
    if isinstance(types, HttpResponse):
        return types
    if not types:
        return _outcome(403, "forbidden", "The token's scopes let it read none of the exported resource types.")
    export = export_services.bulk_export_request(
        level=level,
        resource_types=types,
        since=since,
        by=grant.user,
        client=grant.client,
        scope=grant.scope,
        request_url=request.build_absolute_uri()[:1000],
        group=group,
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = f"{fhir_base()}/$export-status/{export.pk}"
    return response


@_bulk_api(["GET"])
def export_system(request: HttpRequest) -> HttpResponse:
    return _kickoff(request, Export.Level.SYSTEM)


@_bulk_api(["GET"])
def export_patients(request: HttpRequest) -> HttpResponse:
    return _kickoff(request, Export.Level.PATIENT)


@_bulk_api(["GET"])
def export_group(request: HttpRequest, group_id: str) -> HttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    if not grant.user.has_perm(BULK_EXPORT) or grant.patient_id is not None:  # before the group is looked up
        return _outcome(403, "forbidden", "Bulk export is for administrators' tokens, not one patient's.")
    text = group_id.removeprefix("location-")
    location = None
    if text != group_id and text.isascii() and text.isdigit() and len(text) < 12:
        location = Location.objects.filter(pk=int(text)).first()
    if location is None:
        return _outcome(404, "not-found", "No such group (a group is a location's patients: Group/location-<id>).")
    if not may_see_location(grant.user, location.pk):
        return _outcome(403, "forbidden", "The token's user does not work at this location.")
    return _kickoff(request, Export.Level.GROUP, group=location)


def _own_export(grant: Grant, export_id: str) -> Export | None:
    """The bulk export if this token's user asked for it (anyone else's is answered as missing)."""
    return (
        Export.objects.filter(pk=export_id, kind=Export.Kind.BULK, requested_by=grant.user)
        .exclude(status=Export.Status.CANCELLED)
        .first()
    )


@_bulk_api(["GET", "DELETE"])
def export_status(request: HttpRequest, export_id: str) -> HttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    export = _own_export(grant, export_id)
    if export is None:
        return _outcome(404, "not-found", "No such export (or it was cancelled).")
    if request.method == "DELETE":
        export_services.export_cancel(export=export, by=grant.user)
        return _outcome(202, "informational", "The export is cancelled and its files deleted.")
    if export.status in (Export.Status.QUEUED, Export.Status.RUNNING):
        progress = export.progress or ("Waiting for the worker." if export.status == Export.Status.QUEUED else "")
        response = HttpResponse(status=202)
        response["X-Progress"] = progress[:100] or "In progress."
        response["Retry-After"] = RETRY_AFTER
        return response
    if export.status == Export.Status.FAILED:
        return _outcome(500, "exception", export.error or "The export failed.")
    base = fhir_base()
    files = ExportFile.objects.filter(export=export).only("id", "name", "resource_type", "count")
    manifest = {
        "transactionTime": export.started_at.isoformat() if export.started_at else None,
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [_entry(base, export, f) for f in files if f.resource_type != export_services.ERROR_TYPE],
        "error": [_entry(base, export, f) for f in files if f.resource_type == export_services.ERROR_TYPE],
    }
    return HttpResponse(json.dumps(manifest), content_type="application/json")


def _entry(base: str, export: Export, stored: ExportFile) -> dict[str, object]:
    return {
        "type": stored.resource_type,
        "url": f"{base}/$export-file/{export.pk}/{stored.name}",
        "count": stored.count,
    }


@_bulk_api(["GET"])
def export_file(request: HttpRequest, export_id: str, name: str) -> HttpResponse | StreamingHttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    export = _own_export(grant, export_id)
    stored = (
        ExportFile.objects.filter(export=export, name=name[:100]).defer("content").first()
        if export is not None and export.status == Export.Status.COMPLETED
        else None
    )
    if export is None or stored is None:
        return _outcome(404, "not-found", "No such export file.")
    export_services.bulk_file_downloaded(export=export, stored=stored, by=grant.user, client=grant.client)
    response = StreamingHttpResponse(export_services.file_chunks(stored), content_type=NDJSON)
    response["Content-Length"] = str(stored.size_bytes)
    return response


# A patient's whole record, from the chart ------------------------------------------------------


def _record_patient(request: HttpRequest, patient_id: int) -> Patient:
    """The patient if the user may export their record: 403 before 404, as everywhere."""
    user = request.user
    if not has_chart_perms(user, EXPORT_RECORD, CLINICAL, patient_id=patient_id):
        raise PermissionDenied
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


@require_GET
def record_exports(request, patient_id: int) -> HttpResponse:
    """The chart's record exports: ask for one, watch it being built, download it."""
    patient = _record_patient(request, patient_id)
    audit.record_read(
        actor=cast(User, request.user),
        action="interop.patient_record.list_viewed",
        target=patient,
        patient=patient,
        category=Category.CLINICAL,
    )
    exports = list(
        Export.objects.filter(kind=Export.Kind.RECORD, patient=patient)
        .select_related("requested_by")
        .prefetch_related("files")
        .order_by("-requested_at")[:20]
    )
    context = {
        "patient": patient,
        "exports": exports,
        "pending": any(not e.is_done for e in exports),
    }
    template = "interop/_record_exports.html" if request.htmx else "interop/record_exports.html"
    return render(request, template, context)


@require_POST
def record_export_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient = _record_patient(request, patient_id)
    export_services.record_export_request(patient=patient, by=cast(User, request.user))
    messages.success(request, "The record is being prepared; it will be listed here when it is ready.")
    return redirect("interop:record-exports", patient_id=patient.pk)


@require_GET
def record_download(request: HttpRequest, export_id: str) -> StreamingHttpResponse:
    user = request.user
    if not may_open_a_chart(user, EXPORT_RECORD, CLINICAL):
        raise PermissionDenied
    export = (
        Export.objects.filter(pk=export_id, kind=Export.Kind.RECORD, status=Export.Status.COMPLETED)
        .select_related("patient")
        .first()
    )
    if export is None:
        raise Http404("No such record export.")
    if not has_chart_perms(user, EXPORT_RECORD, CLINICAL, patient_id=export.patient_id):
        raise PermissionDenied
    stored = ExportFile.objects.filter(export=export).defer("content").first()
    if stored is None:
        raise Http404("No such record export.")
    export_services.record_downloaded(export=export, by=cast(User, user))
    response = StreamingHttpResponse(export_services.file_chunks(stored), content_type="application/zip")
    response["Content-Length"] = str(stored.size_bytes)
    response["Content-Disposition"] = f'attachment; filename="{stored.name}"'
    return response
