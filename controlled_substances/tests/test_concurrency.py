"""Twenty nurses drawing from one vial at once cannot make its balance wrong (test D8)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from controlled_substances import services
from controlled_substances.models import Container, LedgerEntry
from controlled_substances.tests.factories import container, nurse
from patients.tests.factories import PatientFactory

THREADS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_draws_leave_exactly_initial_minus_successful_draws():
    vial = container()  # 10.00 mL
    patient, by = PatientFactory(), nurse()
    draw = Decimal("0.70")  # 20 × 0.70 = 14 mL > 10 mL: some must be refused
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait()
            entry = services.administration_record(
                container=vial.pk, volume_ml=draw, patient=patient, by=by, at=timezone.now()
            )
            outcome: object = entry.quantity_ml
        except services.LedgerError as exc:
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    drawn = [r for r in results if isinstance(r, Decimal)]
    refused = [r for r in results if isinstance(r, services.LedgerError)]
    assert len(drawn) + len(refused) == THREADS
    assert len(drawn) == 14  # floor(10.00 / 0.70)
    vial.refresh_from_db()
    assert vial.remaining_ml == (Decimal("10.00") - sum(drawn)).quantize(Decimal("0.01"))
    entries = LedgerEntry.objects.filter(container=vial).order_by("seq")
    assert [e.seq for e in entries] == list(range(1, 16))
    assert sum(e.delta_ml for e in entries) == vial.remaining_ml
    assert min(e.balance_after_ml for e in entries) >= 0
    assert Container.objects.get(pk=vial.pk).last_seq == 15
