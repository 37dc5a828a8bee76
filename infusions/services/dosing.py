"""Dose calculation with every step, and the second clinician's independent verification."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from consultations import selectors as plan_selectors
from infusions import rules
from infusions.models import DoseCalculation, InfusionSession
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY, field_error, lock, require, require_unsigned
from infusions.services.lifecycle import CHANGE

S = rules.SessionStatus
VERIFY = "infusions.verify_dose"
# The dose may be (re)calculated until the infusion starts.
DOSING_STATUSES = (S.PRE_CHECK, S.CLEARED)


def calculate(
    session: InfusionSession, *, vial_mg_per_ml: Decimal, diluent_ml: Decimal, order=None
) -> rules.DoseCalculation:
    """The standing order's dose on today's weight (pre-check), through the pure rules.

    ``order`` is the version in force (read here when not given); the protocol's maximum
    still comes from the plan's protocol."""
    check = getattr(session, "pre_check", None) if session_selectors._has_pre_check(session) else None
    if check is None or check.weight_kg is None:
        raise ValidationError({"weight_kg": "Record today's weight in the pre-check first."})
    order = order or plan_selectors.current_order(session.plan)
    if order is None:
        raise ValidationError("The plan has no signed standing order: a prescriber signs it before the dose.")
    protocol = session.plan.protocol
    policy = session_selectors.policy()
    weight = rules.dosing_weight_kg(
        actual_kg=check.weight_kg,
        height_cm=check.height_cm,
        sex=getattr(session.patient, "sex_at_birth", "") or "",
        basis=order.weight_basis,
    )
    common = {
        "weight_kg": weight.weight_kg,
        "max_mg": order.max_dose_mg,
        "vial_mg_per_ml": vial_mg_per_ml,
        "diluent_ml": diluent_ml,
        "pump_limits": policy.pump_limits,
    }
    if order.dose_unit == "mg_per_kg_per_h":
        calc = rules.calculate_rate_dose(
            mg_per_kg_per_h=order.dose,
            duration_min=order.infusion_minutes,
            protocol_max_mg_per_kg_per_h=protocol.dose_max,
            **common,
        )
    else:
        calc = rules.calculate_dose(
            mg_per_kg=order.dose,
            protocol_max_mg_per_kg=protocol.dose_max,
            duration_min=order.infusion_minutes,
            **common,
        )
    # The weight-basis steps come first so the record shows how the weight was chosen.
    return rules.DoseCalculation(**{**_as_dict(calc), "steps": weight.steps[:-1] + calc.steps})


def _as_dict(calc: rules.DoseCalculation) -> dict:
    return {name: getattr(calc, name) for name in rules.DoseCalculation.__dataclass_fields__}


@transaction.atomic
def dose_calculate(*, session: InfusionSession, by, vial_mg_per_ml: Decimal, diluent_ml: Decimal) -> DoseCalculation:
    """Store a new calculation with every step; it replaces the previous one, whose
    verification therefore no longer applies to the dose in force."""
    require(by, CHANGE)
    locked = lock(session)
    require_unsigned(locked)
    if locked.status not in DOSING_STATUSES:
        raise ValidationError("The dose is calculated during the pre-check, before the infusion starts.")
    order = plan_selectors.current_order(locked.plan)
    try:
        calc = calculate(locked, vial_mg_per_ml=vial_mg_per_ml, diluent_ml=diluent_ml, order=order)
    except rules.DoseError as error:
        raise field_error(error) from error
    now = timezone.now()
    previous = DoseCalculation.objects.select_for_update().filter(session=locked, superseded_at__isnull=True).first()
    if previous is not None:
        previous.superseded_at = now
        previous.save(update_fields=["superseded_at"])
    values = _as_dict(calc)
    values["steps"] = list(calc.steps)
    row = DoseCalculation.objects.create(
        session=locked, order=order, fingerprint=calc.fingerprint, calculated_by=by, calculated_at=now, **values
    )
    audit.record(
        actor=by,
        action="infusions.dose.calculated",
        verb="create",
        category=AUDIT_CATEGORY,
        target=row,
        patient=locked.patient,
        changes={
            "order_version": order.number,
            "dose_mg": row.dose_mg,
            "rate_ml_per_h": row.rate_ml_per_h,
            "fingerprint": row.fingerprint,
            "replaced": previous.pk if previous else None,
            "voided_verification": bool(previous and previous.is_verified and previous.fingerprint != row.fingerprint),
        },
    )
    return row


@transaction.atomic
def dose_verify(*, calculation: DoseCalculation, by, fingerprint: str) -> DoseCalculation:
    """A second clinician's independent double check of exactly the calculation they saw
    (``fingerprint`` from the page): a dose changed meanwhile is refused."""
    require(by, VERIFY)
    row = DoseCalculation.objects.select_for_update().select_related("session__patient").get(pk=calculation.pk)
    require_unsigned(row.session)
    if row.superseded_at is not None or row.fingerprint != fingerprint:
        raise ValidationError("The dose changed since you opened it: check the new calculation.")
    if row.calculated_by_id == by.pk:
        raise ValidationError("The verification must be by a second clinician, not the one who calculated.")
    if row.is_verified:
        raise ValidationError("Already verified.")
    row.verified_by, row.verified_at, row.verified_fingerprint = by, timezone.now(), row.fingerprint
    row.save(update_fields=["verified_by", "verified_at", "verified_fingerprint"])
    audit.record(
        actor=by,
        action="infusions.dose.verified",
        verb="update",
        category=AUDIT_CATEGORY,
        target=row,
        patient=row.session.patient,
        changes={"fingerprint": row.fingerprint, "dose_mg": row.dose_mg},
    )
    return row
