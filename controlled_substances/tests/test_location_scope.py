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


def test_another_locations_counts_entries_and_losses_are_refused_by_their_ids(client, scope_to, sites):
    from decimal import Decimal

    from django.utils import timezone

    from controlled_substances import services
    from patients.tests.factories import PatientFactory

    by = manager(username="cs.keeper")
    made = {}
    for key in ("here", "there"):
        vial = container(by=by, at=sites[key], lot_number=f"LOT{key.upper()}")
        entry = services.administration_record(
            container=vial, volume_ml="1.00", patient=PatientFactory(), by=by, at=timezone.now()
        )
        loss = services.loss_record(
            container=vial, volume_ml="0.50", kind="loss", discovered_at=timezone.now(), description="spill", by=by
        ).loss_report
        count = services.count_record(
            registration=sites[key],
            type="periodic",
            business_time="close",
            counted_at=timezone.now(),
            by=by,
            lines=[(vial, vial.remaining_ml - Decimal("0.10"), "estimated")],
        )
        made[key] = {"entry": entry, "loss": loss, "count": count, "line": count.lines.get()}
    client.force_login(scope_to(manager(username="cs.south"), sites["here"].location))
    counts = client.get(reverse("controlled_substances:counts")).context["counts"]
    assert [c.pk for c in counts] == [made["here"]["count"].pk]
    home = client.get(reverse("controlled_substances:index")).context
    assert [r.pk for r in home["losses"]] == [made["here"]["loss"].pk]
    pages = (
        ("controlled_substances:count-detail", "count"),
        ("controlled_substances:count-line-resolve", "line"),
        ("controlled_substances:entry-reverse", "entry"),
        ("controlled_substances:loss-report", "loss"),
    )
    for name, key in pages:
        assert client.get(reverse(name, args=[made["here"][key].pk])).status_code == 200, name
        assert client.get(reverse(name, args=[made["there"][key].pk])).status_code == 403, name
        if name != "controlled_substances:count-detail":  # the others change the ledger too
            assert client.post(reverse(name, args=[made["there"][key].pk]), {}).status_code == 403, name
    client.force_login(manager(username="cs.chain"))  # chain-wide: every location's
    assert len(client.get(reverse("controlled_substances:counts")).context["counts"]) == 2
    for name, key in pages:
        assert client.get(reverse(name, args=[made["there"][key].pk])).status_code == 200, name
