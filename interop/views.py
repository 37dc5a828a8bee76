"""The FHIR R4 API (read and search, JSON) and the administrators' API client pages.

The API is for bearer tokens only: a browser session is not a credential here (so no cookie can
be replayed across sites against it), and every answer that is not a resource is an
OperationOutcome. Every patient whose data leaves in an answer gets a ``read`` in the audit trail,
written before the answer leaves (fail closed), naming the client and the scope it used."""

from __future__ import annotations

import base64
import json
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from oauth2_provider.models import Application
from oauth2_provider.views import AuthorizationView

from accounts import audit
from accounts.models import User
from core.audit import Category, Verb
from core.site import site_url
from documents import access as document_access
from documents import services as document_services
from interop import oauth, resources, rules, selectors, services
from interop.forms import ClientForm, RetireForm, SmartAllowForm
from interop.models import ClientRegistration
from interop.oauth import Grant, grant_for
from patients.access import CLINICAL, VIEW, has_chart_perms
from patients.models import Patient
from scheduling.access import patient_ids_for

FHIR_JSON = "application/fhir+json"
PAGE_DEFAULT, PAGE_MAX = 20, 100
MANAGE_CLIENTS = "interop.add_clientregistration"
BULK_DATA = "http://hl7.org/fhir/uv/bulkdata"


def fhir_base() -> str:
    return f"{site_url()}/fhir/r4"


