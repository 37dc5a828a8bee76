"""Reads of the care team: each owns its query shape, so a page's query count is decided here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.urls import reverse

from care_team.models import (
    AdjunctNote,
    CareTeamMember,
    OutsideProvider,
    ProgressLetter,
    SharingAuthorisation,
)
from consultations.choices import PlanStatus
from consultations.models import TreatmentPlan
from infusions.models import InfusionSession
from patients.access import has_chart_perms
from scheduling.hooks import RecordLink
from scheduling.models import Appointment, AppointmentType


def providers(*, query: str = "", include_retired: bool = False) -> QuerySet[OutsideProvider]:
    """The directory, searchable by name, practice or NPI."""
    qs = OutsideProvider.objects.all()
    if not include_retired:
        qs = qs.filter(retired_at__isnull=True)
    query = query.strip()
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(practice__icontains=query) | Q(npi__startswith=query))
    return qs.order_by("name", "id")


def provider(pk: int) -> OutsideProvider | None:
    return OutsideProvider.objects.filter(pk=pk).first()


def members(patient_id: int) -> list[CareTeamMember]:
    """The patient's care team (current first), each with its authorisations, in two queries."""
    return list(
        CareTeamMember.objects.filter(patient_id=patient_id)
        .select_related("provider")
        .prefetch_related(
            Prefetch(
                "authorisations",
                queryset=SharingAuthorisation.objects.order_by("-signed_on", "-id"),
                to_attr="authorisation_list",
            )
        )
        .order_by("ended_at", "relationship", "id")
    )


def team_rows(patient_id: int, *, today) -> list[dict[str, Any]]:
    """Each member of the care team with its deciding authorisation and where that stands today."""
    rows = []
    for found in members(patient_id):
        authorisations: list[SharingAuthorisation] = getattr(found, "authorisation_list", [])
        current = authorisations[0] if authorisations else None
        rows.append(
            {
                "member": found,
                "authorisation": current,
                "state": current.state(today) if current is not None else "",
                "state_label": current.state_label(today) if current is not None else "No authorisation on file",
            }
        )
    return rows


def current_members(patient_id: int) -> list[CareTeamMember]:
    return list(CareTeamMember.objects.filter(patient_id=patient_id, ended_at__isnull=True).order_by("id"))


def member(pk: int) -> CareTeamMember | None:
    return CareTeamMember.objects.select_related("provider", "patient").filter(pk=pk).first()


def authorisation(pk: int) -> SharingAuthorisation | None:
    return SharingAuthorisation.objects.select_related("member__provider", "patient").filter(pk=pk).first()


def current_authorisation(member: CareTeamMember) -> SharingAuthorisation | None:
    """The member's latest authorisation (revoked or not): the one that decides."""
    return SharingAuthorisation.objects.filter(member=member).order_by("-signed_on", "-id").first()


def course_plan(patient_id: int) -> TreatmentPlan | None:
    """The course a letter reports on: the live plan, else the latest that left draft."""
    plans = TreatmentPlan.objects.filter(patient_id=patient_id).exclude(status=PlanStatus.DRAFT)
    live = plans.filter(status__in=[PlanStatus.ACTIVE, PlanStatus.ON_HOLD, PlanStatus.MAINTENANCE])
    return (live.order_by("-created_at").first()) or plans.order_by("-created_at").first()


def plan_for_letters(plan_id: int) -> TreatmentPlan | None:
    return TreatmentPlan.objects.filter(pk=plan_id).first()


def completed_sessions(plan: TreatmentPlan) -> int:
    """Signed infusion sessions of the course (a stopped-early session that was signed counts)."""
    return InfusionSession.objects.filter(plan=plan, status=InfusionSession.Status.SIGNED).count()


def _letters() -> QuerySet[ProgressLetter]:
    return ProgressLetter.objects.select_related(
        "patient", "recipient__provider", "authorisation", "signed_by", "drafted_by", "document"
    ).defer("document__pdf", "document__snapshot")


