"""Whatever sequence of movements is attempted, the ledger stays consistent: every balance
equals the sum of its entries, never negative, and refused movements leave no trace."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controlled_substances import selectors, services
from controlled_substances.models import Container, LedgerEntry
from controlled_substances.tests.factories import container, manager, nurse
from patients.tests.factories import PatientFactory

OPS = st.lists(
    st.tuples(
        st.sampled_from(["draw", "waste", "adjust", "reverse_last"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4.00"), places=2),
    ),
    min_size=1,
    max_size=12,
)


class _Rollback(Exception):  # noqa: N818 - control flow: undo one example
    pass


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_sequence_of_movements_keeps_the_ledger_consistent(ops):
    try:
        with transaction.atomic():
            by, witness, boss, patient = nurse(), nurse(), manager(), PatientFactory()
            vial = container(by=boss)
            now = timezone.now()
            for op, qty in ops:
                try:
                    with transaction.atomic():
                        if op == "draw":
                            services.administration_record(
                                container=vial, volume_ml=qty, patient=patient, by=by, at=now
                            )
                        elif op == "waste":
                            # The entry point owns a durable transaction; inside this rollback block
                            # the example composes the helper that runs inside one.
                            services._waste_record(container=vial, volume_ml=qty, by=by, witness=witness, at=now)
                        elif op == "adjust":
                            services.adjustment_record(
                                container=vial, delta_ml=-qty, reason="test", by=boss, witness=by, at=now
                            )
                        else:
                            last = LedgerEntry.objects.filter(container=vial).exclude(kind__in=["receipt", "reversal"])
                            last = last.order_by("-seq").first()
                            if last is not None:
                                services.entry_reverse(entry=last, reason="test", by=boss, witness=by, at=now)
                except services.LedgerError:
                    pass
            fresh = Container.objects.get(pk=vial.pk)
            entries = list(LedgerEntry.objects.filter(container=vial).order_by("seq"))
            assert fresh.remaining_ml >= 0
            assert sum(e.delta_ml for e in entries) == fresh.remaining_ml
            assert [e.seq for e in entries] == list(range(1, fresh.last_seq + 1))
            assert all(e.balance_after_ml >= 0 for e in entries)
            assert selectors.reconciliation_mismatches() == []
            raise _Rollback
    except _Rollback:
        pass
