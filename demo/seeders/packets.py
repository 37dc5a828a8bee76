"""Pre-visit packets for the coming intake consultations, in every state the desk sees: completed
(with a reported history for the clinician to accept), in progress, sent and not opened, expired,
withdrawn, and none sent (the home page's "lacks intake forms"). Through the packet's own services,
so each row is what a patient's link would have left. Synthetic; deterministic for a given seed."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from consultations.services.reported import reportable_facts
from demo.context import SeedContext
from packets import services
from packets.models import PacketReason
from packets.selectors import preparation_lines
from scheduling.models import Appointment, AppointmentStatus

STATES = ("completed", "completed", "in_progress", "in_progress", "sent", "expired", "withdrawn", "none")
REASONS = [PacketReason.DEPRESSION] * 4 + [PacketReason.ANXIETY, PacketReason.PTSD, PacketReason.FIBROMYALGIA]
MEDICINES = [
    ("Sertraline", "100 mg every morning"),
    ("Bupropion XL", "150 mg daily"),
    ("Lisinopril", "10 mg daily"),
    ("Levothyroxine", "50 mcg before breakfast"),
    ("Melatonin", "3 mg at night"),
]


def _answers(ctx: SeedContext) -> dict[str, bool | None]:
    """Mostly no, a few yes, a few not sure: what a patient with high blood pressure might say."""
    rng, answers = ctx.rng, {}
    for field, _ in reportable_facts():
        roll = rng.random()
        answers[field] = None if roll < 0.06 else roll < 0.12
    answers["hypertension"] = rng.random() < 0.5
    return answers


def _questionnaires(ctx: SeedContext, codes: list[str]) -> dict[str, list[int]]:
    rng = ctx.rng
    shapes = {"phq9": (9, 2), "gad7": (7, 2), "pcl5": (20, 2), "nrs_pain": (1, 7)}
    answers = {}
    for code in codes:
        items, high = shapes[code]
        values = [rng.randint(0, high) for _ in range(items)]
        if code == "phq9":
            values[-1] = 0  # item 9: the demo's safety alerts come from the follow-up seeder
        answers[code] = values
    return answers


def seed(ctx: SeedContext) -> None:
    desk = ctx.staff.get("frontdesk") or ctx.staff.get("admin")
    if desk is None:
        return
    now = timezone.now()
    upcoming = list(
        Appointment.objects.filter(
            pk__in=ctx.appointments.get("consultation", []),
            start__gt=now,
            status__in=(AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        )
        .select_related("patient")
        .order_by("start", "id")[: len(STATES) * 2]
    )
    seeded, seen = 0, set()
    for appointment, state in zip(upcoming, STATES * 2, strict=False):
        if appointment.patient_id in seen or state == "none":
            continue
        seen.add(appointment.patient_id)
        sent = now - timedelta(days=20 if state == "expired" else ctx.rng.randint(1, 6), hours=ctx.rng.randint(1, 9))
        new = services.packet_create(
            patient=appointment.patient,
            by=desk,
            reason=ctx.rng.choice(REASONS),
            appointment=appointment,
            now=sent,
        )
        packet, at = new.packet, sent + timedelta(hours=3)
        seeded += 1
        if state == "withdrawn":
            services.packet_revoke(packet=packet, by=desk)
            continue
        if state in ("sent", "expired"):
            continue
        patient = appointment.patient
        services.details_submit(
            packet=packet,
            details={
                **services.current_details(patient),
                "emergency_contact_name": patient.emergency_contact_name or ctx.fake.name(),
                "emergency_contact_phone": str(patient.emergency_contact_phone or "+12125550188"),
            },
            now=at,
        )
        services.history_submit(
            packet=packet, answers=_answers(ctx), medications=ctx.rng.sample(MEDICINES, ctx.rng.randint(1, 3)), now=at
        )
        if state == "in_progress":
            continue
        services.questionnaires_submit(packet=packet, answers=_questionnaires(ctx, packet.instruments), now=at)
        services.instructions_submit(
            packet=packet,
            text="\n".join(preparation_lines()),
            escort_name=patient.escort_name or ctx.fake.name(),
            escort_phone=str(patient.escort_phone or "+12125550177"),
            now=at,
        )
    ctx.counts["pre-visit packets"] = seeded
