"""Who may open what in the follow-up stage. Clinical content needs the object permission
and ``patients.view_clinical_record``; the front desk sees only that a questionnaire is
outstanding and which boosters are ready to book."""

from __future__ import annotations

from followups import selectors
from followups.models import BoosterSuggestion, FollowUpVisit, SafetyAlert
from patients.access import CLINICAL, get_chart_object

SESSION_PENDING = "followups_pending"  # token matched, date of birth not yet checked
SESSION_LINK = "followups_link"  # the scoped self-report session: the link id and nothing else
SESSION_DONE = "followups_done"  # after submitting: whether to stress crisis resources


def get_visit_for_user(request, visit_id: int, *, perm: str = "followups.view_followupvisit") -> FollowUpVisit:
    return get_chart_object(
        request, lambda: selectors.visit_detail(visit_id), perm, CLINICAL, missing="No such follow-up note."
    )


def get_alert_for_user(request, alert_id: int) -> SafetyAlert:
    return get_chart_object(
        request,
        lambda: selectors.alert_detail(alert_id),
        "followups.view_safetyalert",
        CLINICAL,
        missing="No such alert.",
    )


def get_suggestion_for_user(request, suggestion_id: int) -> BoosterSuggestion:
    return get_chart_object(
        request,
        lambda: BoosterSuggestion.objects.select_related("patient").filter(pk=suggestion_id).first(),
        "followups.decide_boostersuggestion",
        CLINICAL,
        missing="No such suggestion.",
    )
