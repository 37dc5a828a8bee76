"""Booking: one appointment, a series, the next free times, and the patient picker."""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts import audit
from accounts.models import AuditEvent
from patients.selectors import patients_visible_to
from scheduling import rules, selectors, services
from scheduling.access import may_see_location
from scheduling.forms import (
    SERIES_MAX,
    BookingForm,
    FindForm,
    SeriesForm,
    apply_service_error,
    chosen_pk,
    find_patient,
    parse_instant,
)
from scheduling.views.common import PATIENT_CHOICES, SESSION_LOCATION, calendar_url, resource_names, with_alternative

# --- Booking ----------------------------------------------------------------------


def _initial_from_query(request) -> dict:
    fields = ("patient", "appointment_type", "location", "date", "start_time", "minutes", "clinician", "resource")
    initial = {k: request.GET[k][:40] for k in fields if request.GET.get(k)}
    if "location" not in initial and request.session.get(SESSION_LOCATION):
        initial["location"] = request.session[SESSION_LOCATION]  # the site last shown on the calendar
    if "resource" in initial and "appointment_type" not in initial and chosen_pk(initial["resource"]):
        # Clicked in a chair column: most likely an infusion; in a room: an intake consultation.
        kind = selectors.bookable_resources().filter(pk=initial["resource"]).values_list("kind", flat=True).first()
        code = {"chair": "infusion", "room": "consultation"}.get(kind or "")
        found = selectors.active_types().filter(code=code).values_list("pk", flat=True).first() if code else None
        if found:
            initial["appointment_type"] = found
    return initial


def _patient_choices(request, form):
    """The chosen patient (if any) first, then search matches for what was typed."""
    chosen = None
    if form.is_bound:
        chosen = form.cleaned_data.get("patient") if hasattr(form, "cleaned_data") else None
        if chosen is None:
            chosen = find_patient(form.data.get("patient", ""), user=request.user)
        query = form.data.get("patient_q", "")[:100]
    else:
        chosen = find_patient(str(form.initial.get("patient", "")), user=request.user)
        query = ""
    choices = [chosen] if chosen is not None else []
    if query.strip():
        for match in patients_visible_to(user=request.user, search=query)[:PATIENT_CHOICES]:
            if chosen is None or match.pk != chosen.pk:
                choices.append(match)
    return {"patient_choices": choices, "chosen_patient": chosen, "patient_query": query}


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def book(request):
    data = with_alternative(request, request.POST) if request.method == "POST" else None
    form = BookingForm(data, user=request.user, initial=_initial_from_query(request))
    alternatives = []
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(by=request.user, **form.service_kwargs())
        except services.SlotTaken as exc:
            apply_service_error(form, exc)
            alternatives = exc.alternatives
        except services.SchedulingError as exc:
            apply_service_error(form, exc)
        else:
            local = appointment.start.astimezone(appointment.location.zone)
            messages.success(
                request,
                f"Booked {appointment.appointment_type.name.lower()} for {appointment.patient.display_name} "
                f"on {rules.when_text(local)}.",
            )
            return redirect(calendar_url(appointment.location_id, local.date(), focus=appointment.pk))
    choices = _patient_choices(request, form)
    audit.record_page_opened(
        request,
        action="scheduling.booking_form.viewed",
        category=services.AUDIT_CATEGORY,
        patient=choices["chosen_patient"],
    )
    return render(
        request,
        "scheduling/book.html",
        {
            "form": form,
            "alternatives": alternatives,
            "resource_names": resource_names(alternatives),
            **choices,
            "crumbs": [("Schedule", reverse("scheduling:calendar")), ("Book", None)],
        },
    )


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def resource_options(request):
    """htmx: the chair-or-room options of one location, swapped in when a form's location changes."""
    location_pk = chosen_pk(request.GET.get("location", "")[:12])
    # Another site's chairs are none of a scoped desk's business: it lists none, as for nonsense.
    shown = bool(location_pk) and may_see_location(request.user, int(location_pk))
    resources = selectors.bookable_resources().filter(location_id=location_pk) if shown else []
    return render(
        request,
        "scheduling/_resource_options.html",
        {"resources": resources, "empty_label": request.GET.get("empty", "")[:40] or "—"},
    )


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
@audit.audited_query("scheduling.patient_search.viewed", AuditEvent.Category.DEMOGRAPHICS)
def patient_search(request):
    """htmx: the patient radio list of a booking form, refreshed as the user types."""
    query = request.GET.get("patient_q", "")[:100]
    matches = list(patients_visible_to(user=request.user, search=query)[:PATIENT_CHOICES]) if query.strip() else []
    return render(
        request,
        "scheduling/_patient_choices.html",
        {"patient_choices": matches, "chosen_patient": None, "patient_query": query},
    )


