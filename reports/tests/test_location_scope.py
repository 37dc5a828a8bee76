"""Reports of a user scoped to some locations are about one of those locations at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def test_a_scoped_clinician_reports_on_their_own_location_only(client, nurse, scope_to):
    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    client.force_login(scope_to(nurse, south))
    url = reverse("reports:clinical-quality")
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    assert [loc.name for loc in form.fields["location"].queryset] == ["South"]
    assert form.cleaned_data["location"] == south  # never "All locations"
    refused = client.get(url, {"location": north.pk})
    assert refused.status_code == 400
    assert refused.context["sections"] == []
    assert "location" in refused.context["form"].errors


def test_chain_wide_staff_still_report_on_every_location(client, nurse):
    LocationFactory(name="North")
    client.force_login(nurse)
    page = client.get(reverse("reports:clinical-quality"))
    assert page.status_code == 200
    assert page.context["form"].cleaned_data["location"] is None


def test_a_scoped_administrators_home_counts_their_location_and_its_ledger(client, scope_to):
    from django.utils import timezone

    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from controlled_substances.tests.factories import registration
    from scheduling.tests.factories import AppointmentFactory

    north, south = LocationFactory(name="North"), LocationFactory(name="South")
    now = timezone.now()
    for site, n in ((north, 2), (south, 1)):
        AppointmentFactory.create_batch(n, location=site, start=now, end=now + timedelta(hours=1))
    ours = registration(dea_number="FA1234563", location=south, expires_on=timezone.localdate())
    registration(dea_number="BM1234563", location=north, expires_on=timezone.localdate())
    administrator = UserFactory(username="admin.south", role=Role.ADMINISTRATOR)
    client.force_login(administrator)  # chain-wide: both locations
    home = client.get(reverse("home")).context
    assert home["figures"][0]["value"] == 3
    assert len(home["ledger_reminders"]) == 2
    client.force_login(scope_to(administrator, south))
    home = client.get(reverse("home")).context
    assert home["figures"][0]["value"] == 1
    assert "South" in home["figures"][3]["detail"]
    assert [s.registration.pk for s in home["ledger_reminders"]] == [ours.pk]