def letter(pk: int) -> ProgressLetter | None:
    return _letters().select_related("plan__protocol").filter(pk=pk).first()


def patient_letters(patient_id: int, *, limit: int = 20) -> list[ProgressLetter]:
    return list(_letters().filter(patient_id=patient_id).order_by("-drafted_at", "-id")[:limit])


def letters_to_sign() -> QuerySet[ProgressLetter]:
    """Every draft letter, oldest first (the clinicians' worklist)."""
    return _letters().filter(status=ProgressLetter.Status.DRAFT).order_by("drafted_at", "id")


def adjunct_appointments(patient_id: int, *, limit: int = 20) -> list[Appointment]:
    """The patient's integration and psychotherapy visits, latest first, with their notes."""
    return list(
        Appointment.objects.filter(patient_id=patient_id, appointment_type__code=AppointmentType.Code.ADJUNCT)
        .select_related("appointment_type", "location", "resource", "clinician", "adjunct_note")
        .order_by("-start", "-id")[:limit]
    )


def adjunct_appointment(pk: int) -> Appointment | None:
    return (
        Appointment.objects.select_related("appointment_type", "location", "resource", "clinician", "patient")
        .filter(pk=pk, appointment_type__code=AppointmentType.Code.ADJUNCT)
        .first()
    )


def adjunct_note(appointment: Appointment) -> AdjunctNote | None:
    return (
        AdjunctNote.objects.select_related("author", "signed_by")
        .prefetch_related("amendments__author")
        .filter(appointment=appointment)
        .first()
    )


def adjunct_counts(patient_id: int, since=None) -> dict[str, int]:
    """How many adjunct visits the patient attended, has booked, and how many notes are signed."""
    qs = Appointment.objects.filter(patient_id=patient_id, appointment_type__code=AppointmentType.Code.ADJUNCT)
    if since is not None:
        qs = qs.filter(start__gte=since)
    return qs.aggregate(
        attended=Count("id", filter=Q(status__in=["completed", "in_progress", "checked_in"])),
        booked=Count("id", filter=Q(status__in=["booked", "confirmed"])),
        signed_notes=Count("adjunct_note", filter=Q(adjunct_note__signed_at__isnull=False)),
    )


def adjunct_booking_initial(patient_id: int, after: str | None) -> dict:
    """The booking form's first values: from an infusion appointment of this patient (``after``),
    the same wall time on the next day at the same site; otherwise nothing chosen."""
    if not after or not after.isascii() or not after.isdigit():
        return {}
    infusion = (
        Appointment.objects.select_related("location")
        .filter(pk=int(after), patient_id=patient_id)
        .only("start", "location__id", "location__time_zone", "clinician_id")
        .first()
    )
    if infusion is None:
        return {}
    zone = infusion.location.zone
    local = infusion.start.astimezone(zone)
    next_day = local.date() + timedelta(days=1)
    return {"day": next_day, "time": local.time().replace(second=0, microsecond=0), "location": infusion.location}


def appointment_record_links(appointment, user) -> list[RecordLink]:
    """Registered with ``scheduling.hooks``: an infusion's page offers to book an integration visit
    the day after (to whoever books); an integration visit's page links to its note (clinical staff)."""
    code = appointment.appointment_type.code
    if code in ("infusion", "booster") and user.has_perm("scheduling.add_appointment"):
        url = reverse("care_team:adjunct-book", args=[appointment.patient_id]) + f"?after={appointment.pk}"
        return [RecordLink("Book an integration visit the day after", url)]
    if code == AppointmentType.Code.ADJUNCT and has_chart_perms(
        user, "care_team.view_adjunctnote", "patients.view_clinical_record", patient_id=appointment.patient_id
    ):
        return [RecordLink("Integration visit note", reverse("care_team:adjunct-note", args=[appointment.pk]))]
    return []