def _json(resource: dict[str, Any], status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(resource, separators=(",", ":"), default=str), content_type=FHIR_JSON, status=status
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _outcome(status: int, code: str, diagnostics: str, **headers: str) -> HttpResponse:
    severity = "error" if status < 500 else "fatal"
    return _json(resources.operation_outcome(severity, code, diagnostics), status=status, **headers)


def _unauthorised() -> HttpResponse:
    return _outcome(
        401,
        "login",
        "A valid bearer token is needed (OAuth 2.0; see the CapabilityStatement's security section).",
        WWW_Authenticate='Bearer realm="fhir"',
    )


def _audit_reads(request: HttpRequest, grant: Grant, rtype: selectors.ResourceType, rows, search: bool) -> None:
    """One ``read`` per patient whose data is in the answer (a search of patients without one: a query)."""
    patient_ids = sorted({row.patient_id for row in rows if row.patient_id is not None})
    category = (
        Category.CLINICAL
        if rtype.clinical
        else (Category.DEMOGRAPHICS if rtype.name == "Patient" else Category.SCHEDULING)
    )
    action = f"fhir.{rtype.name}.{'search' if search else 'read'}"
    detail = {"client": grant.client, "scope": grant.scope}
    if not patient_ids:
        audit.record(actor=grant.user, action=action, verb=Verb.QUERY, category=category, changes=detail)
        return
    # A page of Patients carries its patients already; other resources name theirs by id.
    loaded = {row.obj.pk: row.obj for row in rows if isinstance(row.obj, Patient)}
    if missing := [pk for pk in patient_ids if pk not in loaded]:
        loaded.update(Patient.objects.only("id", "mrn").in_bulk(missing))
    patients = [loaded[pk] for pk in patient_ids if pk in loaded]
    audit.record_many(
        [
            {
                "actor": grant.user,
                "action": action,
                "verb": Verb.READ,
                "category": category,
                "patient": p,
                "changes": detail,
            }
            for p in patients
        ]
    )


def _api(view):
    """Bearer-token API view: no sign-in redirect, no CSRF (no cookie is honoured), never cached."""
    return login_not_required(csrf_exempt(never_cache(require_GET(view))))


def _resource_type(grant: Grant, name: str, *, search: bool) -> selectors.ResourceType | HttpResponse:
    rtype = selectors.RESOURCE_TYPES.get(name)
    if rtype is None:
        return _outcome(404, "not-supported", f"This server does not serve {name[:40]!r} resources.")
    if not grant.allows(rtype.name, search=search):
        return _outcome(403, "forbidden", f"The token's scopes do not include reading {rtype.name}.")
    if not rtype.visible_to(grant.user):
        return _outcome(403, "forbidden", f"The token's user may not read {rtype.name} resources.")
    return rtype


@_api
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement: public, as FHIR expects (it holds no data)."""
    base = fhir_base()
    return _json(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "date": "2026-12-07",
            "publisher": settings.CLINIC_NAME,
            "kind": "instance",
            "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
            "implementation": {"description": f"{settings.CLINIC_NAME} FHIR API", "url": base},
            "fhirVersion": "4.0.1",
            "format": ["json"],
            "rest": [
                {
                    "mode": "server",
                    "security": {
                        "cors": False,
                        "service": [
                            {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                        "code": "SMART-on-FHIR",
                                    }
                                ]
                            }
                        ],
                        "description": (
                            "OAuth 2.0 bearer tokens with SMART scopes (user/*.read, system/*.read, and "
                            "patient/*.read with launch/patient: one patient, named by the member of staff "
                            "who allows the app)."
                        ),
                    },
                    "resource": [
                        {
                            "type": rtype.name,
                            "interaction": [{"code": "read"}, *([{"code": "search-type"}] if rtype.searchable else [])],
                            "searchParam": [{"name": name, "type": _param_type(name)} for name in rtype.search_params],
                            **(
                                {"searchInclude": [f"{rtype.name}:patient"]} if "patient" in rtype.search_params else {}
                            ),
                        }
                        for rtype in selectors.RESOURCE_TYPES.values()
                    ],
                    # Bulk Data Access: the whole population, every patient, a group (a location's
                    # patients); administrators' tokens only.
                    "operation": [
                        {"name": "export", "definition": f"{BULK_DATA}/OperationDefinition/export"},
                        {"name": "patient-export", "definition": f"{BULK_DATA}/OperationDefinition/patient-export"},
                        {"name": "group-export", "definition": f"{BULK_DATA}/OperationDefinition/group-export"},
                    ],
                }
            ],
        }
    )


def _param_type(name: str) -> str:
    if name in ("date", "birthdate", "effective-time", "recorded", "recorded-date", "authored"):
        return "date"
    if name in ("patient", "subject", "location", "practitioner"):
        return "reference"
    if name in ("family", "given", "name"):
        return "string"
    return "token"


@_api
def smart_configuration(request: HttpRequest) -> HttpResponse:
    """SMART App Launch discovery: where to authorise and get tokens, and what is offered."""
    root = site_url()
    response = _json(
        {
            "authorization_endpoint": f"{root}/o/authorize/",
            "token_endpoint": f"{root}/o/token/",
            "revocation_endpoint": f"{root}/o/revoke_token/",
            "introspection_endpoint": f"{root}/o/introspect/",
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": list(settings.OAUTH2_PROVIDER["SCOPES"]),
            "code_challenge_methods_supported": ["S256"],
            "capabilities": [
                "client-confidential-symmetric",
                "launch-standalone",
                "context-standalone-patient",
                "permission-patient",
                "permission-user",
                "permission-v1",
            ],
        }
    )
    response["Content-Type"] = "application/json"
    return response


@_api
def read(request: HttpRequest, resource_type: str, resource_id: str) -> HttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    rtype = _resource_type(grant, resource_type, search=False)
    if isinstance(rtype, HttpResponse):
        return rtype
    row = rtype.read(resource_id[:80])
    if row is None or not row.resources or not _within_patient(grant, rtype, row) or not _opens(grant, rtype, row):
        return _outcome(404, "not-found", f"No {rtype.name} with that id.")
    if rtype.name == "Binary":
        return _binary(request, grant, rtype, row)
    _audit_reads(request, grant, rtype, [row], search=False)
    return _json(row.resources[0])


def _within_patient(grant: Grant, rtype: selectors.ResourceType, row: selectors.Row) -> bool:
    """A patient-bound token reads its patient's records and the clinic's (practitioners, places)."""
    if grant.patient_id is None:
        return True
    if rtype.compartment or row.patient_id is not None:
        return row.patient_id == grant.patient_id
    return True


def _opens(grant: Grant, rtype: selectors.ResourceType, row: selectors.Row) -> bool:
    """Whether the token's user may open the chart the row belongs to: a patient of their locations
    (every patient for chain-wide staff), or one a break-glass grant opens, as in the chart. A
    resource of another location's patient is answered as missing, so ids cannot be probed."""
    if row.patient_id is None:
        return True
    perms = (rtype.view_permission, CLINICAL) if rtype.clinical else (rtype.view_permission,)
    return has_chart_perms(grant.user, *perms, patient_id=row.patient_id)


def _bind_to_patient(
    patient_id: int, rtype: selectors.ResourceType, params: dict[str, list[str]]
) -> dict[str, list[str]] | HttpResponse:
    """A patient-bound token's search, narrowed to its patient; naming anyone else is refused."""
    key = "_id" if rtype.name == "Patient" else "patient"
    named = params.get(key, []) + ([] if rtype.name == "Patient" else params.get("subject", []))
    try:
        ids = set(selectors.ids_of(named, "Patient"))
    except selectors.SearchError as exc:
        return _outcome(400, "value", str(exc))
    if ids - {patient_id}:
        return _outcome(403, "forbidden", "This token reads one patient's record only.")
    bound = {k: v for k, v in params.items() if k not in (key, "subject")}
    bound[key] = [str(patient_id)]
    return bound


def _binary(request: HttpRequest, grant: Grant, rtype: selectors.ResourceType, row: selectors.Row) -> HttpResponse:
    """An issued PDF: the kind's own download permission on its patient's chart, like a download from
    the chart, and accounted as a disclosure to the client (a PDF, or a Binary resource on request)."""
    document = row.obj
    if not document_access.can_download(grant.user, document.kind, patient_id=document.patient_id):
        return _outcome(403, "forbidden", "The token's user may not download this kind of document.")
    refusal = document_services.release_refusal(document)
    if refusal:
        return _outcome(403, "forbidden", refusal)
    try:
        pdf = document_services.pdf_bytes(document)
    except document_services.DocumentError as exc:
        return _outcome(404, "not-found", str(exc))
    purpose, recipient = document_services.disclosure_defaults(document, by=grant.user)
    document_services.document_disclose(
        document=document, by=grant.user, recipient=f"{recipient} through {grant.client}", purpose=purpose
    )
    _audit_reads(request, grant, rtype, [row], search=False)
    if "fhir+json" in request.headers.get("Accept", ""):
        return _json(dict(row.resources[0], data=base64.b64encode(pdf).decode()))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}.pdf"'
    return response


