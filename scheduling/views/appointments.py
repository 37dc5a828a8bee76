"""One appointment: its page, status moves, cancel, reschedule, escort; and the patient panel."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import User
from patients.access import get_patient_for_user
from scheduling import hooks, rules, selectors, services
from scheduling.access import get_appointment_for_user
from scheduling.forms import CancelForm, RescheduleForm, StatusForm, apply_service_error, chosen_pk
from scheduling.models import Appointment, AppointmentStatus
from scheduling.selectors.self_booking import patient_waitlist
from scheduling.views.common import (
    calendar_url,
    card_move_items,
    parse_date_or_none,
    resource_names,
    safe_next,
    user_moves,
    with_alternative,
)
from scheduling.views.schedule import day_context

# --- One appointment --------------------------------------------------------------


def appointment_detail(request, appointment_id: int):
    appointment = get_appointment_for_user(request, appointment_id)
    audit.record_read(
        actor=request.user,
        action="scheduling.appointment.viewed",
        target=appointment,
        patient=appointment.patient,
        category=services.AUDIT_CATEGORY,
    )
    zone = appointment.location.zone
    links = hooks.record_links(appointment, request.user)
    return render(
        request,
        "scheduling/appointment_detail.html",
        {
            "appt": appointment,
            "local_start": appointment.start.astimezone(zone),
            "local_end": appointment.end.astimezone(zone),
            "moves": user_moves(request.user),
            "records": [link for link in links if link.clinical],
            "billing_links": [link for link in links if not link.clinical],
            "care_states": selectors.care_states_of([appointment]),
            "crumbs": [
                ("Schedule", calendar_url(appointment.location_id, appointment.start.astimezone(zone).date())),
                (f"Appointment #{appointment.pk}", None),
            ],
        },
    )


def _card_response(request, appointment_id: int, error: str = ""):
    appointment = selectors.appointment_detail(appointment_id)
    if appointment is None:
        raise Http404
    here = safe_next(request, reverse("scheduling:calendar"))
    card = selectors.day_card(appointment, selectors.care_states_of([appointment]))
    moves = user_moves(request.user)
    menu = card_move_items(card, moves, here=here, here_quoted=quote(here), csrf_token=get_token(request))
    return render(
        request,
        "scheduling/_appointment_card.html",
        {
            "card": card,
            "moves": moves,
            "card_menus": {card.pk: menu},
            "can_manage": request.user.has_perm("scheduling.manage_bookings"),
            "here": here,
            "here_quoted": quote(here),
            "error": error,
        },
    )


@require_POST
def appointment_status(request, appointment_id: int):
    appointment = get_appointment_for_user(request, appointment_id, perm="scheduling.change_appointment")
    form = StatusForm(request.POST)
    back = safe_next(request, reverse("scheduling:appointment-detail", args=[appointment.pk]))
    error = ""
    if not form.is_valid():
        error = "That action was not understood."
    else:
        try:
            services.appointment_transition(
                appointment=appointment,
                to_status=form.cleaned_data["to_status"],
                by=request.user,
                reason=form.cleaned_data.get("reason", ""),
                expected_version=form.cleaned_data.get("version"),
            )
        except PermissionDenied:
            error = "You may not make that change."
        except services.SchedulingError as exc:
            error = " ".join(exc.messages)
    if request.htmx:
        return _card_response(request, appointment.pk, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            f"{appointment.patient.display_name}: {AppointmentStatus(form.cleaned_data['to_status']).label.lower()}.",
        )
    return redirect(back)


@permission_required("scheduling.manage_bookings", raise_exception=True)
@require_http_methods(["GET", "POST"])
def appointment_cancel(request, appointment_id: int):
    appointment = get_appointment_for_user(request, appointment_id, perm="scheduling.manage_bookings")
    form = CancelForm(request.POST or None, initial={"version": appointment.version})
    back = safe_next(request, reverse("scheduling:appointment-detail", args=[appointment.pk]))
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                appointment=appointment,
                by=request.user,
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data["version"],
            )
        except services.SchedulingError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, f"Cancelled {appointment.patient.display_name}'s appointment.")
            return redirect(back)
    audit.record_page_opened(
        request,
        action="scheduling.cancel_form.viewed",
        category=services.AUDIT_CATEGORY,
        target=appointment,
        patient=appointment.patient,
    )
    return render(
        request,
        "scheduling/appointment_cancel.html",
        {"appt": appointment, "form": form, "next": back, "crumbs": _appointment_crumbs(appointment, "Cancel")},
    )


def _appointment_crumbs(appointment: Appointment, label: str):
    return [
        ("Schedule", reverse("scheduling:calendar")),
        (f"Appointment #{appointment.pk}", reverse("scheduling:appointment-detail", args=[appointment.pk])),
        (label, None),
    ]


def _reschedule(appointment: Appointment, by: User, cleaned: dict) -> Appointment:
    """The reschedule service with what a valid RescheduleForm holds (the page and the grid's moves)."""
    return services.appointment_reschedule(
        appointment=appointment,
        by=by,
        start=cleaned["start"],
        end=cleaned.get("end"),
        location=cleaned["location"],
        resource=cleaned.get("resource"),
        clinician=cleaned.get("clinician"),
        expected_version=cleaned["version"],
    )


@permission_required("scheduling.manage_bookings", raise_exception=True)
@require_http_methods(["GET", "POST"])
def appointment_reschedule(request, appointment_id: int):
    appointment = get_appointment_for_user(request, appointment_id, perm="scheduling.manage_bookings")
    location = appointment.location
    local = appointment.start.astimezone(location.zone)
    initial = {
        "location": location.pk,
        "date": local.date(),
        "start_time": local.time().replace(second=0, microsecond=0),
        "minutes": appointment.minutes,
        "resource": appointment.resource_id,
        "clinician": appointment.clinician_id,
        "version": appointment.version,
    }
    data = None
    if request.method == "POST":
        data = request.POST.copy()
        if not data.get("location"):
            data["location"] = str(location.pk)
        data = with_alternative(request, data)
    form = RescheduleForm(data, initial=initial)
    alternatives = None
    if request.method == "POST" and form.is_valid():
        try:
            new = _reschedule(appointment, request.user, form.cleaned_data)
        except services.SlotTaken as exc:
            apply_service_error(form, exc)
            alternatives = exc.alternatives
        except services.SchedulingError as exc:
            apply_service_error(form, exc)
        else:
            new_local = new.start.astimezone(new.location.zone)
            moved_to = rules.when_text(new_local)
            if new.location_id != location.pk:
                moved_to += f" at {new.location.name}"
            messages.success(request, f"Moved to {moved_to}.")
            return redirect(calendar_url(new.location_id, new_local.date(), focus=new.pk))
    chosen = form.cleaned_data.get("location") if form.is_bound and hasattr(form, "cleaned_data") else None
    if alternatives is None:
        alternatives = selectors.find_available(
            appointment_type=appointment.appointment_type,
            location=chosen or location,
            after=timezone.now(),
            minutes=appointment.minutes,
            patient=appointment.patient,
            clinician=appointment.clinician,
            limit=6,
            ignore_ids=[appointment.pk],
        )
    audit.record_page_opened(
        request,
        action="scheduling.reschedule_form.viewed",
        category=services.AUDIT_CATEGORY,
        target=appointment,
        patient=appointment.patient,
    )
    return render(
        request,
        "scheduling/appointment_reschedule.html",
        {
            "appt": appointment,
            "form": form,
            "alternatives": alternatives,
            "alternatives_location": chosen or location,
            "resource_names": resource_names(alternatives),
            "local_start": local,
            "crumbs": _appointment_crumbs(appointment, "Reschedule"),
        },
    )


@permission_required("scheduling.manage_bookings", raise_exception=True)
@require_POST
def appointment_move(request, appointment_id: int):
    """Move a booking from the day grid (drag, arrow keys or the move dialog), in place.

    The same reschedule service and database constraints as the reschedule page decide; the answer
    is the day grid again, with the moved booking highlighted, or with the refusal on the card,
    which is back where it was because nothing changed.
    """
    appointment = get_appointment_for_user(request, appointment_id, perm="scheduling.manage_bookings")
    location = appointment.location
    zone = location.zone
    today = timezone.now().astimezone(zone).date()
    shown = parse_date_or_none(request.POST.get("shown", "")) or appointment.start.astimezone(zone).date()
    data = request.POST.copy()
    # A move keeps everything but the time and the chair; the grid never changes site or length.
    data["location"] = str(location.pk)
    data["minutes"] = str(appointment.minutes)
    data["clinician"] = str(appointment.clinician_id or "")
    form = RescheduleForm(data)
    error, moved = "", None
    if form.is_valid():
        try:
            moved = _reschedule(appointment, request.user, form.cleaned_data)
        except services.SchedulingError as exc:
            error = " ".join(exc.messages)
    else:
        error = " ".join(str(m) for messages in form.errors.values() for m in messages)
    if moved is not None:
        new_local = moved.start.astimezone(zone)
        place = f", {moved.resource.name}" if moved.resource else ""
        status = f"Moved {moved.patient.display_name} to {rules.when_text(new_local)}{place}."
    else:
        status = f"Not moved: {error}"
    if not request.htmx:
        if moved is not None:
            messages.success(request, status)
            return redirect(calendar_url(location.pk, moved.start.astimezone(zone).date(), focus=moved.pk))
        messages.error(request, status)
        return redirect(calendar_url(location.pk, shown, focus=appointment.pk))
    columns = "clinicians" if request.POST.get("columns") == "clinicians" else "resources"
    context = day_context(request, location=location, day=shown, today=today, columns=columns)
    context.update(
        focus=moved.pk if moved is not None else appointment.pk,
        refused=appointment.pk if moved is None else None,
        refusal=error,
        move_status=status,
    )
    return render(request, "scheduling/_day_grid.html", context)


@require_POST
def appointment_escort(request, appointment_id: int):
    appointment = get_appointment_for_user(request, appointment_id, perm="scheduling.change_appointment")
    back = safe_next(request, reverse("scheduling:appointment-detail", args=[appointment.pk]))
    version = request.POST.get("version", "")
    try:
        services.appointment_confirm_escort(
            appointment=appointment,
            by=request.user,
            confirmed=request.POST.get("confirmed", "1") == "1",
            expected_version=int(version) if chosen_pk(version) else None,
        )
    except services.SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Escort noted for {appointment.patient.display_name}.")
    return redirect(back)


# --- Patient panel (loaded by the patient page) -------------------------------------


@permission_required("scheduling.view_appointment", raise_exception=True)
@require_GET
def patient_panel(request, patient_id: int):
    patient = get_patient_for_user(request, patient_id)
    now = timezone.now()
    lists = selectors.patient_appointments(patient=patient, now=now)
    audit.record_read(
        actor=request.user,
        action="scheduling.patient_appointments.viewed",
        target=patient,
        patient=patient,
        category=services.AUDIT_CATEGORY,
    )
    online = patient_waitlist(patient)
    return render(request, "scheduling/patient_panel.html", {"patient": patient, "online": online, **lists})
