"""Who may open what in the follow-up stage. Clinical content needs the object permission
and ``patients.view_clinical_record``; the front desk sees only that a questionnaire is
outstanding and which boosters are ready to book."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from followups import selectors
from followups.models import BoosterSuggestion, FollowUpVisit, SafetyAlert

CLINICAL = "patients.view_clinical_record"
SESSION_PENDING = "followups_pending"  # token matched, date of birth not yet checked
SESSION_LINK = "followups_link"  # the scoped self-report session: the link id and nothing else
SESSION_DONE = "followups_done"  # after submitting: whether to stress crisis resources


def require_clinical(request, *perms: str) -> None:
    if not all(request.user.has_perm(p) for p in (*perms, CLINICAL)):
        raise PermissionDenied


def get_visit_for_user(request, visit_id: int, *, perm: str = "followups.view_followupvisit") -> FollowUpVisit:
    require_clinical(request, perm)
    visit = selectors.visit_detail(visit_id)
    if visit is None:
        raise Http404("No such follow-up note.")
    return visit


def get_alert_for_user(request, alert_id: int) -> SafetyAlert:
    require_clinical(request, "followups.view_safetyalert")
    alert = selectors.alert_detail(alert_id)
    if alert is None:
        raise Http404("No such alert.")
    return alert


def get_suggestion_for_user(request, suggestion_id: int) -> BoosterSuggestion:
    require_clinical(request, "followups.decide_boostersuggestion")
    suggestion = BoosterSuggestion.objects.select_related("patient").filter(pk=suggestion_id).first()
    if suggestion is None:
        raise Http404("No such suggestion.")
    return suggestion
