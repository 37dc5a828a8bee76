"""seed_demo's follow-ups: trajectories of every kind, notes, suggestions and open alerts."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from followups import selectors
from followups.models import BoosterSuggestion, FollowUpVisit, QuestionnaireLink, SafetyAlert


@pytest.mark.django_db
def test_the_demo_has_trajectories_suggestions_and_unacknowledged_alerts():
    call_command("seed_demo", patients=150, seed=11, allow_demo_accounts=True)
    assert SafetyAlert.objects.filter(acknowledged_at=None).count() >= 1
    assert FollowUpVisit.objects.filter(status="signed").exists()
    assert BoosterSuggestion.objects.exists()
    assert QuestionnaireLink.objects.filter(completed_at=None).exists()
    alert = SafetyAlert.objects.select_related("patient").first()
    traj = selectors.trajectory(alert.patient)
    phq9 = next(o for o in traj.outcomes if o.code == "phq9")
    assert len(phq9.points) >= 3
    assert phq9.change is not None
