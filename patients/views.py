from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from patients import services
from patients.access import get_patient_for_user
from patients.forms import PatientForm
from patients.selectors import patients_visible_to

PAGE_SIZE = 25


@permission_required("patients.view_patient", raise_exception=True)
def patient_list(request):
    query = request.GET.get("q", "")[:100]
    patients = patients_visible_to(user=request.user, search=query)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/patient_list.html",
        {"page": page, "q": query, "query": f"q={query}" if query else "", "crumbs": [("Patients", None)]},
    )


@permission_required("patients.add_patient", raise_exception=True)
@require_http_methods(["GET", "POST"])
def patient_create(request):
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = services.patient_create(by=request.user, **form.cleaned_data)
        messages.success(request, f"Registered {patient.display_name} ({patient.mrn}).")
        return redirect("patients:detail", pk=patient.pk)
    crumbs = [("Patients", reverse("patients:list")), ("Register", None)]
    return render(request, "patients/patient_form.html", {"form": form, "crumbs": crumbs})


@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = get_patient_for_user(request, pk, perm="patients.change_patient")
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        services.patient_update(patient=patient, by=request.user, **form.cleaned_data)
        messages.success(request, "Saved.")
        return redirect("patients:detail", pk=patient.pk)
    crumbs = [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        ("Edit", None),
    ]
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "crumbs": crumbs})


def patient_detail(request, pk: int):
    patient = get_patient_for_user(request, pk)
    services.patient_chart_opened(patient=patient, by=request.user)
    crumbs = [("Patients", reverse("patients:list")), (patient.display_name, None)]
    return render(request, "patients/patient_detail.html", {"patient": patient, "crumbs": crumbs})
