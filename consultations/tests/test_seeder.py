"""seed_demo's consultations: every state, real screening results, hashes that verify."""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.management import call_command

from consultations import selectors
from consultations.models import Consultation, TreatmentPlan


@pytest.mark.django_db
def test_the_demo_has_consultations_in_every_state_and_plans_that_follow_the_calendar():
    call_command("seed_demo", patients=150, seed=11, allow_demo_accounts=True)
    states = Counter(Consultation.objects.values_list("status", "decision"))
    for state in (("draft", ""), ("signed", "eligible"), ("signed", "eligible_override"), ("signed", "ineligible")):
        assert states[state], state
    assert Consultation.objects.filter(status="draft", screened_at__isnull=False).exists()  # awaiting decision
    overridden = Consultation.objects.filter(decision="eligible_override")
    assert all(c.justifications and c.screening_outcome == "needs_review" for c in overridden)
    assert Consultation.objects.filter(decision="ineligible", screening_outcome="ineligible").exists()
    assert not TreatmentPlan.objects.filter(consultation__decision="ineligible").exists()
    plan_states = set(TreatmentPlan.objects.values_list("status", flat=True))
    assert {"active", "completed", "maintenance"} <= plan_states
    for consultation in Consultation.objects.filter(status="signed")[:40]:
        assert selectors.verify_signature(consultation)
    signed = Consultation.objects.filter(status="signed").first()
    assert signed.signed_content["instruments"]
    assert signed.patient.instrument_responses.exists()
