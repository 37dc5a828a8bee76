"""The ledger reports as plain tables (title, header, rows of text), so the page, the
printable view and the CSV export show exactly the same figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.utils import formats, timezone

from controlled_substances import selectors


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def _when(dt) -> str:
    return formats.date_format(timezone.localtime(dt), "SHORT_DATETIME_FORMAT")


def _initials(user) -> str:
    parts = [p for p in (user.first_name, user.last_name) if p]
    return "".join(p[0].upper() for p in parts) or user.username


MISSING = "MISSING"


def _address(patient) -> str:
    """The patient's address for the dispensing record (21 CFR 1304.22(c) requires it [S115]),
    or a flag saying what is missing, so a gap shows on the page, the print and the CSV."""
    if patient is None:
        return f"{MISSING}: no patient"
    text = ", ".join(
        p for p in (patient.address_line1, patient.address_line2, patient.city, patient.state, patient.postal_code) if p
    )
    gaps = [
        label
        for label, value in (
            ("street", patient.address_line1),
            ("city", patient.city),
            ("state", patient.state),
            ("ZIP", patient.postal_code),
        )
        if not value
    ]
    if not text:
        return f"{MISSING}: no address on file; add it to the patient's record"
    return f"{text} ({MISSING}: {', '.join(gaps)})" if gaps else text


def _at(registration) -> str:
    return str(registration) if registration else "no registration on file"


def title(key: str, *, registration, start: date | None = None, end: date | None = None) -> str:
    """The first table's title of report ``key``: also the title of its PDF, known before its query runs."""
    start = start or timezone.localdate()
    end = end or timezone.localdate()
    titles = {
        "balances": f"Balance by product · {_at(registration)}",
        "dispensing": f"Dispensing log {start:%Y-%m-%d} to {end:%Y-%m-%d} · {_at(registration)}",
        "waste": f"Waste and destruction log {start:%Y-%m-%d} to {end:%Y-%m-%d} · {_at(registration)}",
        "discrepancies": f"Count discrepancies · {_at(registration)}",
    }
    if key not in titles:
        raise LookupError(f"no ledger report {key!r}")
    return titles[key]


def balances(*, registration) -> list[Table]:
    products = Table(
        title("balances", registration=registration),
        ["Product", "NDC", "Schedule", "Containers with drug", "Remaining mL", "Remaining mg"],
        [
            [
                str(r["product"]),
                r["product"].ndc,
                r["product"].schedule,
                str(r["containers"]),
                str(r["remaining_ml"]),
                str(r["remaining_mg"]),
            ]
            for r in selectors.balances_by_product(registration=registration)
        ],
    )
    lots = Table(
        f"Balance by lot · {_at(registration)}",
        ["Product", "Lot", "Expiry", "Supplier", "Supplier DEA #", "Invoice", "Containers", "Remaining mL"],
        [
            [
                str(lot.product),
                lot.lot_number,
                f"{lot.expiry_date:%Y-%m-%d}",
                lot.supplier.name,
                lot.supplier.dea_number,
                f"{lot.invoice_number} ({lot.invoice_date:%Y-%m-%d})",
                str(lot.containers_n),
                str(lot.remaining_ml or "0.00"),
            ]
            for lot in selectors.balances_by_lot(registration=registration)
        ],
    )
    containers = Table(
        f"Balance by container · {_at(registration)}",
        ["Container", "Product", "Lot", "Received", "Opened", "Status", "Remaining mL"],
        [
            [
                c.code,
                str(c.lot.product),
                c.lot.lot_number,
                _when(c.received_at),
                _when(c.opened_at) if c.opened_at else "",
                c.status,
                str(c.remaining_ml),
            ]
            for c in selectors.balances_by_container(registration=registration)
        ],
    )
    return [products, lots, containers]


