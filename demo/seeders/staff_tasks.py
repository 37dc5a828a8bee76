"""Tasks between staff: a few open ones on every role's home (one overdue), one done and one
cancelled, so the panels and the patient page show what they are for."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.roles import Role
from demo.context import SeedContext
from patients.models import Patient
from staff_tasks.models import Task


def _staff(ctx: SeedContext, *names: str):
    return next((ctx.staff[n] for n in names if n in ctx.staff), None)


def seed(ctx: SeedContext) -> None:
    desk = _staff(ctx, "frontdesk", "admin")
    nurse = _staff(ctx, "nurse", "nurse.okafor")
    prescriber = _staff(ctx, "clinician", "dr.chen")
    admin = _staff(ctx, "admin") or prescriber
    patients = list(Patient.objects.filter(pk__in=ctx.patient_ids, status=Patient.Status.ACTIVE).order_by("pk")[:6])
    if desk is None or nurse is None or prescriber is None or len(patients) < 6:
        ctx.counts["staff tasks"] = 0
        return
    now = timezone.now().replace(second=0, microsecond=0)
    # Written as rows, not through task_create: the seeding runs in one transaction, and the
    # overdue example is due before now on purpose (the service refuses a past due time).
    specs = [
        # kind, patient, created_by, assignee, role, summary, clinical note, due in hours
        (
            Task.Kind.CALLBACK,
            patients[0],
            desk,
            None,
            Role.NURSE,
            "Patient asks for a call about how to prepare for Thursday's infusion",
            "",
            -1,
        ),
        (
            Task.Kind.CALLBACK,
            patients[1],
            desk,
            nurse,
            "",
            "Call back: wants to know whether to take her morning medicines",
            "",
            3,
        ),
        (
            Task.Kind.PRESCRIBER_REQUEST,
            patients[2],
            nurse,
            prescriber,
            "",
            "Review before the next infusion",
            "Pre-infusion blood pressure above the usual range at the last two visits; please review the plan.",
            20,
        ),
        (
            Task.Kind.FORM_TO_CHASE,
            patients[3],
            prescriber,
            None,
            Role.FRONT_DESK,
            "Ask the patient to complete the questionnaire link before the follow-up",
            "",
            26,
        ),
        (Task.Kind.OTHER, None, admin, None, Role.FRONT_DESK, "Confirm the chair 3 recliner repair visit", "", 48),
    ]
    created = []
    for kind, patient, by, assignee, role, summary, note, hours in specs:
        created.append(
            Task(
                kind=kind,
                patient=patient,
                created_by=by,
                assignee=assignee,
                assignee_role=role,
                summary=summary,
                clinical_note=note,
                due_at=now + timedelta(hours=hours),
            )
        )
    created.append(
        Task(
            kind=Task.Kind.FORM_TO_CHASE,
            patient=patients[4],
            created_by=nurse,
            assignee_role=Role.FRONT_DESK,
            summary="Signed consent form to bring in",
            due_at=now - timedelta(days=1),
            status=Task.Status.DONE,
            closed_at=now - timedelta(hours=20),
            closed_by=desk,
        )
    )
    created.append(
        Task(
            kind=Task.Kind.CALLBACK,
            patient=patients[5],
            created_by=desk,
            assignee=nurse,
            summary="Call back about rescheduling",
            due_at=now - timedelta(days=2),
            status=Task.Status.CANCELLED,
            cancel_reason="Patient rebooked at the desk",
            closed_at=now - timedelta(days=2, hours=-1),
            closed_by=desk,
        )
    )
    Task.objects.bulk_create(created)
    ctx.counts["staff tasks"] = len(created)
