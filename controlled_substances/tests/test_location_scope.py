"""A controlled-substance manager scoped to one location keeps that location's ledger only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from controlled_substances.tests.factories import container, manager, registration
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites():
    north, south = LocationFactory(name="North", time_zone="UTC"), LocationFactory(name="South", time_zone="UTC")
    here = registration(dea_number="FA1234563", location=south)
    there = registration(dea_number="BM1234563", location=north)
    return {"here": here, "there": there}


def test_a_scoped_manager_sees_and_opens_only_their_locations_stock(client, scope_to, sites):
    by = manager(username="cs.keeper")
    ours = container(by=by, at=sites["here"], lot_number="OURS1")
    theirs = container(by=by, at=sites["there"], lot_number="THEIRS1")
    client.force_login(scope_to(manager(username="cs.south"), sites["here"].location))
    home = client.get(reverse("controlled_substances:index"))
    assert home.status_code == 200
    assert [c.pk for c in home.context["containers"]] == [ours.pk]
    assert [s.registration.pk for s in home.context["registrations"]] == [sites["here"].pk]
    assert [r["containers"] for r in home.context["products"] if r["containers"]] == [1]
    assert client.get(reverse("controlled_substances:container-detail", args=[ours.pk])).status_code == 200
    assert client.get(reverse("controlled_substances:container-detail", args=[theirs.pk])).status_code == 403
    # A report naming another location's registration falls back to theirs, never shows it.
    report = client.get(reverse("controlled_substances:report-balances"), {"registration": sites["there"].pk})
    assert report.context["registration"] == sites["here"]
    assert "THEIRS1" not in report.content.decode()
