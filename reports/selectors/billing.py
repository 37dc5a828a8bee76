"""The money reports (administrators): takings and the deposit slip, outstanding balances with
ageing, packages outstanding, fees charged and waived, revenue per appointment type. Every figure
is aggregated in PostgreSQL (SUM with FILTER, grouped by local day, method, band or type); Python
only lays the aggregated rows out. Amounts are in the locations' currency (one per clinic)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, Count, DecimalField, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from billing import rules, selectors
from billing.models import Invoice, InvoiceKind, InvoicePurpose, PackagePurchase, Payment, PaymentKind, PaymentMethod
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


def _band_sums(as_of: date) -> dict:
    """SUM of what each invoice still owes, by the age of the invoice on ``as_of`` (date of issue)."""
    age = Case(
        *(When(service_date__gte=as_of - timedelta(days=upper), then=Value(i)) for i, upper in enumerate((30, 60, 90))),
        default=Value(3),
        output_field=IntegerField(),
    )
    return {"age": age}


def outstanding(f: dict) -> list[Section]:
    """What patients owe as of the range's last day, aged 0–30, 31–60, 61–90 and over 90 days."""
    as_of = f["end"]
    invoices = selectors.invoices_with_outstanding(Invoice.objects.filter(service_date__lte=as_of))
    if f.get("location") is not None:
        invoices = invoices.filter(location=f["location"])
    invoices = invoices.annotate(**_band_sums(as_of))
    owing = Q(outstanding_amount__gt=0)
    sums = {f"band{i}": Coalesce(Sum("outstanding_amount", filter=owing & Q(age=i)), ZERO) for i in range(4)}
    totals = invoices.aggregate(
        total=Coalesce(Sum("outstanding_amount", filter=owing), ZERO),
        **sums,
        patients=Count("patient", filter=owing, distinct=True),
    )
    bands = [label for _, label in rules.AgeingBand.choices]
    summary = [{"band": bands[i], "amount": _money(totals[f"band{i}"])} for i in range(4)] + [
        {"band": f"All ({totals['patients']} patients)", "amount": _money(totals["total"])}
    ]
    per_patient = (
        invoices.values("patient", "patient__legal_first_name", "patient__legal_last_name", "patient__mrn")
        .annotate(total=Coalesce(Sum("outstanding_amount", filter=owing), ZERO), **sums)
        .filter(total__gt=0)
        .order_by("-total", "patient")[:OUTSTANDING_ROWS]
    )
    rows = [
        {
            "patient": f"{r['patient__legal_last_name']}, {r['patient__legal_first_name']}",
            "mrn": r["patient__mrn"],
            **{f"band{i}": _money(r[f"band{i}"]) for i in range(4)},
            "total": _money(r["total"]),
        }
        for r in per_patient
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
