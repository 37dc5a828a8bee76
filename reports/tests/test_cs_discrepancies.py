"""Controlled-substance count discrepancies per month (rows written directly: set-up only).

February: two containers counted, one short by 0.5 mL (25 mg), unexplained and significant
→ 1 of 2 = 50.0 %, net −25.00 mg. A March count falls outside the range.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from controlled_substances.models import CountLine, InventoryCount
from controlled_substances.tests.factories import manager, receive
from reports.selectors.compliance import controlled_substance_discrepancies
from reports.tests.conftest import filters, local

pytestmark = pytest.mark.django_db


def test_discrepancies_per_month_with_their_denominator():
    user = manager()
    first, second = receive(containers=2, by=user)
    count = InventoryCount.objects.create(
        registration=first.registration,
        type="periodic",
        business_time="close",
        counted_at=local(3, 18),
        counted_by=user,
    )
    CountLine.objects.create(
        count=count,
        container=first,
        method="exact",
        counted_ml=Decimal("9.5"),
        ledger_ml=Decimal("10"),
        discrepancy_mg=Decimal("-25"),
        significant=True,
    )
    CountLine.objects.create(
        count=count,
        container=second,
        method="exact",
        counted_ml=Decimal("10"),
        ledger_ml=Decimal("10"),
        discrepancy_mg=Decimal("0"),
    )
    march = InventoryCount.objects.create(
        registration=first.registration,
        type="periodic",
        business_time="close",
        counted_at=local(3, 18, month=3),
        counted_by=user,
    )
    CountLine.objects.create(
        count=march,
        container=first,
        method="exact",
        counted_ml=Decimal("1"),
        ledger_ml=Decimal("10"),
        discrepancy_mg=Decimal("-450"),
    )
    section = controlled_substance_discrepancies(filters())
    assert section.rows == [
        {
            "month": "2026-02",
            "lines": 2,
            "discrepancies": 1,
            "significant": 1,
            "unexplained": 1,
            "net_mg": Decimal("-25.00"),
            "rate": Decimal("50.0"),
        }
    ]


def test_no_counts_no_rows(db):
    assert controlled_substance_discrepancies(filters()).rows == []
