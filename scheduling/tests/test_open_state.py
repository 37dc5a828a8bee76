"""Whether a site is open at an instant, and when it next opens (the chair board says so)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Closure
from scheduling.selectors import open_state
from scheduling.tests.factories import LocationFactory, ResourceFactory

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


@pytest.fixture
def site():
    # Monday–Friday 09:00–17:00; closed Wednesday 11 March 2026.
    location = LocationFactory(time_zone="America/New_York", hours=[(d, time(9), time(17)) for d in range(5)])
    Closure.objects.create(location=location, starts_on=date(2026, 3, 11), ends_on=date(2026, 3, 11), reason="Training")
    return location


@pytest.mark.parametrize(
    ("local", "is_open", "reason", "next_opens"),
    [
        (datetime(2026, 3, 10, 10, 0), True, "", None),
        (datetime(2026, 3, 10, 8, 59), False, "", datetime(2026, 3, 10, 9, 0)),
        (datetime(2026, 3, 10, 17, 0), False, "", datetime(2026, 3, 12, 9, 0)),  # Wednesday is closed
        (datetime(2026, 3, 11, 11, 0), False, "Training", datetime(2026, 3, 12, 9, 0)),
        (datetime(2026, 3, 14, 11, 0), False, "", datetime(2026, 3, 16, 9, 0)),  # Saturday
    ],
)
def test_open_state_by_hours_and_closures(site, local, is_open, reason, next_opens):
    state = open_state(site, local.replace(tzinfo=NY))
    assert state.open is is_open
    assert state.reason == reason
    assert state.next_opens == (next_opens.replace(tzinfo=NY) if next_opens else None)


def test_the_chair_board_says_the_clinic_is_closed_at_night(client, site, nurse):
    ResourceFactory(location=site, kind="chair", name="Chair 1")
    client.force_login(nurse)
    with time_machine.travel(datetime(2026, 3, 10, 22, 30, tzinfo=NY), tick=False):
        page = client.get(reverse("infusions:board", args=[site.pk])).content.decode()
    assert "is closed now; it opens Thursday 03/12/2026 at 9:00 AM." in page
    with time_machine.travel(datetime(2026, 3, 10, 11, 0, tzinfo=NY), tick=False):
        page = client.get(reverse("infusions:board", args=[site.pk])).content.decode()
    assert "is closed now" not in page
