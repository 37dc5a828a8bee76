"""The money reports (administrators): takings and the deposit slip, outstanding balances with
ageing, packages outstanding, fees charged and waived, revenue per appointment type. Every figure
is aggregated in PostgreSQL (SUM with FILTER, grouped by local day, method, band or type); Python
only lays the aggregated rows out. Amounts are in the locations' currency (one per clinic)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from billing import rules, selectors
from billing.models import Invoice, InvoiceKind, InvoicePurpose, PackagePurchase, Payment, PaymentKind, PaymentMethod
from patients.models import Patient
from reports.sql import local_date, utc_window
from reports.tables import Column, Section

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
ZONE = Coalesce(F("location__time_zone"), Value(settings.TIME_ZONE))
OUTSTANDING_ROWS = 200  # the patients owing most; the band totals count everyone


def _money(value) -> str:
    return f"{Decimal(value or 0):,.2f}"


def _in_range(qs, f: dict, instant: str):
    low, high = utc_window(f["start"], f["end"])
    qs = (
        qs.filter(**{f"{instant}__gte": low, f"{instant}__lt": high})
        .alias(local_day=local_date(instant, ZONE))
        .filter(local_day__gte=f["start"], local_day__lte=f["end"])
    )
    return qs.filter(location=f["location"]) if f.get("location") is not None else qs


def takings(f: dict) -> list[Section]:
    """Money taken per local day and payment method, refunds netted: the deposit slip."""
    qs = _in_range(Payment.objects.filter(status="completed"), f, "completed_at").annotate(
        day=local_date("completed_at", ZONE)
    )
    rows_by_day = (
        qs.values("day", "method")
        .annotate(
            received=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)), ZERO),
            refunded=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.REFUND)), ZERO),
            count=Count("id", filter=Q(kind=PaymentKind.PAYMENT)),
        )
        .order_by("day", "method")
    )
    labels = dict(PaymentMethod.choices)
    daily = [
        {
            "day": r["day"].strftime("%m/%d/%Y"),
            "method": labels.get(r["method"], r["method"]),
            "count": r["count"],
            "received": _money(r["received"]),
            "refunded": _money(r["refunded"]),
            "net": _money(r["received"] - r["refunded"]),
        }
        for r in rows_by_day
    ]
    slip = [
        {
            "method": labels.get(r["method"], r["method"]),
            "count": r["count"],
            "received": _money(r["received"]),
            "refunded": _money(r["refunded"]),
            "net": _money(r["received"] - r["refunded"]),
        }
        for r in qs.values("method")
        .annotate(
            received=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)), ZERO),
            refunded=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.REFUND)), ZERO),
            count=Count("id", filter=Q(kind=PaymentKind.PAYMENT)),
        )
        .order_by("method")
    ]
    definitions = [
        ("Received", "Completed payments (deposits and package prepayments included) on the local day they completed."),
        ("Refunded", "Completed refunds that day, by the method of the payment they return."),
        ("Net", "Received less refunded: what the deposit slip for that method should show."),
    ]
    return [
        Section(
            "slip",
            "Deposit slip per payment method",
            [
                Column("method", "Method", numeric=False),
                Column("count", "Payments"),
                Column("received", "Received"),
                Column("refunded", "Refunded"),
                Column("net", "Net"),
            ],
            slip,
            definitions,
        ),
        Section(
            "takings",
            "Daily takings",
            [
                Column("day", "Day", numeric=False),
                Column("method", "Method", numeric=False),
                Column("count", "Payments"),
                Column("received", "Received"),
                Column("refunded", "Refunded"),
                Column("net", "Net"),
            ],
            daily,
            definitions,
        ),
    ]


# What each invoice still owes, computed once per invoice (its credit notes and allocations summed
# by a join to their per-invoice totals, not by correlated subqueries that every SUM ... FILTER
# repeated: 12.8 s for 3,300 invoices), then summed per patient and age band in the same statement;
# the window sums give the all-patient totals on every row, so one query answers the whole report.
_OWED_SQL = """
WITH owed AS (
    SELECT i.patient_id,
           CASE WHEN i.service_date >= %(d30)s THEN 0
                WHEN i.service_date >= %(d60)s THEN 1
                WHEN i.service_date >= %(d90)s THEN 2
                ELSE 3 END AS band,
           i.total - COALESCE(c.amount, 0) - COALESCE(a.amount, 0) AS amount
    FROM billing_invoice i
    LEFT JOIN (
        SELECT credits_id, SUM(total) AS amount FROM billing_invoice
        WHERE kind = 'credit_note' GROUP BY credits_id
    ) c ON c.credits_id = i.id
    LEFT JOIN (
        SELECT invoice_id, SUM(amount) AS amount FROM billing_paymentallocation GROUP BY invoice_id
    ) a ON a.invoice_id = i.id
    WHERE i.kind = 'invoice' AND i.service_date <= %(as_of)s
      AND (%(location)s::bigint IS NULL OR i.location_id = %(location)s::bigint)
), per_patient AS (
    SELECT patient_id,
           COALESCE(SUM(amount) FILTER (WHERE band = 0), 0) AS band0,
           COALESCE(SUM(amount) FILTER (WHERE band = 1), 0) AS band1,
           COALESCE(SUM(amount) FILTER (WHERE band = 2), 0) AS band2,
           COALESCE(SUM(amount) FILTER (WHERE band = 3), 0) AS band3,
           SUM(amount) AS total
    FROM owed WHERE amount > 0 GROUP BY patient_id
)
SELECT patient_id, band0, band1, band2, band3, total,
       SUM(band0) OVER (), SUM(band1) OVER (), SUM(band2) OVER (), SUM(band3) OVER (), SUM(total) OVER (),
       COUNT(*) OVER ()