@_api
def search(request: HttpRequest, resource_type: str) -> HttpResponse:
    grant = grant_for(request)
    if grant is None:
        return _unauthorised()
    rtype = _resource_type(grant, resource_type, search=True)
    if isinstance(rtype, HttpResponse):
        return rtype
    if not rtype.searchable:
        return _outcome(400, "not-supported", f"{rtype.name} is read by id only (a DocumentReference links it).")
    params = {key: request.GET.getlist(key) for key in request.GET if key in rtype.search_params}
    if grant.patient_id is not None and rtype.compartment:
        bound = _bind_to_patient(grant.patient_id, rtype, params)
        if isinstance(bound, HttpResponse):
            return bound
        params = bound
    if rtype.needs_patient and not (params.get("patient") or params.get("subject")):
        return _outcome(
            400, "required", f"A {rtype.name} search names its patient (patient=...); whole populations come by export."
        )
    count = rules.page_size(request.GET.get("_count"), default=PAGE_DEFAULT, maximum=PAGE_MAX)
    offset_text = request.GET.get("_offset", "0")
    offset = int(offset_text) if offset_text.isascii() and offset_text.isdigit() and len(offset_text) < 7 else -1
    if not 0 <= offset <= selectors.SEARCH_OFFSET_LIMIT:
        return _outcome(400, "value", f"_offset must be a whole number from 0 to {selectors.SEARCH_OFFSET_LIMIT}.")
    includes = request.GET.getlist("_include")
    for include in includes:
        if include != f"{rtype.name}:patient" or "patient" not in rtype.search_params:
            return _outcome(400, "not-supported", f"_include={include[:60]!r} is not supported here.")
    if includes and not selectors.RESOURCE_TYPES["Patient"].visible_to(grant.user):
        return _outcome(403, "forbidden", "The token's user may not read Patient resources.")
    try:
        # Only the patients of the user's locations, whatever the search names: a patient elsewhere
        # is not found (break-glass opens one chart to read, not a search).
        page = rtype.search(params, offset, count, patient_ids_for(grant.user))
    except selectors.SearchError as exc:
        return _outcome(400, "value", str(exc))
    entries = [resource for row in page.rows for resource in row.resources]
    if includes:
        entries += [dict(resources.patient(p), _search_mode="include") for p in selectors.included_patients(page.rows)]
    _audit_reads(request, grant, rtype, page.rows, search=True)
    base = fhir_base()

    def link(at: int) -> str:
        query = [(k, v) for k, values in request.GET.lists() for v in values if k not in ("_offset", "_count")]
        query += [("_count", str(count)), ("_offset", str(at))]
        return f"{base}/{rtype.name}?{urlencode(query)}"

    return _json(
        resources.bundle(
            entries,
            base=base,
            self_url=link(offset),
            total=page.total,
            next_url=link(offset + count)
            if page.has_next and offset + count <= selectors.SEARCH_OFFSET_LIMIT
            else None,
            prev_url=link(max(0, offset - count)) if offset > 0 else None,
        )
    )


