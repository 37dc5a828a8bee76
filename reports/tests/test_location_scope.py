"""Reports of a user scoped to some locations are about one of those locations at a time."""

from __future__ import annotations

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
