"""Pages of a course over months: the patient's course (exposure, titration, surveillance,
maintenance), its forms, the infusion session's panel and the exposure report."""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from accounts.prescribing import PrescriberRequired, prescriber_refusal
from core.audit import Category
from courses import forms, rules, selectors, services
from courses.access import VIEW, get_finding_for_user, get_rescreen_for_user
from infusions.access import get_session_for_user
from patients.access import get_patient_for_user, require_clinical
from scheduling.access import in_their_patients

PAGE_SIZE = 25


def _crumbs(patient, *tail):
    return [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        *tail,
    ]


def _patient(request, patient_id: int, *perms: str):
    require_clinical(request, VIEW, *perms, patient_id=patient_id)
    return get_patient_for_user(request, patient_id)


def _errors_to_form(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


def _read(request, action: str, patient, target=None) -> None:
    audit.record_read(
        actor=request.user, action=action, target=target or patient, patient=patient, category=Category.CLINICAL
    )


@require_GET
def patient_course(request, patient_id: int):
    patient = _patient(request, patient_id)
    course = selectors.course_of(patient)
    _read(request, "courses.course.viewed", patient)
    return render(
        request,
        "courses/course_detail.html",
        {
            "patient": patient,
            "course": course,
            "can_titrate": prescriber_refusal(request.user, services.REVIEW, action="A titration review") == "",
            "acknowledge_form": forms.AcknowledgeForm(),
            "review_form": forms.ReviewForm(),
            "crumbs": _crumbs(patient, ("Course", None)),
        },
    )


@require_GET
def patient_panel(request, patient_id: int):
    """htmx: the course's exposure and what it asks for, on the patient page (clinical staff)."""
    patient = _patient(request, patient_id)
    course = selectors.course_of(patient)
    _read(request, "courses.patient_panel.viewed", patient)
    return render(request, "courses/_patient_panel.html", {"patient": patient, "course": course})


@require_http_methods(["GET", "POST"])
def titration(request, patient_id: int):
    patient = _patient(request, patient_id, services.REVIEW)
    course = selectors.course_of(patient)
    order = course.order
    # No live plan with a signed order: the page says so, with no form.
    form = (
        forms.TitrationForm(request.POST or None, initial={"after_infusion": course.given or None}) if order else None
    )
    if order is not None and form is not None and request.method == "POST" and form.is_valid():
        try:
            review = services.titration_review_record(plan=order.plan, by=request.user, **form.cleaned_data)
        except PrescriberRequired as exc:  # a prescriber whose credentials lapsed: said at the form
            form.add_error(None, str(exc))
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            if review.order is not None:
                messages.success(
                    request,
                    f"Standing order version {review.order.number} signed: "
                    f"{review.dose_before.normalize()} → {review.dose_after.normalize()} "
                    f"({review.get_decision_display().lower()}).",
                )
            else:
                messages.success(request, "Review recorded: the dose stays as ordered.")
            return redirect("courses:patient-course", patient.pk)
    audit.record_page_opened(
        request, action="courses.titration_form.viewed", category=Category.CLINICAL, patient=patient
    )
    return render(
        request,
        "courses/titration_form.html",
        {"patient": patient, "course": course, "form": form, "crumbs": _crumbs(patient, ("Titration review", None))},
    )


@require_http_methods(["GET", "POST"])
def liver_test(request, patient_id: int):
    patient = _patient(request, patient_id, services.RECORD)
    form = forms.LiverTestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            test = services.liver_test_record(
                patient=patient,
                by=request.user,
                taken_on=data["taken_on"],
                alt=data["alt"],
                alt_uln=data["alt_uln"],
                ast=data["ast"],
                ast_uln=data["ast_uln"],
                laboratory=data.get("laboratory") or "",
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            if test.abnormal:
                messages.warning(request, "Recorded. A value is above the upper limit of normal: a finding is open.")
            else:
                messages.success(request, "Liver function tests recorded.")
            return redirect("courses:patient-course", patient.pk)
    audit.record_page_opened(
        request, action="courses.liver_test_form.viewed", category=Category.CLINICAL, patient=patient
    )
    return render(
        request,
        "courses/liver_test_form.html",
        {"patient": patient, "form": form, "crumbs": _crumbs(patient, ("Liver function tests", None))},
    )


@require_POST
def finding_acknowledge(request, finding_id: int):
    finding = get_finding_for_user(request, finding_id, perm=services.ACKNOWLEDGE)
    form = forms.AcknowledgeForm(request.POST)
    if form.is_valid():
        try:
            services.finding_acknowledge(finding=finding, text=form.cleaned_data["acknowledgement"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Finding acknowledged.")
    else:
        messages.error(request, "Say what was done about the finding.")
    return redirect("courses:patient-course", finding.patient_id)


@require_http_methods(["GET", "POST"])
def rescreen(request, patient_id: int):
    patient = _patient(request, patient_id, "courses.add_maintenancerescreen")
    base = dataclasses.asdict(selectors.rescreen_base_facts(patient))
    form = forms.RescreenForm(request.POST or None, facts_asked=selectors.RESCREEN_FACTS, base=base)
    if request.method == "POST" and form.is_valid():
        try:
            found = services.rescreen_record(
                patient=patient,
                facts=form.facts(),
                misuse=form.misuse(),
                by=request.user,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Re-screen recorded: {found.get_state_display().lower()}.")
            return redirect("courses:patient-course", patient.pk)
    audit.record_page_opened(
        request, action="courses.rescreen_form.viewed", category=Category.CLINICAL, patient=patient
    )
    return render(
        request,
        "courses/rescreen_form.html",
        {"patient": patient, "form": form, "crumbs": _crumbs(patient, ("Maintenance re-screen", None))},
    )


@require_POST
def rescreen_review(request, rescreen_id: int):
    found = get_rescreen_for_user(request, rescreen_id, perm=services.REVIEW)
    form = forms.ReviewForm(request.POST)
    if form.is_valid():
        try:
            services.rescreen_review(rescreen=found, reason=form.cleaned_data["review_reason"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Re-screen cleared for boosters.")
    else:
        messages.error(request, "Say why boosters may go ahead.")
    return redirect("courses:patient-course", found.patient_id)


def _session_panel(request, session, *, screen_form=None):
    t = selectors.thresholds()
    exposure = selectors.exposure_of(session.patient)
    number = selectors.infusion_number(session)
    screen = selectors.UrinaryScreen.objects.filter(session=session).first()
    context = {
        "session": session,
        "exposure": exposure,
        "over": exposure.over(t),
        "lft_prompt": selectors.lft_prompt_for(session.patient, exposure, t),
        "number": number,
        "screen_due": rules.urinary_screen_due(infusion_number=number, t=t),
        "screen": screen,
        "screen_form": screen_form or forms.UrinaryScreenForm(),
        "can_screen": request.user.has_perm("courses.add_urinaryscreen") and session.started_at is None,
        "open_findings": selectors.open_findings(session.patient),
        "thresholds": t,
    }
    # Always 200: htmx swaps only 2xx answers, and the form's errors must show in the panel.
    return render(request, "courses/_session_panel.html", context)


@require_GET
def session_panel(request, session_id: int):
    session = get_session_for_user(request, session_id)
    _read(request, "courses.session_panel.viewed", session.patient, target=session)
    return _session_panel(request, session)


@require_POST
def urinary_screen(request, session_id: int):
    session = get_session_for_user(request, session_id, perm="courses.add_urinaryscreen")
    form = forms.UrinaryScreenForm(request.POST)
    if form.is_valid():
        try:
            services.urinary_screen_record(
                session=session, answers=form.answers(), notes=form.cleaned_data["notes"], by=request.user
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            if not request.htmx:
                return redirect("infusions:session", session.pk)
            return _session_panel(request, session)
    if not request.htmx:
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
        return redirect("infusions:session", session.pk)
    return _session_panel(request, session, screen_form=form)


@require_GET
@audit.audited_query("courses.exposure_report.viewed", AuditEvent.Category.CLINICAL)
def exposure_report(request):
    if not request.user.has_perm("courses.view_exposure_report") or not request.user.has_perm(
        "patients.view_clinical_record"
    ):
        raise PermissionDenied
    t = selectors.thresholds()
    over = in_their_patients(request.user, selectors.patients_over_thresholds(t=t))  # rows of sums per patient_id
    paginator = Paginator(over, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = selectors.exposure_rows(list(page.object_list), t=t, today=timezone.localdate())
    return render(
        request,
        "courses/exposure_report.html",
        {
            "page": page,
            "rows": rows,
            "thresholds": t,
            "settings": rules.SETTINGS,
            "query": "",
            "crumbs": [("Reports", reverse("reports:index")), ("Cumulative exposure", None)],
        },
    )