def dispensing(*, registration, start: date, end: date) -> Table:
    table = Table(
        title("dispensing", registration=registration, start=start, end=end),
        [
            "Date",
            "Patient",
            "Patient address",
            "Drug, form, strength",
            "Container",
            "Drawn mL",
            "Drawn mg",
            "Wasted mg",
            "Administered mg",
            "Delivered mg (pump)",
            "Administered by",
            "Initials",
            "Waste witness",
            "Status",
        ],
        note="21 CFR 1304.22(c): drug name, finished form and strength, patient name and address, date, "
        "quantity, and the name or initials of the person who administered it. Administered = drawn − wasted; "
        "delivered = what the pump ran (the infusion record's figure); a signed session has them agree "
        "within the clinic's tolerance.",
    )
    missing = 0
    for row in selectors.dispensing_log(registration=registration, start=start, end=end):
        e = row.entry
        product = e.container.lot.product
        table.rows.append(
            [
                _when(e.occurred_at),
                e.patient.display_name if e.patient else "",
                address := _address(e.patient),
                f"{product.name}, {product.form}, {product.concentration_mg_per_ml.normalize():f} mg/mL",
                e.container.code,
                str(e.quantity_ml),
                str(e.quantity_mg),
                str(row.wasted_mg),
                str(row.given_mg) if not e.is_reversed else "0.00",
                "" if row.delivered_mg is None else str(row.delivered_mg),
                str(e.actor),
                _initials(e.actor),
                row.waste_witnesses,
                "reversed" if e.is_reversed else "",
            ]
        )
        missing += MISSING in address
    if missing:
        table.note += f" {missing} row(s) lack the patient's full address: complete it in the patient's record."
    return table


def waste(*, registration, start: date, end: date) -> Table:
    table = Table(
        title("waste", registration=registration, start=start, end=end),
        [
            "Date",
            "Kind",
            "Container",
            "Patient",
            "mL",
            "mg",
            "Manner",
            "Recorded by",
            "Witness",
            "Second witness",
            "Form 41",
            "Status",
        ],
    )
    for e in selectors.waste_log(registration=registration, start=start, end=end):
        table.rows.append(
            [
                _when(e.occurred_at),
                e.get_kind_display(),
                e.container.code,
                e.patient.display_name if e.patient else "",
                str(e.quantity_ml),
                str(e.quantity_mg),
                e.manner,
                str(e.actor),
                str(e.witness or ""),
                str(e.second_witness or ""),
                e.form_41_ref,
                "reversed" if e.is_reversed else "",
            ]
        )
    return table


def discrepancies(*, registration) -> Table:
    table = Table(
        title("discrepancies", registration=registration),
        [
            "Count",
            "Date",
            "Container",
            "Method",
            "Counted mL",
            "Ledger mL",
            "Discrepancy mL",
            "Discrepancy mg",
            "Significant",
            "Explanation",
            "Explained by",
            "Resolution",
        ],
    )
    for line in selectors.discrepancies(registration=registration):
        res = line.resolution
        resolution = ""
        if res is not None:
            resolution = f"{res.get_kind_display()} #{res.seq}"
            if res.loss_report_id:
                resolution += f" (loss report {res.loss_report_id})"
        table.rows.append(
            [
                line.count.get_type_display(),
                _when(line.count.counted_at),
                line.container.code,
                line.get_method_display(),
                str(line.counted_ml),
                str(line.ledger_ml),
                str(line.discrepancy_ml),
                str(line.discrepancy_mg),
                "yes" if line.significant else "",
                line.explanation or "NEEDS EXPLANATION",
                str(line.explained_by or ""),
                resolution,
            ]
        )
    return table


def csv_lines(tables: list[Table]):
    """The CSV of tables, as the page shows them: each table's title, heading and rows, then a blank line."""
    for table in tables:
        yield [table.title]
        yield table.header
        yield from table.rows
        yield []


def build(key: str, *, registration, start: date | None = None, end: date | None = None) -> list[Table]:
    """The tables of report ``key`` (the page, the CSV written in the request and by the worker)."""
    start = start or timezone.localdate()
    end = end or timezone.localdate()
    if key == "balances":
        return balances(registration=registration)
    if key == "dispensing":
        return [dispensing(registration=registration, start=start, end=end)]
    if key == "waste":
        return [waste(registration=registration, start=start, end=end)]
    if key == "discrepancies":
        return [discrepancies(registration=registration)]
    raise LookupError(f"no ledger report {key!r}")


KEYS = ("balances", "dispensing", "waste", "discrepancies")
