"""The money reports: takings per method, ageing bands, fees charged and waived, revenue per type."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Invoice
from billing.tests.factories import invoice, key, payment, plan
from reports.selectors import billing
from scheduling.tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _filters(**kw):
    today = timezone.localdate()
    return {"start": today - timedelta(days=200), "end": today, "location": None, **kw}


def test_takings_and_the_deposit_slip_net_refunds_per_method(patient, admin):
    location = LocationFactory()
    cash = payment(patient, location=location, amount="100.00", method="cash")
    payment(patient, location=location, amount="50.00", method="card")
    payment(patient, location=location, amount="25.00", method="card")
    services.payment_refund(payment=cash, amount=Decimal("40.00"), reason="x", idempotency_key=key(), by=admin)
    slip, daily = billing.takings(_filters())
    by_method = {row["method"]: row for row in slip.rows}
    assert by_method["Cash"]["net"] == "60.00"
    assert (by_method["Card"]["count"], by_method["Card"]["received"]) == (2, "75.00")
    assert len(daily.rows) == 2


def test_outstanding_balances_are_aged_by_date_of_service(patient, frontdesk):
    location = LocationFactory()
    now = timezone.now()
    for days, amount in ((5, "10.00"), (45, "20.00"), (75, "30.00"), (120, "40.00")):
        with time_machine.travel(now - timedelta(days=days)):
            invoice(patient, location=location, amount=amount)
    payment(patient, location=location, amount="15.00", by=frontdesk)  # pays the oldest: 40 → 25
    ageing, patients = billing.outstanding(_filters())
    assert [row["amount"] for row in ageing.rows] == ["10.00", "20.00", "30.00", "25.00", "85.00"]
    assert patients.rows[0]["total"] == "85.00"
    assert patients.rows[0]["mrn"] == patient.mrn


def test_outstanding_balances_credit_notes_and_the_location_filter(patient, admin):
    here, there = LocationFactory(), LocationFactory()
    credited = invoice(patient, location=here, amount="100.00")
    services.credit_note_issue(invoice=credited, amount=Decimal("30.00"), reason="Goodwill", by=admin)
    invoice(patient, location=there, amount="50.00")
    ageing, _ = billing.outstanding(_filters(location=here))
    assert ageing.rows[-1] == {"band": "All (1 patients)", "amount": "70.00"}
    ageing, _ = billing.outstanding(_filters())
    assert ageing.rows[-1]["amount"] == "120.00"
    ageing, patients = billing.outstanding(_filters(location=LocationFactory()))
    assert ageing.rows[-1] == {"band": "All (0 patients)", "amount": "0.00"}
    assert patients.rows == []


def test_fees_charged_and_waived_and_revenue_per_type(patient, admin):
    fee = invoice(patient, purpose="no_show", amount="100.00")
    invoice(patient, purpose="late_cancel", amount="75.00")
    services.fee_waive(invoice=fee, reason="Storm", by=admin)
    rows = {row["fee"]: row for row in billing.fees(_filters())[0].rows}
    assert (rows["No-show fee"]["charged"], rows["No-show fee"]["waived"], rows["No-show fee"]["net"]) == (
        "100.00",
        "100.00",
        "0.00",
    )
    assert rows["Late-cancellation fee"]["net"] == "75.00"
    assert Invoice.objects.count() == 3


def test_packages_outstanding_counts_sessions_left(patient, frontdesk):
    location = LocationFactory()
    services.package_sell(patient=patient, plan=plan(location), method="cash", idempotency_key=key(), by=frontdesk)
    section = billing.packages(_filters())[0]
    assert section.rows[0]["sessions_left"] == 6
    assert "2,400.00" in section.title


def test_only_administrators_open_the_money_reports_and_they_export_csv(client, admin, frontdesk, patient):
    invoice(patient, amount="12.50")
    client.force_login(frontdesk)
    assert client.get(reverse("reports:outstanding")).status_code == 403
    client.force_login(admin)
    for slug in ("takings", "outstanding", "packages", "fees", "revenue"):
        assert client.get(reverse(f"reports:{slug}")).status_code == 200
    csv = client.get(reverse("reports:outstanding"), {"format": "csv", "table": "ageing"})
    assert csv["Content-Type"].startswith("text/csv")
    assert "12.50" in csv.content.decode()
    assert client.get(reverse("reports:outstanding"), {"format": "print"}).status_code == 200
