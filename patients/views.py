from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit, emergency
from patients import rules, services
from patients.access import (
    CHANGE,
    VIEW,
    can_view_clinical,
    get_patient_for_user,
    has_chart_perms,
    role_opens_but_location_closes,
)
from patients.forms import ContactLogEntryForm, EmergencyAccessForm, PatientForm, StatusForm
from patients.models import Patient
from patients.selectors import (
    CONTACT_LOG_ON_PATIENT_PAGE,
    contact_log_for,
    paginate,
    patients_visible_to,
    possible_duplicates_of,
)

PAGE_SIZE = 25
CONTACT_LOG_PAGE_SIZE = 25
ADD_CONTACT = "patients.add_contactlogentry"


def _crumbs(patient=None, *tail):
    crumbs: list[tuple[str, str | None]] = [("Patients", reverse("patients:list"))]
    if patient is not None:
        crumbs.append((patient.display_name, reverse("patients:detail", args=[patient.pk]) if tail else None))
    crumbs.extend((label, None) for label in tail)
    return crumbs


@permission_required("patients.view_patient", raise_exception=True)
@require_GET
def patient_list(request):
    query = rules.clean_search_text(request.GET.get("q", ""))
    patients = patients_visible_to(user=request.user, search=query, for_list=True)
    page = paginate(patients, request.GET.get("page"), per_page=PAGE_SIZE, ranked=bool(query))
    if query:
        services.patient_search_performed(by=request.user, query=query, result_count=page.paginator.count)
    else:
        services.patient_list_viewed(by=request.user, page=page.number)
    context = {
        "page": page,
        "q": query,
        "query": urlencode({"q": query}) if query else "",
        "crumbs": [("Patients", None)],
    }
    return render(request, "patients/patient_list.html", context)


@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(
                by=request.user, duplicate_reason=form.cleaned_data["duplicate_reason"], **form.service_fields()
            )
        except services.PossibleDuplicates as exc:
            duplicates = exc.matches
            if request.POST.get("duplicates_shown"):  # warned once already, still no reason
                form.add_error("duplicate_reason", "Give a reason to register anyway, or open the existing record.")
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Registered {patient.display_name} ({patient.mrn}).")
            return redirect("patients:detail", pk=patient.pk)
    context = {"form": form, "duplicates": duplicates, "crumbs": _crumbs(None, "Register")}
    return render(request, "patients/patient_form.html", context)


@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_patient_for_user(request, pk, perm=CHANGE)
    form = PatientForm(request.POST or None, instance=patient, editing=True)
    conflicts = []
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(
                patient=patient,
                by=request.user,
                expected_version=form.cleaned_data["version"],
                **form.service_fields(),
            )
        except services.StaleEdit as exc:
            conflicts = form.differences_from(exc.current, exc.loaded)
            form = form.rebased_on(exc.current)
            form.add_error(None, exc)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("patients:detail", pk=patient.pk)
    audit.record_page_opened(
        request, action="patients.edit_form.viewed", category=services.AUDIT_CATEGORY, target=patient, patient=patient
    )
    context = {"form": form, "patient": patient, "conflicts": conflicts, "crumbs": _crumbs(patient, "Edit")}
    return render(request, "patients/patient_form.html", context)


