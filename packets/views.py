"""Staff pages of the packet: the patient page's panel (progress, never the answers), sending and
withdrawing a packet, and the clinician's patient-reported history beside the intake."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import audit
from accounts.models import AuditEvent
from consultations.access import get_consultation_for_user
from packets import selectors, services
from packets.forms import AcceptMedicationForm, SendForm
from packets.models import Packet
from patients.access import get_patient_for_user


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


@require_GET
def patient_panel(request, patient_id: int):
    """htmx panel on the patient page: each packet's progress (never the answers) and the send button."""
    _require(request, "packets.view_packet")
    patient = get_patient_for_user(request, patient_id)
    services.packet_panel_viewed(patient=patient, by=request.user)
    packets = selectors.patient_packets(patient_id=patient.pk, now=timezone.now())
    pending: dict[int, int] = {}
    for p in packets:
        p.packet.patient = patient  # the record the corrections are compared with, already read
        if p.packet.details_changed:
            pending[p.packet.pk] = len(services.pending_corrections(p.packet))
    rows = [(p, pending.get(p.packet.pk, 0)) for p in packets]
    return render(request, "packets/_patient_panel.html", {"patient": patient, "packets": packets, "rows": rows})


def _crumbs(patient, *tail):
    return [
        ("Patients", reverse("patients:list")),
        (patient.display_name, reverse("patients:detail", args=[patient.pk])),
        *tail,
    ]


@require_http_methods(["GET", "POST"])
def send(request, patient_id: int):
    _require(request, "packets.add_packet")
    patient = get_patient_for_user(request, patient_id)
    appointments = selectors.upcoming_intakes(patient_id=patient.pk, now=timezone.now())
    form = SendForm(
        request.POST or None, appointments=appointments, initial={"appointment": next(iter(appointments), ("",))[0]}
    )
    if request.method == "POST" and form.is_valid():
        try:
            appointment = selectors.patient_appointment(patient_id=patient.pk, pk=form.cleaned_data["appointment"])
            _, channels = services.packet_issue(
                patient=patient,
                by=request.user,
                reason=form.cleaned_data["reason"],
                appointment=appointment,
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            for name, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            labels = {"sms": "text", "email": "e-mail"}
            messages.success(request, f"Pre-visit forms sent by {' and '.join(labels[c] for c in channels)}.")
            return redirect("patients:detail", patient.pk)
    audit.record_page_opened(
        request,
        action="packets.send_form.viewed",
        category=AuditEvent.Category.SCHEDULING,
        target=patient,
        patient=patient,
    )
    return render(
        request,
        "packets/send_form.html",
        {"patient": patient, "form": form, "crumbs": _crumbs(patient, ("Send pre-visit forms", None))},
    )


@require_POST
def revoke(request, packet_id: int):
    _require(request, "packets.add_packet")
    packet = get_object_or_404(Packet.objects.select_related("patient"), pk=packet_id)
    get_patient_for_user(request, packet.patient_id)
    services.packet_revoke(packet=packet, by=request.user)
    messages.success(request, "The pre-visit forms link was withdrawn.")
    return redirect("patients:detail", packet.patient_id)


@require_GET
def reported(request, consultation_id: int):
    """The patient-reported history beside the intake form (htmx panel), each item to accept."""
    consultation = get_consultation_for_user(request, consultation_id)
    history = selectors.reported_history(consultation)
    services.reported_history_viewed(consultation=consultation, by=request.user)
    can_accept = not consultation.is_signed and request.user.has_perm("consultations.change_consultation")
    return render(
        request,
        "packets/_reported_history.html",
        {
            "consultation": consultation,
            "history": history,
            "can_accept": can_accept,
            "medication_form": AcceptMedicationForm(),
        },
    )


def _back(consultation_id: int):
    return redirect(reverse("consultations:detail", args=[consultation_id]) + "#reported-history")


@require_POST
def accept_fact(request, consultation_id: int, fact_id: int):
    consultation = get_consultation_for_user(request, consultation_id, perm="consultations.change_consultation")
    try:
        services.reported_fact_accept(fact_id=fact_id, consultation=consultation, by=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, "Taken into the intake.")
    return _back(consultation.pk)


@require_POST
def accept_medication(request, consultation_id: int, medication_id: int):
    consultation = get_consultation_for_user(request, consultation_id, perm="consultations.change_consultation")
    form = AcceptMedicationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the medicine's interaction class before adding it.")
        return _back(consultation.pk)
    try:
        services.reported_medication_accept(
            medication_id=medication_id,
            consultation=consultation,
            by=request.user,
            interaction_class=form.cleaned_data["interaction_class"],
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, "Added to the intake's medicine list.")
    return _back(consultation.pk)


@require_http_methods(["GET", "POST"])
def corrections(request, packet_id: int):
    """The contact details the patient corrected in this packet, beside the record: the desk
    applies each to the record or dismisses it."""
    _require(request, "packets.add_packet")
    packet = get_object_or_404(Packet.objects.select_related("patient"), pk=packet_id)
    patient = get_patient_for_user(request, packet.patient_id)
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        field = request.POST.get("field", "")
        try:
            services.detail_correction_decide(packet=packet, field=field, decision=decision, by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            done = "applied to the record" if decision == services.APPLY else "dismissed"
            messages.success(request, f"Correction {done}.")
        return redirect("packets:corrections", packet.pk)
    audit.record_page_opened(
        request,
        action="packets.corrections.viewed",
        category=AuditEvent.Category.DEMOGRAPHICS,
        target=packet,
        patient=patient,
    )
    return render(
        request,
        "packets/corrections.html",
        {
            "patient": patient,
            "packet": packet,
            "corrections": services.pending_corrections(packet),
            "can_apply": request.user.has_perm("patients.change_patient"),
            "crumbs": _crumbs(patient, ("Contact corrections", None)),
        },
    )
