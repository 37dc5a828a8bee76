"""The patients' other clinicians: a small directory (one retired), care teams with their
authorisations to share (one revoked), a progress letter waiting for signature and one signed
and issued, and integration visits around the infusions with signed notes."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from care_team import services
from care_team.models import AdjunctNote, CareTeamMember, OutsideProvider, ProgressLetter, SharingAuthorisation
from consultations.models import TreatmentPlan
from demo.context import SeedContext
from infusions.models import InfusionSession
from scheduling.models import Appointment, Resource

# Synthetic clinicians: the NPIs pass the check digit (Luhn with the 80840 prefix) and are not real.
PROVIDERS = [
    (
        "Dr Helen Marsh",
        "psychiatrist",
        "1245319599",
        "Riverside Psychiatry",
        "(555) 010-3100",
        "marsh@riverside.example",
    ),
    ("Jordan Ellis, LCSW", "therapist", "1003000126", "Harbour Counselling", "(555) 010-3200", "ellis@harbour.example"),
    ("Dr Priya Raman", "primary_care", "1003000134", "Elm Street Family Medicine", "(555) 010-3300", ""),
    ("Dr Marcus Webb", "psychiatrist", "1003000142", "Northside Behavioral Health", "(555) 010-3400", ""),
    (
        "Sam Ortega, LMFT",
        "therapist",
        "1003000159",
        "Clearwater Therapy",
        "(555) 010-3500",
        "intake@clearwater.example",
    ),
    ("Dr Ada Fischer", "primary_care", "", "Old Town Clinic (closed)", "", ""),
]


def _staff(ctx: SeedContext, *names: str):
    return next((ctx.staff[n] for n in names if n in ctx.staff), None)


def seed(ctx: SeedContext) -> None:
    nurse = _staff(ctx, "nurse", "nurse.okafor")
    prescriber = _staff(ctx, "clinician", "dr.chen")
    desk = _staff(ctx, "frontdesk", "admin") or nurse
    if nurse is None or prescriber is None:
        ctx.counts["outside clinicians"] = 0
        return
    now = timezone.now()
    providers = []
    for name, role, npi, practice, fax, email in PROVIDERS:
        provider, _ = OutsideProvider.objects.get_or_create(
            name=name,
            defaults={
                "role": role,
                "npi": npi,
                "practice": practice,
                "secure_fax": fax,
                "secure_email": email,
                "created_by": nurse,
            },
        )
        providers.append(provider)
    retired = providers[-1]
    if retired.retired_at is None:
        OutsideProvider.objects.filter(pk=retired.pk).update(retired_at=now - timedelta(days=40), retired_by=nurse)
    ctx.counts["outside clinicians"] = len(providers)

    # Patients on a course with completed sessions: each gets a psychiatrist and a therapist.
    plan_ids = list(
        InfusionSession.objects.filter(patient_id__in=ctx.patient_ids, status__in=["discharged", "signed"])
        .values_list("plan_id", flat=True)
        .distinct()
        .order_by("plan_id")[:6]
    )
    plans = list(TreatmentPlan.objects.filter(pk__in=plan_ids).select_related("patient").order_by("pk"))
    authorisations: list[SharingAuthorisation] = []
    for n, plan in enumerate(plans):
        patient = plan.patient
        for provider, relationship in ((providers[n % 2 * 3], "psychiatrist"), (providers[1 + n % 2 * 3], "therapist")):
            member, _ = CareTeamMember.objects.get_or_create(
                patient=patient,
                provider=provider,
                relationship=relationship,
                ended_at=None,
                defaults={"added_by": nurse, "added_at": now - timedelta(days=60)},
            )
            authorisation = SharingAuthorisation.objects.filter(
                member=member
            ).first() or SharingAuthorisation.objects.create(
                patient=patient,
                member=member,
                scope="progress" if relationship == "psychiatrist" else "attendance",
                signed_on=timezone.localdate() - timedelta(days=60),
                recorded_by=nurse,
                recorded_at=now - timedelta(days=60),
            )
            authorisations.append(authorisation)
        CareTeamMember.objects.get_or_create(
            patient=patient,
            provider=providers[2],
            relationship="primary_care",
            ended_at=None,
            defaults={"added_by": desk, "added_at": now - timedelta(days=60)},
        )
    ctx.counts["care-team members"] = CareTeamMember.objects.filter(patient_id__in=ctx.patient_ids).count()
    if not authorisations:
        return

    # One therapist's authorisation revoked by the patient.
    revoked = authorisations[-1]
    if revoked.revoked_at is None:
        SharingAuthorisation.objects.filter(pk=revoked.pk).update(
            revoked_at=now - timedelta(days=3), revoked_by=nurse, revoke_reason="Signed revocation form at the desk"
        )
    # A letter waiting for the prescriber, and one signed and issued (each to a psychiatrist).
    psychiatrists = [a for a in authorisations if a.member.relationship == "psychiatrist"]
    if not ProgressLetter.objects.filter(patient_id__in=ctx.patient_ids).exists() and psychiatrists:
        with transaction.atomic():
            draft = services.letter_draft(member=psychiatrists[0].member, by=nurse)
            ProgressLetter.objects.filter(pk=draft.pk).update(
                plan_text="Induction complete with a good response. We suggest monthly boosters for three months."
            )
        if len(psychiatrists) > 1:
            letter = services.letter_draft(member=psychiatrists[1].member, by=nurse)
            services.letter_sign(
                letter=letter,
                by=prescriber,
                plan_text="Six infusions completed and well tolerated. Boosters as needed; next review in a month.",
            )
    ctx.counts["progress letters"] = ProgressLetter.objects.filter(patient_id__in=ctx.patient_ids).count()

    # Integration visits: the day after a completed infusion, in a consult room, with a signed note.
    adjunct = services.adjunct_type()
    made = 0
    for plan in plans[:4]:
        session = (
            InfusionSession.objects.filter(plan=plan, status__in=["discharged", "signed"])
            .select_related("appointment__location")
            .order_by("-appointment__start")
            .first()
        )
        if session is None or Appointment.objects.filter(patient=plan.patient, appointment_type=adjunct).exists():
            continue
        infusion = session.appointment
        rooms = list(Resource.objects.filter(location=infusion.location, kind="room", active=True))
        for hours in (24, 25, 26, 27, 48):
            start = infusion.start + timedelta(hours=hours)
            placed = None
            for room in rooms:
                try:
                    with transaction.atomic():
                        placed = Appointment.objects.create(
                            patient=plan.patient,
                            appointment_type=adjunct,
                            location=infusion.location,
                            resource=room,
                            clinician=None,
                            start=start,
                            end=start + timedelta(minutes=adjunct.default_minutes),
                            status="completed" if start < now else "booked",
                            clinician_exclusive=False,
                            created_by=desk,
                        )
                except IntegrityError:
                    continue
                break
            if placed is not None:
                if placed.start < now:
                    AdjunctNote.objects.create(
                        patient=plan.patient,
                        appointment=placed,
                        text="Integration: talked through the imagery of the last infusion; mood steadier, "
                        "sleeping better. Agreed to keep a short journal before the next session.",
                        author=nurse,
                        created_at=placed.end,
                        signed_at=placed.end + timedelta(minutes=10),
                        signed_by=nurse,
                        content_sha256="0" * 64,
                    )
                made += 1
                break
    ctx.counts["integration visits"] = made
