"""seed_demo's infusion day: completed series with flowsheets, a deferral, a stop, chairs today."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from infusions.models import AdverseEvent, DoseCalculation, FlowsheetReading, InfusionSession


@pytest.mark.django_db
def test_the_demo_has_every_kind_of_infusion_day():
    call_command("seed_demo", patients=120, seed=11, allow_demo_accounts=True)
    statuses = set(InfusionSession.objects.values_list("status", flat=True))
    assert {"discharged", "deferred"} <= statuses
    stopped = InfusionSession.objects.filter(stop_reason_code="adverse_event").get()
    assert AdverseEvent.objects.filter(session=stopped).get().drugs.exists()
    completed = InfusionSession.objects.filter(status="discharged", stop_reason_code="").first()
    assert FlowsheetReading.objects.filter(session=completed, phase="intra").count() >= 4
    assert FlowsheetReading.objects.filter(session=completed, phase="post").exists()
    dose = DoseCalculation.objects.get(session=completed)
    assert dose.is_verified
    assert dose.verified_by_id != dose.calculated_by_id
