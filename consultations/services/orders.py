"""Writes of standing orders: a prescriber signs each version; a change is a new version."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from consultations.choices import PlanStatus
from consultations.lifecycle import ORDER_FIELDS, dose_problems, first_order_content, order_change_problems
from consultations.models import StandingOrder, TreatmentPlan
from consultations.selectors import current_order
from consultations.services.intake import AUDIT_CATEGORY, _require
from core.audit import Verb
from prescribers.selectors import signature_text

SIGN = "consultations.change_treatmentplan"


def _content(order: StandingOrder) -> dict[str, Any]:
    return {name: getattr(order, name) for name in ORDER_FIELDS}


@transaction.atomic
def order_sign(
    *, plan: TreatmentPlan, by: User, reason: str = "", changes: dict[str, Any] | None = None
) -> StandingOrder:
    """Sign the next version of ``plan``'s standing order.

    The first version is the plan as drafted (``changes`` may add the minimum interval, PRN
    rescue medications or a lower rate ceiling). Each later version starts from the one in
    force, applies ``changes`` and needs a ``reason``; the one in force is marked superseded
    and stays readable. The signer's credential and NPI are copied onto the version.
    """
    _require(by)
    require_prescriber(by, SIGN, action="Signing a standing order")
    locked = TreatmentPlan.objects.select_for_update(of=("self",)).select_related("protocol", "patient").get(pk=plan.pk)
    if locked.status in (PlanStatus.DISCONTINUED, PlanStatus.COMPLETED):
        raise ValidationError(f"The plan is {PlanStatus(locked.status).label.lower()}: it takes no new order.")
    current = current_order(locked)
    base = _content(current) if current is not None else first_order_content(locked)
    unknown = set(changes or {}) - set(ORDER_FIELDS)
    if unknown:
        raise ValidationError(f"Not part of a standing order: {', '.join(sorted(unknown))}.")
    proposed = {**base, **(changes or {})}
    reason = reason.strip()[:300]
    if current is not None:
        problems = order_change_problems(current=base, proposed=proposed, reason=reason)
        if problems:
            raise ValidationError(problems)
    protocol = locked.protocol
    proposed["dose_override_reason"] = (proposed.get("dose_override_reason") or "").strip()[:300]
    if "dose_override_reason" not in (changes or {}) and proposed["dose"] <= protocol.dose_max:
        proposed["dose_override_reason"] = ""  # back within the usual range: the override ends
    if problems := dose_problems(
        protocol=protocol,
        dose=proposed["dose"],
        infusion_minutes=proposed["infusion_minutes"],
        override_reason=proposed["dose_override_reason"],
        max_rate_mg_per_kg_per_h=proposed["max_rate_mg_per_kg_per_h"],
    ):
        raise ValidationError(problems)
    now = timezone.now()
    if current is not None:
        current.superseded_at = now
        current.save(update_fields=["superseded_at"])
    order = StandingOrder(
        plan=locked,
        number=current.number + 1 if current is not None else 1,
        dose_unit=locked.dose_unit,
        reason=reason,
        signed_by=by,
        signed_at=now,
        signed_credential=signature_text(by),
        **proposed,
    )
    try:
        order.full_clean(exclude=["plan", "signed_by"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from error
    order.save(force_insert=True)
    audit.record(
        actor=by,
        action="consultations.order.signed",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=order,
        patient=locked.patient,
        changes={
            "plan": locked.pk,
            "version": order.number,
            "reason": reason,
            "before": {k: str(v) for k, v in base.items()} if current is not None else {},
            "after": {k: str(v) for k, v in proposed.items()},
            "signed_credential": order.signed_credential,
            **(
                {"dose_override": {"reason": order.dose_override_reason, "credential": order.signed_credential}}
                if order.dose_override_reason
                else {}
            ),
        },
    )
    return order
