"""Booster suggestions from the maintenance rule, and the clinician's decision."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from accounts.prescribing import require_prescriber
from assessments import selectors as assessment_selectors
from assessments.instruments import change
from assessments.models import InstrumentResponse, ResponseContext
from core.audit import Verb
from followups import rules
from followups.models import BoosterSuggestion, FollowUpVisit, SuggestionStatus
from followups.services._common import AUDIT_CATEGORY, policy_current

DECIDE = "followups.decide_boostersuggestion"


@transaction.atomic
def booster_evaluate(*, response: InstrumentResponse) -> BoosterSuggestion | None:
    """Run the maintenance rule on a new PHQ-9; open a suggestion if it fires (one open at a time)."""
    policy = policy_current()
    if not policy.booster_enabled or response.instrument != "phq9":
        return None
    patient = response.patient
    baseline = assessment_selectors.baseline_response(patient=patient, code="phq9")
    if baseline is None or response.context == ResponseContext.BASELINE:
        return None

    earlier = InstrumentResponse.objects.filter(
        patient=patient, instrument="phq9", administered_at__gt=baseline.administered_at
    ).exclude(pk=response.pk)
    had_response = any(change("phq9", baseline.total, r.total).response for r in earlier.only("total")[:200])
    advice = rules.booster_advice(
        baseline_total=baseline.total,
        current_total=response.total,
        fraction_percent=policy.booster_fraction_percent,
        min_baseline=policy.booster_min_baseline,
        had_response=had_response,
    )
    if not advice.suggest or BoosterSuggestion.objects.filter(patient=patient, status=SuggestionStatus.OPEN).exists():
        return None
    try:
        with transaction.atomic():
            suggestion = BoosterSuggestion.objects.create(
                patient=patient,
                response=response,
                baseline_total=baseline.total,
                current_total=response.total,
                fraction_percent=policy.booster_fraction_percent,
                reason=advice.reason[:300],
            )
    except IntegrityError:  # a concurrent evaluation opened one first
        return None
    audit.record(
        actor=None,
        action="followups.booster.suggested",
        verb=Verb.CREATE,
        category=AUDIT_CATEGORY,
        target=suggestion,
        patient=patient,
        changes={"baseline": baseline.total, "current": response.total},
    )
    return suggestion


def _booster_from_visit(*, visit: FollowUpVisit, by: User) -> BoosterSuggestion:
    """A booster decided at the visit goes straight to the front desk's list: an open rule
    suggestion is accepted, otherwise an accepted one is recorded for the visit."""
    now = timezone.now()
    reason = f"Booster decided at {visit}."
    open_one = BoosterSuggestion.objects.select_for_update().filter(patient=visit.patient, status=SuggestionStatus.OPEN)
    suggestion = open_one.first()
    if suggestion is not None:
        suggestion.status, suggestion.decided_by, suggestion.decided_at = SuggestionStatus.ACCEPTED, by, now
        suggestion.decision_reason, suggestion.visit = reason, visit
        suggestion.save(update_fields=["status", "decided_by", "decided_at", "decision_reason", "visit"])
    else:
        suggestion = BoosterSuggestion.objects.create(
            patient=visit.patient,
            visit=visit,
            reason=reason,
            status=SuggestionStatus.ACCEPTED,
            decided_by=by,
            decided_at=now,
            decision_reason=reason,
        )
    audit.record(
        actor=by,
        action="followups.booster.accepted",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=suggestion,
        patient=visit.patient,
        changes={"visit": visit.pk},
    )
    return suggestion


@transaction.atomic
def booster_decide(*, suggestion: BoosterSuggestion, by: User, accept: bool, reason: str = "") -> BoosterSuggestion:
    """Accept (the front desk may then book it) or dismiss with a reason."""
    require_prescriber(by, DECIDE, action="Deciding on a booster (ordering more sessions)")
    locked = BoosterSuggestion.objects.select_for_update().get(pk=suggestion.pk)
    target = SuggestionStatus.ACCEPTED if accept else SuggestionStatus.DISMISSED
    if target not in BoosterSuggestion.TRANSITIONS.get(locked.status, set()):
        raise ValidationError("This suggestion has already been decided.")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError({"reason": "Say why the booster is not needed."})
    locked.status, locked.decided_by, locked.decided_at, locked.decision_reason = target, by, timezone.now(), reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(
        actor=by,
        action=f"followups.booster.{target}",
        verb=Verb.UPDATE,
        category=AUDIT_CATEGORY,
        target=locked,
        patient=locked.patient,
        changes={"status": target, "reason": reason},
    )
    return locked