FROM per_patient
ORDER BY total DESC, patient_id
LIMIT %(rows)s
"""


def outstanding(f: dict) -> list[Section]:
    """What patients owe as of the range's last day, aged 0–30, 31–60, 61–90 and over 90 days."""
    as_of = f["end"]
    location = f.get("location")
    params = {
        "as_of": as_of,
        **{f"d{days}": as_of - timedelta(days=days) for days in (30, 60, 90)},
        "location": location.pk if location is not None else None,
        "rows": OUTSTANDING_ROWS,
    }
    with connection.cursor() as cursor:
        cursor.execute(_OWED_SQL, params)
        found = cursor.fetchall()
    totals = list(found[0][6:]) if found else [Decimal("0.00")] * 5 + [0]
    bands = [label for _, label in rules.AgeingBand.choices]
    summary = [{"band": bands[i], "amount": _money(totals[i])} for i in range(4)] + [
        {"band": f"All ({totals[5]} patients)", "amount": _money(totals[4])}
    ]
    names = {
        p["pk"]: p
        for p in Patient.objects.filter(pk__in=[row[0] for row in found]).values(
            "pk", "legal_first_name", "legal_last_name", "mrn"
        )
    }
    rows = [
        {
            "patient": f"{names[row[0]]['legal_last_name']}, {names[row[0]]['legal_first_name']}",
            "mrn": names[row[0]]["mrn"],
            **{f"band{i}": _money(row[1 + i]) for i in range(4)},
            "total": _money(row[5]),
        }
        for row in found
    ]
    definitions = [
        (
            "Owed",
            "An invoice's total less its credit notes and the payments put against it, as of the last day "
            "of the range (invoices with a date of service after it are left out).",
        ),
        ("Age", "Days from the invoice's date of service to the last day of the range."),
        (
            "Money on account",
            "Payments not yet put against an invoice are not netted here; they show on the patient's billing panel.",
        ),
    ]
    return [
        Section(
            "ageing",
            "Outstanding balances by age",
            [Column("band", "Age", numeric=False), Column("amount", "Owed")],
            summary,
            definitions,
        ),
        Section(
            "patients",
            f"Patients owing most (up to {OUTSTANDING_ROWS})",
            [
                Column("patient", "Patient", numeric=False),
                Column("mrn", "Record", numeric=False),
                *[Column(f"band{i}", bands[i]) for i in range(4)],
                Column("total", "Total"),
            ],
            rows,
            definitions,
        ),
    ]


