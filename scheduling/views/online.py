"""The front desk's side of online booking: requests to approve, the waitlist, and a patient's
booking link. Thin views: the access helper, a form, one service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from patients.access import get_patient_for_user
from scheduling.access import in_their_locations, location_ids_for
from scheduling.models import SelfBooking, WaitlistEntry
from scheduling.public_forms import WaitlistForm
from scheduling.selectors import self_booking as selectors
from scheduling.services import SchedulingError
from scheduling.services import self_booking as services

PER_PAGE = 25


def _waitlist_form(data=None, initial=None) -> WaitlistForm:
    return WaitlistForm(
        data,
        initial=initial,
        types=selectors.self_bookable_types(),
        locations=selectors.self_booking_locations(),
    )


@permission_required("scheduling.add_appointment", raise_exception=True)
@audit.audited_query("scheduling.online_bookings.viewed", AuditEvent.Category.SCHEDULING)
def online(request):
    """Online requests waiting for approval, and the patients on the waitlist (paginated)."""
    # A desk scoped to some locations sees the requests and the waitlist of those locations.
    waiting = in_their_locations(request.user, selectors.waiting_entries())
    page = Paginator(waiting, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "scheduling/online.html",
        {
            "pending": selectors.pending_self_bookings(locations=location_ids_for(request.user)),
            "page": page,
            "can_decide": request.user.has_perm("scheduling.decide_selfbooking"),
            "policy": selectors.self_booking_policy(),
        },
    )


def _self_booking(request, self_booking_id: int) -> SelfBooking:
    if not request.user.has_perm("scheduling.decide_selfbooking"):
        raise PermissionDenied
    found = SelfBooking.objects.select_related("appointment__patient").filter(pk=self_booking_id).first()
    if found is None:
        raise Http404("No such request.")
    return found


@require_POST
def self_booking_decide(request, self_booking_id: int):
    """Approve (``decision=approve``) or decline (with a ``reason``) a held online request."""
    booking = _self_booking(request, self_booking_id)
    try:
        if request.POST.get("decision") == "approve":
            services.self_booking_approve(self_booking=booking, by=request.user)
            messages.success(request, f"Approved the online booking of {booking.appointment.patient}.")
        else:
            services.self_booking_decline(
                self_booking=booking, by=request.user, reason=request.POST.get("reason", "")[:200]
            )
            messages.success(request, f"Declined; the slot is free again. Call {booking.appointment.patient}.")
    except SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("scheduling:online")


@require_POST
@permission_required("scheduling.add_appointment", raise_exception=True)
def waitlist_remove(request, waitlist_entry_id: int):
    entry = WaitlistEntry.objects.select_related("patient").filter(pk=waitlist_entry_id).first()
    if entry is None:
        raise Http404("No such waitlist entry.")
    try:
        services.waitlist_entry_remove(entry=entry, by=request.user, reason=request.POST.get("reason", "")[:200])
    except SchedulingError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed {entry.patient} from the waitlist.")
    if request.POST.get("next") == "patient":
        return redirect("patients:detail", entry.patient_id)
    return redirect("scheduling:online")


@require_http_methods(["GET", "POST"])
def patient_waitlist(request, patient_id: int):
    """The desk puts the patient on the waitlist for an earlier slot of a type at a location."""
    patient = get_patient_for_user(request, patient_id, perm="scheduling.add_appointment")
    form = _waitlist_form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.waitlist_entry_create(
                patient=patient,
                appointment_type=form.cleaned_data["appointment_type"],
                location=form.cleaned_data["location"],
                before=form.cleaned_data.get("before"),
                by=request.user,
            )
        except SchedulingError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"{patient} is on the waitlist.")
            return redirect("patients:detail", patient.pk)
    audit.record_page_opened(
        request, action="scheduling.waitlist_form.viewed", category=services.AUDIT_CATEGORY, patient=patient
    )
    return render(
        request,
        "scheduling/patient_waitlist.html",
        {"patient": patient, "form": form, "current": selectors.patient_waitlist(patient)},
        status=400 if form.errors else 200,
    )


@require_POST
def patient_booking_link(request, patient_id: int):
    """Issue a booking link and send it on the patient's consented channel; without one, the link
    is shown once for the desk to give in person."""
    patient = get_patient_for_user(request, patient_id, perm="scheduling.add_appointment")
    try:
        new = services.self_booking_link_issue(patient=patient, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patients:detail", patient.pk)
    try:
        used = services.self_booking_link_send(new=new, by=request.user)
    except ValidationError:
        messages.warning(
            request,
            f"{patient} has not agreed to texts or e-mail. Give them this booking link in person "
            f"(shown once): {new.url}",
        )
    else:
        channels = " and ".join({"sms": "text", "email": "e-mail"}[c] for c in used)
        messages.success(request, f"Booking link sent by {channels}.")
    return redirect("patients:detail", patient.pk)