def _plan_signature(planned: list[rules.PlannedOccurrence]) -> str:
    text = "|".join(o.start.isoformat() if o.start else o.day.isoformat() for o in planned)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chosen_occurrences(request, planned: list[rules.PlannedOccurrence], location) -> list[rules.PlannedOccurrence]:
    """The planned occurrences with the alternatives the user picked on the preview.

    Picks only apply to the plan they were offered for: if the dates or time were
    edited since, the new plan is checked afresh.
    """
    if request.POST.get("plan") != _plan_signature(planned):
        return list(planned)
    out = []
    for i, occurrence in enumerate(planned):
        picked = parse_instant(request.POST.get(f"occ-{i}", ""))
        if picked is not None:
            occurrence = rules.PlannedOccurrence(day=picked.astimezone(location.zone).date(), start=picked)
        out.append(occurrence)
    return out


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_http_methods(["GET", "POST"])
def series_new(request):
    initial = {"count": 6, **_initial_from_query(request)}
    if count := chosen_pk(request.GET.get("count")):  # a treatment plan's planned number of infusions
        initial["count"] = min(int(count), SERIES_MAX)
    form = SeriesForm(request.POST or None, user=request.user, initial=initial)
    checks = None
    if request.method == "POST" and form.is_valid() and "planned" in form.cleaned_data:
        c = form.cleaned_data
        occurrences = _chosen_occurrences(request, c["planned"], c["location"])
        if request.POST.get("action") == "book":
            try:
                series = services.series_book(
                    patient=c["patient"],
                    appointment_type=c["appointment_type"],
                    location=c["location"],
                    occurrences=occurrences,
                    by=request.user,
                    minutes=form.minutes_value(),
                    resource=c.get("resource"),
                    clinician=c.get("clinician"),
                    note=c.get("note", ""),
                    local_time=c["start_time"],
                    weekdays=c["weekdays"],
                )
            except services.SeriesConflicts as exc:
                checks = exc.checks
                form.add_error(None, exc.messages[0])
            except services.SchedulingError as exc:
                apply_service_error(form, exc)
            else:
                zone = series.location.zone
                booked = list(series.occurrences.order_by("start").values_list("pk", "start"))
                when = "; ".join(rules.when_text(start.astimezone(zone)) for _, start in booked)
                messages.success(
                    request,
                    f"Booked {len(booked)} × {series.appointment_type.name.lower()} for {c['patient'].display_name}: "
                    f"{when} ({series.location.name}, times in {series.location.time_zone}).",
                )
                first_pk, first_start = booked[0]
                return redirect(calendar_url(series.location_id, first_start.astimezone(zone).date(), focus=first_pk))
        else:
            checks = selectors.series_check(
                patient=c["patient"],
                appointment_type=c["appointment_type"],
                location=c["location"],
                occurrences=occurrences,
                minutes=form.minutes_value(),
                resource=c.get("resource"),
                clinician=c.get("clinician"),
                now=timezone.now(),
            )
    choices = _patient_choices(request, form)
    audit.record_page_opened(
        request,
        action="scheduling.series_form.viewed",
        category=services.AUDIT_CATEGORY,
        patient=choices["chosen_patient"],
    )
    return render(
        request,
        "scheduling/series_form.html",
        {
            "form": form,
            "checks": checks,
            "all_ok": checks is not None and all(c.ok for c in checks),
            "plan_signature": _plan_signature(form.cleaned_data["planned"]) if checks is not None else "",
            "location": form.cleaned_data.get("location") if hasattr(form, "cleaned_data") else None,
            **choices,
            "crumbs": [("Schedule", reverse("scheduling:calendar")), ("Book a series", None)],
        },
    )


@permission_required("scheduling.add_appointment", raise_exception=True)
@require_GET
def find(request):
    # A link that only preselects the location ("Find next available" on the calendar) opens
    # the form to fill in, not a search that failed: bind only what the form itself submitted.
    submitted = "appointment_type" in request.GET
    form = FindForm(request.GET if submitted else None, initial=request.GET.dict(), user=request.user)
    slots = None
    if form.is_bound and form.is_valid():
        c = form.cleaned_data
        location = c["location"]
        after = timezone.now()
        if c.get("from_date"):
            after = max(after, rules.local_day_bounds(c["from_date"], location.time_zone)[0])
        slots = selectors.find_available(
            appointment_type=c["appointment_type"],
            location=location,
            after=after,
            minutes=c.get("minutes"),
            patient=c.get("patient"),
            clinician=c.get("clinician"),
            resource=c.get("resource"),
            limit=10,
        )
    resources = resource_names(slots)
    people = {s.clinician_id for s in slots or () if s.clinician_id}
    clinician_names = {u.pk: str(u) for u in selectors.clinicians().filter(pk__in=people)} if people else {}
    audit.record_page_opened(
        request,
        action="scheduling.find_available.viewed",
        category=services.AUDIT_CATEGORY,
        patient=form.cleaned_data.get("patient") if slots is not None else None,
    )
    return render(
        request,
        "scheduling/find.html",
        {
            "form": form,
            "slots": slots,
            "resources": resources,
            "clinician_names": clinician_names,
            "crumbs": [("Schedule", reverse("scheduling:calendar")), ("Find next available", None)],
        },
    )
