"""Reads of packets. The front desk's reads carry progress only (step times), never the answers;
the clinician's read carries the answers beside the intake."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q
from django.utils import timezone

from assessments.models import InstrumentResponse
from consultations.choices import InteractionClass
from consultations.models import Consultation
from consultations.services.reported import reportable_facts
from core.formatting import clock
from infusions.selectors.sessions import policy as infusion_policy
from packets import hooks, rules
from packets.models import Packet, ReportedFact, ReportedMedication
from packets.policy import link_policy
from scheduling.access import in_their_locations
from scheduling.models import Appointment, AppointmentStatus

PROGRESS_FIELDS = (
    "id",
    "patient_id",
    "appointment_id",
    "created_at",
    "expires_at",
    "sent_channels",
    "opened_at",
    "revoked_at",
    "completed_at",
    "dob_failures",
    "details_changed",
    *(f"{step}_at" for step in rules.STEPS),
)
INTAKE_TYPE = "consultation"
WAITING = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED, AppointmentStatus.CHECKED_IN)
LOOKAHEAD_DAYS = 7  # the desk's list covers the coming week


def scoped_packet(packet_id: Any) -> Packet | None:
    if not isinstance(packet_id, int):
        return None
    return Packet.objects.select_related("patient").filter(pk=packet_id).first()


def preparation_lines() -> list[str]:
    """The fasting and escort instructions with the clinic's own fasting intervals."""
    p = infusion_policy()
    return rules.preparation_instructions(
        clear_liquids_min=p.npo_clear_liquids_min,
        light_meal_min=p.npo_light_meal_min,
        fatty_meal_min=p.npo_fatty_meal_min,
    )


def steps() -> tuple[str, ...]:
    return rules.steps_of(consent_online=hooks.consent_online())


@dataclass(frozen=True)
class Progress:
    """What the desk may see of a packet: when it was sent and which steps are done."""

    packet: Packet
    state: str
    steps: list[tuple[str, bool]]  # (label, done)

    @property
    def text(self) -> str:
        return self.state


def progress(packet: Packet, *, now: datetime) -> Progress:
    wanted = steps()
    done = packet.done_steps()
    if packet.revoked_at:
        state = "Withdrawn"
    elif packet.completed_at:
        state = "Completed"
    elif now >= packet.expires_at:
        state = f"Expired ({rules.progress_text(done, wanted)})"
    elif packet.dob_failures >= link_policy().dob_max_failures:
        state = "Locked"
    elif not packet.opened_at and not done:
        state = "Sent, not opened"
    else:
        state = f"In progress: {rules.progress_text(done, wanted)}"
    return Progress(packet, state, [(rules.STEP_LABELS[s], s in done) for s in wanted])


def patient_packets(*, patient_id: int, now: datetime, limit: int = 5) -> list[Progress]:
    # With the reported details: the panel counts the contact corrections still to review.
    rows = (
        Packet.objects.filter(patient_id=patient_id)
        .only(*PROGRESS_FIELDS, "reported_details", "details_decisions")
        .order_by("-created_at", "-id")[:limit]
    )
    return [progress(p, now=now) for p in rows]


def _latest_by_patient(patient_ids: Iterable[int]) -> dict[int, Packet]:
    latest: dict[int, Packet] = {}
    rows = (
        Packet.objects.filter(patient_id__in=set(patient_ids), revoked_at=None)
        .only(*PROGRESS_FIELDS)
        .order_by("patient_id", "-created_at", "-id")
    )
    for packet in rows:
        latest.setdefault(packet.patient_id, packet)
    return latest


def paperwork_states(appointment_ids: list[int]) -> dict[int, str]:
    """The scheduling hook: "Intake forms: …" for each intake consultation whose patient has not
    completed a packet. Two queries for the whole list."""
    appointments = list(
        Appointment.objects.filter(pk__in=appointment_ids, appointment_type__code=INTAKE_TYPE).values_list(
            "pk", "patient_id"
        )
    )
    if not appointments:
        return {}
    latest = _latest_by_patient(p for _, p in appointments)
    now = timezone.now()
    states = {}
    for pk, patient_id in appointments:
        packet = latest.get(patient_id)
        if packet is None:
            states[pk] = "Lacks intake forms: not sent"
        elif not packet.completed_at:
            states[pk] = f"Lacks intake forms: {progress(packet, now=now).state.lower()}"
    return states


@dataclass(frozen=True)
class LackingRow:
    appointment: Appointment
    state: str
    packet: Packet | None


