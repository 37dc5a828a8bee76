"""Staff pages of informed consent: the chart's consent panel, signing on the clinic's tablet, a
scanned paper consent, a withdrawal, a signing link, and the administrators' consent documents.
Each fetches through an access helper (permission before existence), binds a form, calls one
service and puts its errors on the form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from accounts.network import client_ip
from consents import forms, selectors, services
from consents.access import get_signature_for_user, get_version_for_admin
from consents.models import ConsentKind, ConsentVersion
from patients.access import get_patient_for_user

VIEW = "consents.view_consentsignature"
CATEGORY = AuditEvent.Category.CLINICAL


def _chart(patient) -> str:
    return reverse("patients:detail", args=[patient.pk]) + "#consents"


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@permission_required(VIEW, raise_exception=True)
@require_GET
def patient_panel(request, patient_id: int):
    patient = get_patient_for_user(request, patient_id, perm=VIEW)
    statuses = selectors.consent_status(patient)
    required = set(selectors.required_kinds())
    signatures = list(selectors.signatures_of(patient)[:50])
    documents = selectors.signature_documents(signatures)
    audit.record_page_opened(request, action="consents.panel.viewed", category=CATEGORY, patient=patient)
    return render(
        request,
        "consents/_patient_panel.html",
        {
            "patient": patient,
            "statuses": [(status, status.kind in required) for status in statuses.values()],
            "rows": [(s, documents.get(s.pk)) for s in signatures],
        },
    )


def _sign_page(request, *, patient, version, form, staff: bool, action: str, status: int = 200):
    return render(
        request,
        "consents/sign.html",
        {"patient": patient, "version": version, "form": form, "staff": staff, "action": action},
        status=status,
    )


@permission_required(services.SIGN_IN_CLINIC, raise_exception=True)
@require_http_methods(["GET", "POST"])
def sign_in_clinic(request, patient_id: int, consent_kind: str):
    """The clinic's tablet: staff open the latest version for the patient and hand the device over."""
    patient = get_patient_for_user(request, patient_id, perm=services.SIGN_IN_CLINIC)
    if consent_kind not in ConsentKind.values:
        raise Http404("No such consent.")
    version = selectors.latest_versions(kinds=[consent_kind]).get(consent_kind)
    if version is None:
        raise Http404("No version of this consent is published.")
    form = forms.SignForm(request.POST or None)
    action = reverse("consents:sign-in-clinic", args=[patient.pk, consent_kind])
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_sign(
                patient=patient,
                version=version,
                typed_name=form.cleaned_data["typed_name"],
                signature_data_url=form.cleaned_data["signature"],
                ip_address=client_ip(request),
                user_agent=request.headers.get("user-agent", ""),
                by=request.user,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"{version.get_kind_display()} consent signed.")
            return redirect(_chart(patient))
    audit.record_page_opened(request, action="consents.tablet.opened", category=CATEGORY, patient=patient)
    return _sign_page(request, patient=patient, version=version, form=form, staff=True, action=action)


