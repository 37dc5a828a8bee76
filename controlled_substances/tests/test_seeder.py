"""The demo year reconciles: every container's balance equals its ledger, every count
discrepancy is explained, every positive waste is witnessed by someone else."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F, Q

from controlled_substances import selectors
from controlled_substances.models import Container, CountLine, InventoryCount, LedgerEntry


@pytest.mark.django_db
def test_the_demo_ledger_reconciles_to_the_milligram():
    call_command("seed_demo", patients=40, seed=11, allow_demo_accounts=True)
    assert LedgerEntry.objects.filter(kind="receipt").exists()
    assert LedgerEntry.objects.filter(kind="administration").count() >= 1
    assert selectors.reconciliation_mismatches() == []
    assert not Container.objects.filter(remaining_ml__lt=0).exists()
    assert InventoryCount.objects.count() >= 2
    gaps = CountLine.objects.exclude(discrepancy_ml=0)
    assert gaps.count() == 1
    assert gaps.filter(resolution__isnull=False).exclude(explanation="").count() == 1
    # Each draw is closed by a waste (0 mL or witnessed), so no session has unaccounted drug.
    draws = LedgerEntry.objects.filter(kind="administration")
    assert draws.filter(wastes__isnull=True).count() == 0
    wastes = LedgerEntry.objects.filter(kind="waste", quantity_ml__gt=0)
    assert not wastes.filter(Q(witness__isnull=True) | Q(witness=F("actor"))).exists()
    # Sequence numbers run 1..n per container without a gap.
    for c in Container.objects.all()[:20]:
        assert list(c.entries.order_by("seq").values_list("seq", flat=True)) == list(range(1, c.last_seq + 1))
    assert sum(e.delta_ml for e in LedgerEntry.objects.all()) == sum(
        (c.remaining_ml for c in Container.objects.all()), Decimal("0")
    )
    # Seeded infusion sessions that started have their drug accounted for (the sign check passes).
    from infusions.models import InfusionSession

    for session in InfusionSession.objects.filter(started_at__isnull=False)[:30]:
        assert selectors.session_sign_problems(session) == []
