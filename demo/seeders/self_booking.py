"""Online booking and the waitlist: a patient's online request waiting for the desk's approval and
a few patients waiting for an earlier intake consultation, so the online-bookings page and the
patient page show what they are for. Written through the services, like the desk's own clicks."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from demo.context import SeedContext
from patients.models import Patient
from scheduling.models import AppointmentType, Location, SelfBookingLink
from scheduling.selectors import self_booking as selectors
from scheduling.services import SchedulingError
from scheduling.services import self_booking as services


def seed(ctx: SeedContext) -> None:
    desk = next((ctx.staff[n] for n in ("frontdesk", "admin") if n in ctx.staff), None)
    # A fresh install has the intake consultation self-bookable from its migration; the demo says
    # it again, so a database emptied by a test shows the same.
    AppointmentType.objects.filter(code="consultation").update(self_bookable=True)
    consultation = AppointmentType.objects.filter(code="consultation", active=True).first()
    sites = list(Location.objects.filter(active=True).order_by("name"))
    patients = list(Patient.objects.filter(pk__in=ctx.patient_ids, status=Patient.Status.ACTIVE).order_by("-pk")[:12])
    ctx.counts["online requests"] = ctx.counts["waitlist entries"] = 0
    if desk is None or consultation is None or not sites or len(patients) < 6:
        return
    # One request booked from a link, held for the desk's approval (the policy's default).
    for patient in patients[:4]:
        new = services.self_booking_link_issue(patient=patient, by=desk)
        SelfBookingLink.objects.filter(pk=new.link.pk).update(verified_at=timezone.now())
        slots = selectors.self_booking_slots(
            appointment_type=consultation,
            location=sites[0],
            patient=patient,
            after=timezone.now() + timedelta(days=ctx.rng.randint(3, 9)),
            limit=3,
        )
        if not slots:
            continue
        try:
            outcome = services.self_booking_book(
                link_id=new.link.pk,
                appointment_type=consultation,
                location=sites[0],
                start=slots[-1].start,
                clinician_id=slots[-1].clinician_id,
            )
        except SchedulingError:
            continue
        if outcome.appointment is not None:
            ctx.counts["online requests"] = 1
            break
    # Patients waiting for an earlier intake consultation, one of whom asked from their own link.
    waiting = 0
    for i, patient in enumerate(patients[4:8]):
        site = sites[i % len(sites)]
        before = ctx.today + timedelta(days=10 + 3 * i) if i % 2 else None
        try:
            if i == 3:
                link = services.self_booking_link_issue(patient=patient, by=desk)
                SelfBookingLink.objects.filter(pk=link.link.pk).update(verified_at=timezone.now())
                services.waitlist_join_by_patient_link(
                    link_id=link.link.pk, appointment_type=consultation, location=site, before=before
                )
            else:
                services.waitlist_entry_create(
                    patient=patient, appointment_type=consultation, location=site, before=before, by=desk
                )
        except SchedulingError:
            continue
        waiting += 1
    ctx.counts["waitlist entries"] = waiting