@permission_required(services.SIGN_IN_CLINIC, raise_exception=True)
@require_http_methods(["GET", "POST"])
def paper(request, patient_id: int):
    patient = get_patient_for_user(request, patient_id, perm=services.SIGN_IN_CLINIC)
    versions = ConsentVersion.objects.filter(published_at__isnull=False).order_by("kind", "-published_at")
    form = forms.PaperConsentForm(request.POST or None, request.FILES or None, versions=versions)
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_paper_record(
                patient=patient,
                version=form.cleaned_data["version"],
                typed_name=form.cleaned_data["typed_name"],
                signed_on=form.cleaned_data["signed_on"],
                upload=form.cleaned_data["scan"],
                by=request.user,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Paper consent recorded.")
            return redirect(_chart(patient))
    audit.record_page_opened(request, action="consents.paper.opened", category=CATEGORY, patient=patient)
    return render(request, "consents/paper.html", {"patient": patient, "form": form})


@permission_required(services.WITHDRAW, raise_exception=True)
@require_POST
def withdraw(request, patient_id: int, consent_signature_id: int):
    signature = get_signature_for_user(request, patient_id, consent_signature_id, perm=services.WITHDRAW)
    form = forms.WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.consent_withdraw(signature=signature, reason=form.cleaned_data["reason"], by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Withdrawal recorded.")
    else:
        messages.error(request, "Say why the patient withdraws their consent.")
    return redirect(_chart(signature.patient))


@permission_required(VIEW, raise_exception=True)
@require_GET
def scan(request, patient_id: int, consent_signature_id: int):
    signature = get_signature_for_user(request, patient_id, consent_signature_id, perm=VIEW)
    stored = selectors.scan_of(signature)
    if stored is None:
        raise Http404("This consent has no scan.")
    audit.record(
        actor=request.user,
        action="consents.scan.downloaded",
        verb=AuditEvent.Verb.EXPORT,
        category=CATEGORY,
        target=stored,
        patient=signature.patient,
    )
    response = HttpResponse(services.scan_bytes(stored), content_type=stored.content_type)
    response["Content-Disposition"] = f'attachment; filename="consent-scan-{signature.pk}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@permission_required(services.SEND_LINK, raise_exception=True)
@require_http_methods(["GET", "POST"])
def link_new(request, patient_id: int):
    """Make a signing link for the patient: shown once, to text, e-mail or read out."""
    patient = get_patient_for_user(request, patient_id, perm=services.SEND_LINK)
    missing = [s.kind for s in selectors.consent_status(patient).values() if s.blocks]
    form = forms.LinkForm(request.POST or None, initial={"kinds": missing or list(selectors.required_kinds())})
    url = ""
    sent: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            new = services.consent_link_create(patient=patient, kinds=form.cleaned_data["kinds"], by=request.user)
            url = request.build_absolute_uri(reverse("consents:link-open", args=[new.token]))
            if request.POST.get("send"):
                sent = services.consent_link_send(new=new, url=url, by=request.user)
        except ValidationError as error:
            _apply_errors(form, error)
    audit.record_page_opened(request, action="consents.link_form.opened", category=CATEGORY, patient=patient)
    response = render(request, "consents/link_new.html", {"patient": patient, "form": form, "url": url, "sent": sent})
    response["Cache-Control"] = "no-store"
    return response


# --- The administrators' consent documents --------------------------------------------


@permission_required(services.MANAGE, raise_exception=True)
@require_GET
def version_list(request):
    page = Paginator(selectors.versions_of(), 25).get_page(request.GET.get("page"))
    latest = {v.pk for v in selectors.latest_versions().values()}
    return render(request, "consents/version_list.html", {"page": page, "latest": latest})


@permission_required(services.MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def version_new(request):
    initial = {}
    source = request.GET.get("from", "")
    if source.isascii() and source.isdigit():
        base = ConsentVersion.objects.filter(pk=int(source)).first()
        if base is not None:
            initial = {"kind": base.kind, "title": base.title, "body": base.body}
    form = forms.VersionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.consent_version_draft(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, "Draft saved. Read it through, then publish it.")
            return redirect("consents:version-detail", consent_version_id=version.pk)
    return render(request, "consents/version_form.html", {"form": form, "version": None})


@permission_required(services.MANAGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def version_detail(request, consent_version_id: int):
    version = get_version_for_admin(request, consent_version_id)
    form = None
    if not version.is_published:
        data = request.POST or None
        form = forms.VersionForm(
            data,
            initial={
                "kind": version.kind,
                "title": version.title,
                "version_label": version.version_label,
                "body": version.body,
                "summary_of_changes": version.summary_of_changes,
            },
        )
        form.fields["kind"].disabled = True
        if request.method == "POST" and form.is_valid():
            try:
                services.consent_version_draft(by=request.user, version=version, **form.cleaned_data)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, "Draft saved.")
                return redirect("consents:version-detail", consent_version_id=version.pk)
    elif request.method == "POST":
        raise Http404("A published version is not edited.")
    return render(request, "consents/version_form.html", {"form": form, "version": version})


@permission_required(services.MANAGE, raise_exception=True)
@require_POST
def version_publish(request, consent_version_id: int):
    version = get_version_for_admin(request, consent_version_id)
    try:
        services.consent_version_publish(version=version, by=request.user, now=timezone.now())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Version {version.version_label} published. Patients who signed an earlier version sign this one "
            "before their next infusion.",
        )
    return redirect("consents:version-detail", consent_version_id=version.pk)
