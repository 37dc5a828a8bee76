"""Safety alerts and time to acknowledgement.

Three PHQ-9 item-9 alerts in the week: acknowledged after 30 and 90 minutes, one still open
→ raised 3, acknowledged 2, open 1, median 60.0 minutes, longest 90.0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from followups.models import SafetyAlert
from followups.tests.factories import alert_for
from patients.tests.factories import PatientFactory
from reports.selectors.compliance import safety_alerts
from reports.tests.conftest import filters

pytestmark = pytest.mark.django_db


def test_time_to_acknowledge_by_reason(clinician):
    for day, minutes in ((3, 30), (4, 90), (5, None)):
        at = datetime(2026, 2, day, 15, 0, tzinfo=UTC)
        with time_machine.travel(at, tick=False):
            alert = alert_for(patient=PatientFactory())
        if minutes is not None:
            SafetyAlert.objects.filter(pk=alert.pk).update(
                acknowledged_at=alert.created_at + timedelta(minutes=minutes),
                acknowledged_by=clinician,
                action="called_patient",
            )
    rows = safety_alerts(filters()).rows
    assert len(rows) == 1
    row = rows[0]
    assert (row["raised"], row["acknowledged"], row["open"]) == (3, 2, 1)
    assert (row["median_minutes"], row["longest_minutes"]) == (Decimal("60.0"), Decimal("90.0"))


def test_no_alerts_no_rows(db):
    assert safety_alerts(filters()).rows == []