# Administrators: API clients ---------------------------------------------------------------------


def _staff(request: HttpRequest) -> User:
    return cast(User, request.user)  # the permission check let no anonymous visitor in


@permission_required(MANAGE_CLIENTS, raise_exception=True)
@require_GET
def clients(request: HttpRequest) -> HttpResponse:
    registrations = ClientRegistration.objects.select_related("application", "registered_by", "retired_by")
    page = Paginator(registrations, 25).get_page(request.GET.get("page"))
    return render(request, "interop/clients.html", {"page": page, "fhir_base": fhir_base()})


@permission_required(MANAGE_CLIENTS, raise_exception=True)
@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application, secret = services.client_register(by=_staff(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            # Shown once, on this answer only; the toolkit keeps only its hash.
            return render(
                request,
                "interop/client_created.html",
                {"application": application, "secret": secret, "fhir_base": fhir_base(), "site": site_url()},
            )
    return render(request, "interop/client_form.html", {"form": form})


@permission_required(MANAGE_CLIENTS, raise_exception=True)
@require_POST
def client_retire(request: HttpRequest, pk: int) -> HttpResponse:
    registration = get_object_or_404(ClientRegistration, pk=pk)
    form = RetireForm(request.POST)
    if form.is_valid():
        try:
            services.client_retire(registration=registration, reason=form.cleaned_data["reason"], by=_staff(request))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{registration.application.name} is retired; its tokens no longer work.")
    else:
        messages.error(request, "Say why the client is retired.")
    return redirect("interop:clients")


# SMART patient context: a member of staff names the patient when allowing an app -----------------


class SmartAuthorizationView(AuthorizationView):
    """The toolkit's approval page; an app asking for ``patient/`` scopes gets the one patient the
    member of staff names by MRN, if they may open that patient's chart. The launch is audited."""

    form_class = SmartAllowForm
    _launch_patient: Patient | None = None

    def _asks_for_a_patient(self, form) -> bool:
        return oauth.asks_for_a_patient(form.cleaned_data.get("scope") or form.initial.get("scope") or "")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        scope = (form.data.get("scope") if form is not None and form.is_bound else None) or (
            form.initial.get("scope", "") if form is not None else ""
        )
        context["asks_for_a_patient"] = oauth.asks_for_a_patient(scope)
        if "application" not in context and form is not None:
            client_id = form.data.get("client_id") or form.initial.get("client_id")
            context["application"] = Application.objects.filter(client_id=client_id).first()
            available = settings.OAUTH2_PROVIDER["SCOPES"]
            context["scopes_descriptions"] = [available[s] for s in scope.split() if s in available]
        return context

    def form_valid(self, form):
        if form.cleaned_data.get("allow") and self._asks_for_a_patient(form):
            mrn = (form.cleaned_data.get("patient_mrn") or "").strip()
            patient = Patient.objects.filter(mrn__iexact=mrn).first() if mrn else None
            if patient is None or not has_chart_perms(self.request.user, VIEW, patient_id=patient.pk):
                form.add_error(
                    "patient_mrn",
                    "Give the MRN of a patient whose chart you may open." if mrn else "Name the patient the app reads.",
                )
                return self.form_invalid(form)
            self._launch_patient = patient
        return super().form_valid(form)

    def create_authorization_response(self, request, scopes, credentials, allow):
        if allow and self._launch_patient is not None:
            credentials = {**credentials, oauth.PATIENT_CREDENTIAL: self._launch_patient.pk}
            audit.record(
                actor=request.user,
                action="fhir.patient_launch",
                verb=Verb.CREATE,
                category=Category.SECURITY,
                patient=self._launch_patient,
                changes={"client": credentials.get("client_id", ""), "scope": scopes},
            )
        return super().create_authorization_response(request, scopes, credentials, allow)