@require_http_methods(["GET", "POST"])
def patient_status(request, pk: int):
    patient = get_patient_for_user(request, pk, perm=CHANGE)
    form = StatusForm(request.POST or None, patient=patient)
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_change_status(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Status changed to {patient.Status(form.cleaned_data['status']).label}.")
            return redirect("patients:detail", pk=patient.pk)
    audit.record_page_opened(
        request, action="patients.status_form.viewed", category=services.AUDIT_CATEGORY, target=patient, patient=patient
    )
    context = {"form": form, "patient": patient, "crumbs": _crumbs(patient, "Change status")}
    return render(request, "patients/patient_status_form.html", context)


def _outside_locations(request, pk: int, *, emergency_form=None):
    """403 for a chart outside the user's locations, offering break-glass to those who may use it."""
    may_invoke = request.user.has_perm(emergency.INVOKE)
    context = {
        "patient_id": pk,
        "emergency_form": (emergency_form or EmergencyAccessForm()) if may_invoke else None,
        "emergency_minutes": settings.EMERGENCY_ACCESS_MINUTES,
    }
    return render(request, "patients/outside_locations.html", context, status=403 if emergency_form is None else 200)


def _outside(request, pk: int) -> bool:
    """The user's role opens this chart but their locations do not (and no grant does)."""
    user = request.user
    return role_opens_but_location_closes(user, VIEW, patient_id=pk) and not has_chart_perms(user, VIEW, patient_id=pk)


@require_GET
def patient_detail(request, pk: int):
    if _outside(request, pk):
        return _outside_locations(request, pk)
    patient = get_patient_for_user(request, pk)
    services.patient_chart_opened(patient=patient, by=request.user)
    return render(request, "patients/patient_detail.html", _detail_context(request, patient))


def _detail_context(request, patient, *, emergency_form=None) -> dict:
    contacts = list(contact_log_for(patient=patient)[: CONTACT_LOG_ON_PATIENT_PAGE + 1])
    duplicates = possible_duplicates_of(patient)
    show_clinical = can_view_clinical(request.user, patient_id=patient.pk)
    return {
        "patient": patient,
        "alerts": rules.patient_alerts(
            status=patient.status,
            has_reminder_consent=patient.has_reminder_consent,
            has_escort=patient.has_escort,
            possible_duplicates=len(duplicates),
        ),
        "duplicates": duplicates,
        "contacts": contacts[:CONTACT_LOG_ON_PATIENT_PAGE],
        "more_contacts": len(contacts) > CONTACT_LOG_ON_PATIENT_PAGE,
        "contact_form": (
            ContactLogEntryForm() if has_chart_perms(request.user, ADD_CONTACT, patient_id=patient.pk) else None
        ),
        "show_clinical": show_clinical,
        "emergency_form": (
            (emergency_form or EmergencyAccessForm())
            if not show_clinical and request.user.has_perm(emergency.INVOKE)
            else None
        ),
        "emergency_minutes": settings.EMERGENCY_ACCESS_MINUTES,
        "crumbs": _crumbs(patient),
    }


@require_POST
def patient_emergency_access(request, pk: int):
    """Break-glass: read this chart's clinical record for a limited time, with a reason; or, for a
    chart outside the user's locations, the chart itself (whatever the role)."""
    outside = _outside(request, pk)
    if outside:
        patient = Patient.objects.filter(pk=pk).first()
        if patient is None:
            raise PermissionDenied  # as for another location's chart: ids cannot be probed
    else:
        patient = get_patient_for_user(request, pk)
    if not request.user.has_perm(emergency.INVOKE) or can_view_clinical(request.user, patient_id=patient.pk):
        raise PermissionDenied  # roles with clinical access to this chart have nothing to break into
    form = EmergencyAccessForm(request.POST)
    if form.is_valid():
        try:
            grant = emergency.start(
                request=request,
                patient=patient,
                reason=form.cleaned_data["reason"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            for field, messages_ in exc.message_dict.items():
                form.add_error(field, messages_)
        else:
            until = formats.time_format(timezone.localtime(grant.expires_at))
            messages.warning(
                request,
                f"Emergency access until {until}. Every page you open is recorded and administrators have been told.",
            )
            return redirect("patients:detail", pk=patient.pk)
    if outside:
        return _outside_locations(request, pk, emergency_form=form)
    services.patient_chart_opened(patient=patient, by=request.user)
    return render(request, "patients/patient_detail.html", _detail_context(request, patient, emergency_form=form))


@require_http_methods(["GET", "POST"])
def patient_contacts(request, pk: int):
    """The whole contact log, paginated; POST adds an entry."""
    patient = get_patient_for_user(request, pk)
    may_add = has_chart_perms(request.user, ADD_CONTACT, patient_id=patient.pk)  # never under break-glass alone
    if request.method == "POST" and not may_add:
        raise PermissionDenied
    form = ContactLogEntryForm(request.POST or None) if may_add else None
    if request.method == "POST" and form is not None and form.is_valid():  # None: refused above
        try:
            services.contact_log_entry_create(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Contact logged.")
            return redirect(reverse("patients:detail", args=[patient.pk]) + "#contact-log")
    services.contact_log_opened(patient=patient, by=request.user)
    page = paginate(
        contact_log_for(patient=patient), request.GET.get("page"), per_page=CONTACT_LOG_PAGE_SIZE, ranked=False
    )
    context = {"patient": patient, "page": page, "form": form, "crumbs": _crumbs(patient, "Contact log")}
    return render(request, "patients/contact_log.html", context)
