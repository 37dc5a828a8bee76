"""Writes of treatment plans: creation from a signed consultation and the status lifecycle."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from assessments.instruments import INSTRUMENTS
from consultations import selectors
from consultations.choices import PROCEED_DECISIONS, PlanStatus
from consultations.lifecycle import dose_problems, plan_transition_problem
from consultations.models import Consultation, PlanStatusChange, Protocol, TreatmentPlan
from consultations.plan_checks import completion_problems
from consultations.services.intake import AUDIT_CATEGORY, _require
from consultations.services.orders import order_sign
from core.audit import Verb
from prescribers.selectors import signature_text


@transaction.atomic
def plan_create(
    *,
    consultation: Consultation,
    by: User,
    indication: str,
    protocol: Protocol,
    dose,
    infusion_minutes: int,
    weight_basis: str,
    max_dose_mg,
    sessions_planned: int,
    sessions_per_week: int,
    measurement_schedule: dict[str, list[str]],
    notes: str = "",
    dose_override_reason: str = "",
) -> TreatmentPlan:
    """A draft plan from a signed consultation whose decision is to proceed. A dose above the
    protocol's usual range needs the prescriber's ``dose_override_reason``; the clinic's
    ceilings (rate, duration) refuse whatever the reason."""
    _require(by)
    require_prescriber(by, "consultations.add_treatmentplan", action="Writing a treatment plan (the standing order)")
    locked = Consultation.objects.select_related("patient").get(pk=consultation.pk)
    if not locked.is_signed:
        raise ValidationError("Sign the consultation before planning treatment.")
    if locked.decision not in PROCEED_DECISIONS:
        raise ValidationError("The signed decision is not eligible: no treatment plan can be created.")
    if indication not in locked.indications:
        raise ValidationError({"indication": "Choose an indication recorded in the consultation."})
    if not protocol.active or indication not in protocol.indications:
        raise ValidationError({"protocol": "This protocol is not available for the chosen indication."})
    dose_override_reason = dose_override_reason.strip()[:300]
    if problems := dose_problems(
        protocol=protocol, dose=dose, infusion_minutes=infusion_minutes, override_reason=dose_override_reason
    ):
        raise ValidationError(problems)

    schedule = {moment: [c for c in codes if c in INSTRUMENTS] for moment, codes in measurement_schedule.items()}
    plan = TreatmentPlan(
        consultation=locked,
        patient=locked.patient,
        indication=indication,
        protocol=protocol,
        dose=dose,
        dose_unit=protocol.dose_unit,
        infusion_minutes=infusion_minutes,
        weight_basis=weight_basis,
        max_dose_mg=max_dose_mg,
        dose_override_reason=dose_override_reason,
        sessions_planned=sessions_planned,
        sessions_per_week=sessions_per_week,
        measurement_schedule=schedule,
        notes=notes.strip(),
        created_by=by,
    )
    plan.full_clean()
    plan.save(force_insert=True)
    PlanStatusChange.objects.create(plan=plan, from_status="", to_status=PlanStatus.DRAFT, by=by, at=timezone.now())
    audit.record(
        actor=by,
        action="consultations.plan.created",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=plan,
        patient=locked.patient,
        changes={
            "consultation": locked.pk,
            "protocol": protocol.pk,
            "dose": str(dose),
            "dose_unit": protocol.dose_unit,
            "max_dose_mg": str(max_dose_mg),
            "sessions_planned": sessions_planned,
            "sessions_per_week": sessions_per_week,
            **(
                {"dose_override": {"reason": dose_override_reason, "credential": signature_text(by)}}
                if dose_override_reason
                else {}
            ),
        },
    )
    return plan


@transaction.atomic
def plan_transition(
    *, plan: TreatmentPlan, to_status: str, by: User, reason: str = "", expected_version: int | None = None
) -> TreatmentPlan:
    """Move a plan along ``lifecycle.PLAN_TRANSITIONS``; record who, when and why."""
    _require(by)
    require_prescriber(by, "consultations.change_treatmentplan", action="Changing a treatment plan")
    locked = TreatmentPlan.objects.select_for_update(of=("self",)).select_related("patient").get(pk=plan.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ValidationError("Someone else changed this plan a moment ago. Reload and try again.")
    reason = reason.strip()[:300]
    problem = plan_transition_problem(current=locked.status, target=to_status, reason=reason)
    if problem:
        raise ValidationError({"reason" if problem == "Give a reason." else "to_status": problem})
    if to_status == PlanStatus.COMPLETED and (problems := completion_problems(locked)):
        raise ValidationError({"to_status": problems})
    if to_status in (PlanStatus.ACTIVE, PlanStatus.MAINTENANCE) and selectors.has_live_plan(
        locked.patient, exclude=locked.pk
    ):
        raise ValidationError({"to_status": "The patient already has a live plan: complete or discontinue it first."})
    now = timezone.now()
    from_status = locked.status
    locked.status = to_status
    locked.status_changed_at = now
    locked.version += 1
    try:
        with transaction.atomic():
            locked.save(update_fields=["status", "status_changed_at", "version"])
    except IntegrityError as exc:  # the one-live-plan constraint lost a race
        raise ValidationError({"to_status": "The patient already has a live plan."}) from exc
    PlanStatusChange.objects.create(
        plan=locked, from_status=from_status, to_status=to_status, by=by, at=now, reason=reason
    )
    if to_status == PlanStatus.ACTIVE and selectors.current_order(locked) is None:
        # Activating the plan is the prescriber ordering it: the plan as drafted becomes the
        # first signed version of its standing order.
        order_sign(plan=locked, by=by)
    audit.record(
        actor=by,
        action=f"consultations.plan.{to_status}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": [from_status, to_status], **({"reason": reason} if reason else {})},
    )
    return locked


def plan_viewed(*, plan: TreatmentPlan, by: User) -> None:
    audit.record_read(
        actor=by, action="consultations.plan.viewed", target=plan, patient=plan.patient, category=AUDIT_CATEGORY
    )
