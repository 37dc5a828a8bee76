"""Dose calculation with every step, and the second clinician's independent verification."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import PrescriberRequired, prescriber_refusal
from consultations import selectors as plan_selectors
from consultations.choices import DoseUnit
from consultations.lifecycle import dose_range_problems, ordered_rate_mg_per_kg_per_h
from core.audit import Verb
from infusions import rules
from infusions.models import DoseCalculation, InfusionSession
from infusions.selectors import sessions as session_selectors
from infusions.services._common import AUDIT_CATEGORY, CHANGE, field_error, lock, require, require_unsigned

S = rules.SessionStatus
VERIFY = "infusions.verify_dose"
# The permission that marks the prescriber role at the chair (held with current credentials).
VERIFY_AS_PRESCRIBER = "infusions.override_precheck"
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
    # The protocol's usual range, as when the order was signed: a dose above it stands only
    # on a prescriber's override recorded on the order (the protocol's range may have been
    # narrowed since); the clinic's ceilings hold either way.
    if problem := usual_range_problem(order, protocol):
        raise ValidationError({"dose": problem})
    protocol_max = order.dose if order.dose_override_reason and order.dose > protocol.dose_max else protocol.dose_max
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
        "limits": policy.dosing_limits,
    }
    if order.dose_unit == "mg_per_kg_per_h":
        calc = rules.calculate_rate_dose(
            mg_per_kg_per_h=order.dose,
            duration_min=order.infusion_minutes,
            protocol_max_mg_per_kg_per_h=protocol_max,
            **common,
        )
    else:
        calc = rules.calculate_dose(
            mg_per_kg=order.dose,
            protocol_max_mg_per_kg=protocol_max,
            duration_min=order.infusion_minutes,
            **common,
        )
    # The weight-basis steps come first so the record shows how the weight was chosen.
    return rules.DoseCalculation(**{**_as_dict(calc), "steps": weight.steps[:-1] + calc.steps})


NEEDS_PRESCRIBER = "needs a prescriber"


def usual_range_problem(order, protocol) -> str:
    """Why the order's dose may not be calculated against the protocol's usual range ("" when
    it may): above it without a prescriber's recorded override, the nurse is told it needs a
    prescriber (and may request one)."""
    problems = dose_range_problems(
        dose=order.dose,
        dose_min=protocol.dose_min,
        dose_max=protocol.dose_max,
        unit=DoseUnit(order.dose_unit).label.split(" ")[0],
        override_reason=order.dose_override_reason if order.dose > protocol.dose_max else "",
    )
    if "dose" not in problems or order.dose <= protocol.dose_max:
        return ""
    return (
        f"{problems['dose']} The order in force records no override: this {NEEDS_PRESCRIBER}, "
        "who signs a new version of the order (request one below)."
    )


def order_ceiling_problems(
    *, dose: Decimal, dose_unit: str, infusion_minutes: int, max_rate_mg_per_kg_per_h: Decimal | None = None
) -> dict[str, str]:
    """The clinic's ceilings on a plan or an order, by its form's fields, through the same rule
    as the calculation and the flowsheet (``rules.limit_problems``). A plan or an order has no
    bag yet, so the smallest infusion volume is checked when the dose is calculated."""
    limits = session_selectors.policy().dosing_limits
    implied = ordered_rate_mg_per_kg_per_h(dose=dose, dose_unit=dose_unit, infusion_minutes=infusion_minutes)
    found = rules.limit_problems(duration_min=Decimal(infusion_minutes), mg_per_kg_per_h=implied, limits=limits)
    problems = {}
    if "duration_min" in found:
        problems["infusion_minutes"] = f"Infusion time: {found['duration_min']}."
    if "mg_per_kg_per_h" in found:
        problems["dose"] = f"Dose: runs at {found['mg_per_kg_per_h']}."
    if max_rate_mg_per_kg_per_h is not None and (
        ceiling := rules.limit_problems(
            duration_min=Decimal(infusion_minutes), mg_per_kg_per_h=max_rate_mg_per_kg_per_h, limits=limits
        ).get("mg_per_kg_per_h")
    ):
        problems["max_rate_mg_per_kg_per_h"] = f"Rate ceiling: {ceiling}."
    return problems


def _text(value) -> str:
    return "" if value is None else format(Decimal(value).normalize(), "f")


def dose_inputs(
    session: InfusionSession, *, vial_mg_per_ml: Decimal, diluent_ml: Decimal, order=None
) -> dict[str, str]:
    """Everything a calculation rests on, as text: the plan and the version of its signed
    standing order, today's pre-check weight and height, sex at birth, and the order's weight
    basis, dose, duration and caps, the vial and the diluent. A calculation is current only
    while these are what it recorded, so a new order version voids it like a corrected weight."""
    check = getattr(session, "pre_check", None) if session_selectors._has_pre_check(session) else None
    plan = session.plan
    order = order or plan_selectors.current_order(plan)
    return {
        "plan": str(plan.pk),
        "order_version": str(order.number) if order else "",
        "weight_kg": _text(check.weight_kg if check else None),
        "height_cm": _text(check.height_cm if check else None),
        "sex_at_birth": getattr(session.patient, "sex_at_birth", "") or "",
        "weight_basis": order.weight_basis if order else "",
        "dose": _text(order.dose if order else None),
        "dose_unit": order.dose_unit if order else "",
        "duration_min": str(order.infusion_minutes) if order else "",
        "max_mg": _text(order.max_dose_mg if order else None),
        "protocol_max": _text(plan.protocol.dose_max),
        "vial_mg_per_ml": _text(vial_mg_per_ml),
        "diluent_ml": _text(diluent_ml),
    }


def inputs_sha256(inputs: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


INPUT_LABELS = {
    "plan": "the treatment plan",
    "order_version": "the standing order's version",
    "weight_kg": "weight",
    "height_cm": "height",
    "sex_at_birth": "sex at birth",
    "weight_basis": "weight basis",
    "dose": "the order's dose",
    "dose_unit": "the dose unit",
    "duration_min": "duration",
    "max_mg": "the maximum dose",
    "protocol_max": "the protocol maximum",
    "vial_mg_per_ml": "vial concentration",
    "diluent_ml": "diluent",
}


def changed_inputs(session: InfusionSession, dose: DoseCalculation) -> list[str]:
    """The inputs of ``dose`` that differ from today's (labels; [] when it is current). A
    calculation stored before its inputs were recorded counts as resting on unknown ones."""
    now = dose_inputs(session, vial_mg_per_ml=dose.vial_mg_per_ml, diluent_ml=dose.diluent_ml)
    if dose.inputs_sha256 == inputs_sha256(now):
        return []
    if not dose.inputs:
        return ["inputs not recorded"]
    return [INPUT_LABELS[k] for k in now if dose.inputs.get(k) != now[k]]


def dose_void(*, session: InfusionSession, by: User, reason: str) -> DoseCalculation | None:
    """Supersede the calculation in force (with its verification), audited; the caller holds
    the session lock. Returns the voided row, or None when there was none."""
    current = DoseCalculation.objects.select_for_update().filter(session=session, superseded_at__isnull=True).first()
    if current is None:
        return None
    current.superseded_at = timezone.now()
    current.save(update_fields=["superseded_at"])
    audit.record(
        actor=by,
        action="infusions.dose.voided",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=current,
        patient=session.patient,
        changes={"reason": reason, "was_verified": current.is_verified},
    )
    return current


def _as_dict(calc: rules.DoseCalculation) -> dict:
    return {name: getattr(calc, name) for name in rules.DoseCalculation.__dataclass_fields__}


@transaction.atomic
def dose_calculate(
    *, session: InfusionSession, by: User, vial_mg_per_ml: Decimal, diluent_ml: Decimal
) -> DoseCalculation:
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
    inputs = dose_inputs(locked, vial_mg_per_ml=vial_mg_per_ml, diluent_ml=diluent_ml, order=order)
    row = DoseCalculation.objects.create(
        session=locked,
        order=order,
        fingerprint=calc.fingerprint,
        plan=locked.plan,
        inputs=inputs,
        inputs_sha256=inputs_sha256(inputs),
        calculated_by=by,
        calculated_at=now,
        **values,
    )
    audit.record(
        actor=by,
        action="infusions.dose.calculated",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=row,
        patient=locked.patient,
        changes={
            "order_version": order.number if order is not None else None,
            "dose_mg": row.dose_mg,
            "rate_ml_per_h": row.rate_ml_per_h,
            "fingerprint": row.fingerprint,
            "replaced": previous.pk if previous else None,
            "voided_verification": bool(previous and previous.is_verified and previous.fingerprint != row.fingerprint),
        },
    )
    return row


def verify_refusal(session: InfusionSession, by: User, *, policy=None) -> str:
    """Why ``by`` may not be the dose's second clinician under the clinic's policy ("" when they
    may): where the policy has a prescriber verify every dose, a nurse (or a prescriber whose
    credentials are not current for the clinic) may not. The page asks it before offering the
    button; the service refuses with it."""
    policy = policy or session_selectors.policy()
    if policy.nurse_may_verify_dose:
        return ""
    return prescriber_refusal(
        by,
        VERIFY_AS_PRESCRIBER,
        action="Verifying the dose (this clinic's policy has a prescriber verify it)",
        location=session.appointment.location,
    )


@transaction.atomic
def dose_verify(*, calculation: DoseCalculation, by: User, fingerprint: str) -> DoseCalculation:
    """A second clinician's independent double check of exactly the calculation they saw
    (``fingerprint`` from the page): a dose changed meanwhile is refused."""
    require(by, VERIFY)
    # Session first, then the calculation: the order dose_calculate takes them in.
    session = lock(calculation.session)
    row = DoseCalculation.objects.select_for_update().select_related("session__patient").get(pk=calculation.pk)
    require_unsigned(row.session)
    if row.superseded_at is not None or row.fingerprint != fingerprint:
        raise ValidationError("The dose changed since you opened it: check the new calculation.")
    if changed := changed_inputs(session, row):
        raise ValidationError(
            f"This calculation rests on values changed since ({', '.join(changed)}): recalculate before verifying."
        )
    if row.calculated_by_id == by.pk:
        raise ValidationError("The verification must be by a second clinician, not the one who calculated.")
    if refusal := verify_refusal(session, by):
        raise PrescriberRequired(refusal)
    if row.is_verified:
        raise ValidationError("Already verified.")
    row.verified_by, row.verified_at, row.verified_fingerprint = by, timezone.now(), row.fingerprint
    row.save(update_fields=["verified_by", "verified_at", "verified_fingerprint"])
    audit.record(
        actor=by,
        action="infusions.dose.verified",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=row,
        patient=row.session.patient,
        changes={"fingerprint": row.fingerprint, "dose_mg": row.dose_mg},
    )
    return row
