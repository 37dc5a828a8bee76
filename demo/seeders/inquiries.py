"""Inquiries: a handful waiting in each state of the desk's queue (new, contacted, booked, closed)
and, for the conversion report, the inquiry most registered patients came in through, a week or
three before their intake consultation. Synthetic (Faker); no real person's data."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from demo.context import SeedContext
from inquiries import rules
from inquiries.models import Inquiry, InquiryContact
from patients.models import ContactLogEntry, Patient
from scheduling.models import Appointment, Location

REASONS = [rules.Reason.DEPRESSION] * 5 + [
    rules.Reason.ANXIETY,
    rules.Reason.PTSD,
    rules.Reason.PTSD,
    rules.Reason.CHRONIC_PAIN,
    rules.Reason.CHRONIC_PAIN,
    rules.Reason.NOT_SURE,
]
# Share of patients with an intake consultation who first reached out through the form.
CAME_THROUGH_THE_FORM = 0.6
CLOSED = [
    (rules.CloseReason.NOT_INTERESTED, ""),
    (rules.CloseReason.UNREACHABLE, ""),
    (rules.CloseReason.NOT_SUITABLE, ""),
    (rules.CloseReason.OTHER, "Asked for a clinic nearer home"),
]


def _phone(ctx: SeedContext) -> str:
    return f"+1{ctx.rng.choice(['212', '312', '415', '617'])}55501{ctx.rng.randint(0, 99):02d}"  # fictional


def _stranger(ctx: SeedContext, *, at, sites: list[Location]) -> Inquiry:
    rng, fake = ctx.rng, ctx.fake
    first, last = fake.first_name(), fake.last_name()
    referred = rng.random() < 0.25
    by_email = rng.random() < 0.6
    return Inquiry(
        who=rules.Who.REFERRER if referred and rng.random() < 0.4 else rules.Who.SELF,
        first_name=first,
        last_name=last,
        date_of_birth=fake.date_of_birth(minimum_age=19, maximum_age=75),
        phone=_phone(ctx),
        email=f"{first}.{last}{rng.randint(1, 99)}@example.com".lower() if by_email else "",
        contact_by_phone=True,
        contact_by_sms=rng.random() < 0.5,
        contact_by_email=by_email,
        reason=rng.choice(REASONS),
        referrer_name=f"Dr. {fake.last_name()}" if referred else "",
        preferred_location=rng.choice(sites) if sites and rng.random() < 0.7 else None,
        submitted_at=at,
    )


def _from_patient(ctx: SeedContext, patient: Patient, *, at, location: Location | None) -> Inquiry:
    return Inquiry(
        who=rules.Who.SELF,
        first_name=patient.legal_first_name,
        last_name=patient.legal_last_name,
        date_of_birth=patient.date_of_birth,
        phone=patient.phone or _phone(ctx),
        email=patient.email,
        contact_by_phone=True,
        contact_by_email=bool(patient.email),
        reason=ctx.rng.choice(REASONS),
        preferred_location=location,
        submitted_at=at,
        status=rules.Status.BOOKED,
        status_changed_at=at + timedelta(days=2),
        patient=patient,
        linked_at=at + timedelta(days=1),
    )


def seed(ctx: SeedContext) -> None:
    desk = ctx.staff.get("frontdesk") or ctx.staff.get("admin")
    now = timezone.now().replace(second=0, microsecond=0)
    sites = list(Location.objects.filter(active=True).order_by("name"))
    rng = ctx.rng
    rows: list[Inquiry] = []

    # Registered patients who came in through the form: each intake consultation's patient, once.
    consults = (
        Appointment.objects.filter(pk__in=ctx.appointments.get("consultation", []))
        .select_related("patient", "location")
        .order_by("start", "id")
    )
    seen: set[int] = set()
    for appointment in consults:
        if appointment.patient_id in seen or rng.random() > CAME_THROUGH_THE_FORM:
            continue
        seen.add(appointment.patient_id)
        at = min(appointment.start, now) - timedelta(days=rng.randint(7, 21), hours=rng.randint(0, 9))
        rows.append(_from_patient(ctx, appointment.patient, at=at, location=appointment.location))

    # Strangers who never became patients, spread over the same months: closed with a reason.
    months = 18
    for _ in range(max(6, len(rows) // 3)):
        at = now - timedelta(days=rng.randint(10, months * 30), hours=rng.randint(0, 12))
        reason, note = rng.choice(CLOSED)
        row = _stranger(ctx, at=at, sites=sites)
        row.status, row.status_changed_at, row.close_reason, row.close_note = (
            rules.Status.CLOSED,
            at + timedelta(days=rng.randint(2, 14)),
            reason,
            note,
        )
        rows.append(row)

    # The queue today: new ones from the last days, contacted ones waiting for a call back.
    new = [_stranger(ctx, at=now - timedelta(hours=rng.randint(1, 70)), sites=sites) for _ in range(5)]
    contacted = [_stranger(ctx, at=now - timedelta(days=rng.randint(2, 8)), sites=sites) for _ in range(4)]
    for row in contacted:
        row.status, row.status_changed_at = rules.Status.CONTACTED, row.submitted_at + timedelta(days=1)
    rows += new + contacted
    if desk is not None:
        for row in rows:
            if row.status != rules.Status.NEW:
                row.status_changed_by = desk
            if row.patient_id is not None:
                row.linked_by = desk
    Inquiry.objects.bulk_create(rows)

    if desk is None:
        ctx.counts["inquiries"] = len(rows)
        return
    # Contact attempts: the contacted ones and the booked ones; a booked one's are in the patient's log too.
    attempts, log = [], []
    for row in rows:
        if row.status not in (rules.Status.CONTACTED, rules.Status.BOOKED):
            continue
        channel = row.channels[0]
        first = InquiryContact(
            inquiry=row,
            at=row.submitted_at + timedelta(hours=rng.randint(2, 20)),
            by=desk,
            channel=channel,
            outcome=InquiryContact.Outcome.NO_ANSWER if row.status == rules.Status.CONTACTED else "reached",
            note="Left a voicemail with the clinic's number" if row.status == rules.Status.CONTACTED else "",
        )
        attempts.append(first)
    InquiryContact.objects.bulk_create(attempts)
    for attempt in attempts:
        if attempt.inquiry.patient is not None:
            log.append(
                ContactLogEntry(
                    patient=attempt.inquiry.patient,
                    at=attempt.at,
                    by=desk,
                    channel=attempt.channel,
                    direction=ContactLogEntry.Direction.OUTBOUND,
                    summary=attempt.log_summary,
                )
            )
    ContactLogEntry.objects.bulk_create(log)
    ctx.counts["inquiries"] = len(rows)