def packages(f: dict) -> list[Section]:
    """Open packages: sessions left and the prepaid value not yet used, per package."""
    qs = PackagePurchase.objects.filter(closed_at__isnull=True)
    if f.get("location") is not None:
        qs = qs.filter(plan__location=f["location"])
    unused = selectors.payments_with_unallocated(Payment.objects.filter(package__in=qs))
    value = unused.aggregate(v=Coalesce(Sum("unallocated_amount"), ZERO))["v"]
    rows = [
        {
            "plan": r["plan__name"],
            "location": r["plan__location__name"],
            "open": r["open"],
            "sessions_left": (r["sessions"] or 0) - (r["used"] or 0),
            "expired": r["expired"],
        }
        for r in qs.values("plan__name", "plan__location__name")
        .annotate(
            open=Count("id", distinct=True),
            sessions=Sum("sessions", distinct=False),
            used=Count("redemptions"),
            expired=Count("id", filter=Q(expires_on__lt=f["end"]), distinct=True),
        )
        .order_by("plan__location__name", "plan__name")
    ]
    return [
        Section(
            "packages",
            f"Packages outstanding (prepaid value not yet used: {_money(value)})",
            [
                Column("plan", "Package", numeric=False),
                Column("location", "Location", numeric=False),
                Column("open", "Open"),
                Column("sessions_left", "Sessions left"),
                Column("expired", "Expired, not closed"),
            ],
            rows,
            [
                ("Open", "Sold and not closed by an administrator, whatever the date."),
                (
                    "Expired, not closed",
                    "Past their validity on the last day of the range: close them to refund or "
                    "forfeit the unused sessions per the clinic's policy.",
                ),
            ],
        )
    ]


def fees(f: dict) -> list[Section]:
    """No-show and late-cancellation fees charged in the range, and what was waived of them."""
    qs = _in_range(
        Invoice.objects.filter(purpose__in=[InvoicePurpose.NO_SHOW, InvoicePurpose.LATE_CANCEL]), f, "issued_at"
    )
    labels = dict(InvoicePurpose.choices)
    rows = [
        {
            "fee": labels[r["purpose"]],
            "charged_count": r["charged_count"],
            "charged": _money(r["charged"]),
            "waived_count": r["waived_count"],
            "waived": _money(r["waived"]),
            "net": _money(r["charged"] - r["waived"]),
        }
        for r in qs.values("purpose")
        .annotate(
            charged_count=Count("id", filter=Q(kind=InvoiceKind.INVOICE)),
            charged=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.INVOICE)), ZERO),
            waived_count=Count("id", filter=Q(kind=InvoiceKind.CREDIT_NOTE)),
            waived=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.CREDIT_NOTE)), ZERO),
        )
        .order_by("purpose")
    ]
    return [
        Section(
            "fees",
            "Fees charged and waived",
            [
                Column("fee", "Fee", numeric=False),
                Column("charged_count", "Charged"),
                Column("charged", "Amount"),
                Column("waived_count", "Waived"),
                Column("waived", "Amount waived"),
                Column("net", "Net"),
            ],
            rows,
            [
                (
                    "Charged",
                    "Fees issued on a local day in the range (by the appointment's no-show or late cancellation).",
                ),
                ("Waived", "Credit notes against those fees issued in the range, each with a reason."),
            ],
        )
    ]


def revenue(f: dict) -> list[Section]:
    """Invoiced per appointment type (visits; packages show at their session price), less credits."""
    qs = _in_range(Invoice.objects.filter(purpose=InvoicePurpose.VISIT), f, "issued_at")
    rows = [
        {
            "type": r["name"] or "Other",
            "visits": r["visits"],
            "invoiced": _money(r["invoiced"]),
            "credited": _money(r["credited"]),
            "net": _money(r["invoiced"] - r["credited"]),
        }
        for r in qs.annotate(
            name=Coalesce(F("appointment__appointment_type__name"), F("credits__appointment__appointment_type__name"))
        )
        .values("name")
        .annotate(
            visits=Count("id", filter=Q(kind=InvoiceKind.INVOICE)),
            invoiced=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.INVOICE)), ZERO),
            credited=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.CREDIT_NOTE)), ZERO),
        )
        .order_by("name")
    ]
    return [
        Section(
            "revenue",
            "Revenue per appointment type",
            [
                Column("type", "Appointment type", numeric=False),
                Column("visits", "Visits invoiced"),
                Column("invoiced", "Invoiced"),
                Column("credited", "Credited"),
                Column("net", "Net"),
            ],
            rows,
            [
                (
                    "Invoiced",
                    "Visit invoices issued on a local day in the range; a package session at its session price.",
                ),
                ("Credited", "Credit notes against visit invoices issued in the range."),
            ],
        )
    ]