def lacking_forms(*, today: date, limit: int = 20, user=None) -> list[LackingRow]:
    """Intake consultations of the coming week whose patient has not completed a packet: the
    front desk's list (two queries), of ``user``'s locations when given."""
    zone_start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    intakes = Appointment.objects.all() if user is None else in_their_locations(user, Appointment.objects.all())
    appointments = list(
        intakes.filter(
            appointment_type__code=INTAKE_TYPE,
            status__in=WAITING,
            start__gte=zone_start,
            start__lt=zone_start + timedelta(days=LOOKAHEAD_DAYS),
        )
        .select_related("patient")
        .only(
            "id",
            "start",
            "status",
            "patient__id",
            "patient__legal_first_name",
            "patient__legal_last_name",
            "patient__preferred_name",
            "patient__mrn",
        )
        .order_by("start", "id")[: limit * 3]
    )
    latest = _latest_by_patient(a.patient_id for a in appointments)
    now = timezone.now()
    rows = []
    for appointment in appointments:
        packet = latest.get(appointment.patient_id)
        if packet is not None and packet.completed_at:
            continue
        state = "Not sent" if packet is None else progress(packet, now=now).state
        rows.append(LackingRow(appointment, state, packet))
    return rows[:limit]


# --- The clinician's read: what the patient reported, beside the intake ------------------


@dataclass(frozen=True)
class FactRow:
    fact: ReportedFact
    label: str
    answer: str
    recorded: str  # what the intake holds now
    matches: bool


@dataclass(frozen=True)
class ReportedHistory:
    packet: Packet
    facts: list[FactRow]
    medications: list[ReportedMedication]
    responses: list[InstrumentResponse]
    interaction_classes: list[tuple[str, str]]

    @property
    def pending(self) -> int:
        return sum(
            1 for r in self.facts if r.fact.accepted_at is None and not r.matches and r.fact.answer is not None
        ) + sum(1 for m in self.medications if m.accepted_at is None)


def _word(value: bool | None, none: str) -> str:
    return none if value is None else ("Yes" if value else "No")


def reported_history(consultation: Consultation) -> ReportedHistory | None:
    """The patient's latest packet with a history step, its answers in the intake's order (four queries)."""
    packet = (
        Packet.objects.filter(patient_id=consultation.patient_id, history_at__isnull=False)
        .prefetch_related(
            Prefetch("facts", queryset=ReportedFact.objects.order_by("id")),
            Prefetch("medications", queryset=ReportedMedication.objects.order_by("id")),
        )
        .order_by("-history_at", "-id")
        .first()
    )
    if packet is None:
        return None
    labels = dict(reportable_facts())
    by_field = {f.field: f for f in packet.facts.all()}
    facts = []
    for field, label in labels.items():
        fact = by_field.get(field)
        if fact is None:
            continue
        recorded = getattr(consultation, field)
        facts.append(
            FactRow(
                fact=fact,
                label=label,
                answer=_word(fact.answer, "Not sure"),
                recorded=_word(recorded, "Not recorded"),
                matches=fact.answer is not None and recorded == fact.answer,
            )
        )
    responses = list(
        InstrumentResponse.objects.filter(
            Q(subject_type=ContentType.objects.get_for_model(Packet), subject_id=packet.pk)
        ).order_by("instrument")
    )
    return ReportedHistory(
        packet=packet,
        facts=facts,
        medications=list(packet.medications.all()),
        responses=responses,
        interaction_classes=list(InteractionClass.choices),
    )


def upcoming_intakes(*, patient_id: int, now: datetime) -> list[tuple[int, str]]:
    """The patient's booked intake consultations to come, as (id, local date and time) choices."""
    rows = (
        Appointment.objects.filter(
            patient_id=patient_id, appointment_type__code=INTAKE_TYPE, status__in=WAITING, start__gte=now
        )
        .select_related("location")
        .only("id", "start", "location__time_zone", "location__name")
        .order_by("start")[:10]
    )
    choices = []
    for a in rows:
        local = timezone.localtime(a.start, a.location.zone)
        choices.append((a.pk, f"{local:%a %m/%d/%Y}, {clock(local)} at {a.location.name}"))
    return choices


def patient_appointment(*, patient_id: int, pk: int | None) -> Appointment | None:
    """The patient's own booked intake consultation ``pk`` (None for none, or another patient's)."""
    if pk is None:
        return None
    return Appointment.objects.filter(pk=pk, patient_id=patient_id, appointment_type__code=INTAKE_TYPE).first()
