"""Each location keeps its own controlled-substance records under its own DEA registration
[S108]: stock arrives under one, counts and the DEA logs are per registration, and a vial
moves between two only as a transfer out and a linked transfer in, in one transaction."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controlled_substances import reports, selectors, services
from controlled_substances.models import Container, LedgerEntry
from controlled_substances.tests.factories import (
    PASSWORD,
    ProductFactory,
    container,
    manager,
    nurse,
    receive,
    registration,
)
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
NOW = timezone.now


@pytest.fixture
def two_sites():
    return registration(), registration(dea_number="FB7654324")


def test_stock_only_arrives_under_a_registration_in_force():
    lapsed = registration(dea_number="FC1111119", expires_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(services.LedgerError, match="expired on"):
        receive(at=lapsed)
    incomplete = registration(dea_number="FD2222225")
    incomplete.dea_number = ""
    incomplete.save(update_fields=["dea_number"])
    with pytest.raises(services.LedgerError, match="enter the DEA registration number"):
        receive(at=incomplete)
    assert not Container.objects.exists()


def test_a_count_covers_one_registration_and_only_its_vials(two_sites):
    here, there = two_sites
    boss = manager()
    a = container(at=here, lot_number="A1")
    b = container(at=there, lot_number="B1")
    count = services.count_record(
        registration=here, type="periodic", business_time="close", counted_at=NOW(), by=boss, lines=[(a, "10", "exact")]
    )
    assert count.registration == here
    assert [line.container for line in count.lines.all()] == [a]
    with pytest.raises(services.LedgerError, match="not at"):
        services.count_record(
            registration=here,
            type="periodic",
            business_time="close",
            counted_at=NOW(),
            by=boss,
            lines=[(a, "10", "exact"), (b, "10", "exact")],
        )


def test_the_logs_and_balances_are_per_registration(two_sites):
    here, there = two_sites
    rn, witness = nurse(), nurse()
    for reg, name in ((here, "Here"), (there, "There")):
        vial = container(at=reg, lot_number=f"L{name}")
        patient = PatientFactory(legal_last_name=name)
        draw = services.administration_record(container=vial, volume_ml="1.00", patient=patient, by=rn, at=NOW())
        services.waste_record(of_draw=draw, volume_ml="0.10", by=rn, witness=witness, at=NOW())
    today = timezone.localdate()
    log = reports.dispensing(registration=here, start=today, end=today)
    assert len(log.rows) == 1
    assert "Here" in log.rows[0][1]
    assert str(here) in log.title
    waste = reports.waste(registration=there, start=today, end=today)
    assert [row[2] for row in waste.rows] == [Container.objects.get(registration=there).code]
    balance = selectors.balances_by_product(registration=here)[0]
    assert (balance["containers"], balance["remaining_ml"]) == (1, Decimal("9.00"))
    assert selectors.balances_by_product()[0]["remaining_ml"] == Decimal("18.00")


def test_a_transfer_between_locations_is_two_linked_entries(two_sites):
    here, there = two_sites
    boss, rn = manager(), nurse()
    vial = container(at=here)
    services.administration_record(container=vial, volume_ml="2.50", patient=PatientFactory(), by=rn, at=NOW())
    out, into = services.transfer_between_registrations(
        container=vial, to=there, reason="Invoice T-1", by=boss, at=NOW()
    )
    assert (out.kind, out.delta_ml, out.counterparty_dea_number) == ("transfer", Decimal("-7.50"), there.dea_number)
    assert (into.kind, into.delta_ml, into.transfer_of) == ("transfer_in", Decimal("7.50"), out)
    assert into.counterparty_dea_number == here.dea_number
    arrived = into.container
    assert (arrived.code, arrived.registration, arrived.remaining_ml) == (vial.code, there, Decimal("7.50"))
    vial.refresh_from_db()
    assert vial.remaining_ml == 0
    assert selectors.reconciliation_mismatches() == []
    # Back again: the vial's row at the first registration takes it in.
    _, back = services.transfer_between_registrations(container=arrived, to=here, by=boss, at=NOW())
    assert back.container == vial
    assert Container.objects.filter(code=vial.code).count() == 2


def test_a_transfer_to_a_lapsed_registration_writes_nothing(two_sites):
    here, _ = two_sites
    lapsed = registration(dea_number="FC1111119", expires_on=timezone.localdate() - timedelta(days=1))
    vial = container(at=here)
    with pytest.raises(services.LedgerError, match="expired"):
        services.transfer_between_registrations(container=vial, to=lapsed, by=manager(), at=NOW())
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["receipt"]
    with pytest.raises(services.LedgerError, match="already at"):
        services.transfer_between_registrations(container=vial, to=here, by=manager(), at=NOW())


def test_a_transfer_is_not_reversed(two_sites):
    here, there = two_sites
    out, into = services.transfer_between_registrations(container=container(at=here), to=there, by=manager(), at=NOW())
    for entry in (out, into):
        with pytest.raises(services.LedgerError, match="transfer the drug back"):
            services.entry_reverse(entry=entry, reason="x", by=manager(), witness=nurse(), at=NOW())


def test_moving_a_vial_through_the_page(client_as, admin, two_sites):
    here, there = two_sites
    vial = container(at=here)
    response = client_as(admin).post(
        reverse("controlled_substances:container-move", args=[vial.pk]), {"to": there.pk, "reason": "Invoice T-2"}
    )
    assert response.status_code == 302
    assert Container.objects.get(registration=there, code=vial.code).remaining_ml == Decimal("10.00")


def test_the_reports_choose_a_registration_and_pin_their_queries(
    client_as, admin, two_sites, django_assert_max_num_queries
):
    here, there = two_sites
    for n in range(3):
        vial = container(at=there, lot_number=f"P{n}")
        services.administration_record(container=vial, volume_ml="1", patient=PatientFactory(), by=nurse(), at=NOW())
    client = client_as(admin)
    url = reverse("controlled_substances:report-dispensing")
    # as test_views' dispensing pin: the registration chooser is one query
    with django_assert_max_num_queries(17):
        page = client.get(url, {"registration": there.pk})
    assert len(page.context["tables"][0].rows) == 3
    assert len(client.get(url, {"registration": here.pk}).context["tables"][0].rows) == 0
    with django_assert_max_num_queries(17):
        client.get(reverse("controlled_substances:report-balances"), {"registration": there.pk})


def test_the_session_panel_offers_only_vials_held_where_the_infusion_is_given(client_as, two_sites):
    from infusions.tests.factories import S, advance, open_session
    from infusions.tests.factories import nurse as infusion_nurse

    here, there = two_sites
    ten_mg = ProductFactory(
        ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"), container_volume_ml=Decimal("20.00")
    )
    local = container(at=here, lot_number="LOC", product=ten_mg)
    remote = container(at=there, lot_number="REM", product=ten_mg)
    rn, verifier = infusion_nurse(username="rn.site"), infusion_nurse(username="rn.site2", password=PASSWORD)
    session = advance(open_session(by=rn, location=here.location), S.CLEARED, nurse_user=rn, verifier=verifier)
    panel = client_as(rn).get(reverse("controlled_substances:session-panel", args=[session.pk]))
    offered = list(panel.context["draw_form"].fields["container"].queryset)
    assert local in offered
    assert remote not in offered
