"""Billing's documents: the invoice (or credit note) and the superbill of a visit or of a range of
dates of service (one kind: the subject is an invoice or a ``SuperbillPeriod``), registered with
the documents pipeline (issued, versioned, rendered by the worker, every download a disclosure).

Both are downloaded with the billing permission (never by clinicians, who see no money pages),
so they are listed on the patient's billing panel rather than the chart's documents card."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing import selectors
from billing.models import Invoice, InvoiceKind, SuperbillPeriod
from billing.money import Money
from consultations.models import Consultation
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import date_text, letterhead, patient_part
from patients.access import VIEW
from prescribers.models import PrescriberProfile

DOWNLOAD = ("billing.take_payments", VIEW)


def _money(value, currency: str) -> str:
    return str(Money(value, currency))


def _lines(invoice: Invoice) -> list[dict[str, Any]]:
    return [
        {
            "code": line.code,
            "code_system": line.get_code_system_display() if line.code else "",
            "description": line.description,
            "units": line.units,
            "unit_price": _money(line.unit_price, invoice.currency),
            "amount": _money(line.amount, invoice.currency),
        }
        for line in invoice.lines.all()
    ]


def _row(invoice: Invoice) -> Invoice:
    row = selectors.invoice_detail(invoice.pk)
    if row is None:
        raise LookupError(f"invoice {invoice.pk} is gone")
    return row


def invoice_content(invoice: Invoice) -> dict[str, Any]:
    return _invoice_content(_row(invoice))


def _invoice_content(row: Invoice) -> dict[str, Any]:
    credited = getattr(row, "credited", None)
    paid = getattr(row, "allocated", None)
    outstanding = getattr(row, "outstanding_amount", None)
    return {
        "letterhead": letterhead(row.location),
        "patient": patient_part(row.patient),
        "invoice": {
            "label": row.label,
            "kind": row.get_kind_display(),
            "credit_note": row.kind == InvoiceKind.CREDIT_NOTE,
            "credits": row.credits.label if row.credits is not None else "",
            "reason": row.reason if row.kind == InvoiceKind.CREDIT_NOTE else "",
            "purpose": row.get_purpose_display(),
            "service_date": date_text(row.service_date),
            "issued": date_text(row.issued_at.date()),
            "total": _money(row.total, row.currency),
            "credited": _money(credited, row.currency) if credited is not None else "",
            "paid": _money(paid, row.currency) if paid is not None else "",
            "outstanding": _money(outstanding, row.currency) if outstanding is not None else "",
        },
        "lines": _lines(row),
        "tax_id": selectors.settings_for(row.location_id).tax_id,
    }


def _diagnoses(patient_id: int) -> list[str]:
    """ICD-10 codes of the patient's latest signed consultation."""
    found = (
        Consultation.objects.filter(patient_id=patient_id, signed_at__isnull=False)
        .order_by("-signed_at")
        .values_list("icd10_codes", flat=True)
        .first()
    )
    return [code.strip() for code in (found or "").split(",") if code.strip()]


def _provider(user) -> dict[str, str]:
    if user is None:
        return {"name": "", "credential": "", "npi": ""}
    return _providers([user])[user.pk]


def superbill_content(invoice: Invoice) -> dict[str, Any]:
    """What an insurer needs for an out-of-network claim of one visit: billing and rendering
    provider (name, credential, NPI, TIN), the patient, the date of service, ICD-10 from the signed
    consultation, CPT/HCPCS with units and charges, and what the patient paid."""
    row = _row(invoice)  # read once: the superbill is the invoice's content and more
    content = _invoice_content(row)
    content["provider"] = _provider(row.rendering_provider)
    content["diagnoses"] = _diagnoses(row.patient_id)
    content["place_of_service"] = "11 (Office)"
    return content


def _providers(users) -> dict[int, dict[str, str]]:
    """Name, credential and NPI of each user (one query for their prescriber profiles)."""
    profiles = {p.user_id: p for p in PrescriberProfile.objects.filter(user_id__in=[u.pk for u in users])}
    return {
        user.pk: {
            "name": user.get_full_name() or user.get_username(),
            "credential": profiles[user.pk].get_credential_display() if user.pk in profiles else "",
            "npi": profiles[user.pk].npi if user.pk in profiles else "",
        }
        for user in users
    }


def superbill_period_content(period: SuperbillPeriod) -> dict[str, Any]:
    """A superbill over a range of dates of service: every coded service of the patient's visits in
    the range (date, code, units, charge and the provider who rendered it), with what was charged,
    credited and paid in all, for one out-of-network claim of several visits."""
    invoices = list(selectors.superbill_invoices(period.patient_id, period.date_from, period.date_to))
    if not invoices:
        raise LookupError(f"superbill period {period.pk} lists no visit")
    currency = invoices[-1].currency
    by_user = _providers({inv.rendering_provider for inv in invoices if inv.rendering_provider is not None})
    none = {"name": "", "credential": "", "npi": ""}
    rows = [
        {
            "service_date": date_text(inv.service_date),
            "invoice": inv.label,
            "provider": by_user.get(inv.rendering_provider_id or 0, none),
            **line,
        }
        for inv in invoices
        for line in _lines(inv)
        if line["code"]
    ]
    totals = {
        name: _money(sum((selectors.annotated(inv, field) for inv in invoices), Decimal("0.00")), currency)
        for name, field in (("credited", "credited"), ("paid", "allocated"), ("outstanding", "outstanding_amount"))
    }
    last = invoices[-1]
    return {
        "letterhead": letterhead(last.location),
        "patient": patient_part(period.patient),
        "period": {"from": date_text(period.date_from), "to": date_text(period.date_to), "visits": len(invoices)},
        "rows": rows,
        "providers": [by_user[pk] for pk in sorted(by_user)],
        "totals": {"charges": _money(sum((inv.total for inv in invoices), Decimal("0.00")), currency), **totals},
        "invoices": [inv.label for inv in invoices],
        "tax_id": selectors.settings_for(last.location_id).tax_id,
        "diagnoses": _diagnoses(period.patient_id),
        "place_of_service": "11 (Office)",
    }


def _superbill(subject) -> dict[str, Any]:
    """A visit's superbill (an invoice) or a period's."""
    return superbill_period_content(subject) if isinstance(subject, SuperbillPeriod) else superbill_content(subject)


def _find(patient, subject_id: int | None) -> Invoice | None:
    return Invoice.objects.filter(patient=patient, pk=subject_id).first() if subject_id else None


def _refuse_superbill(invoice: Invoice | SuperbillPeriod) -> str:
    if isinstance(invoice, SuperbillPeriod):
        return ""  # the service refused an empty range
    if invoice.kind != InvoiceKind.INVOICE or not any(line.code for line in invoice.lines.all()):
        return "A superbill lists coded services: this invoice has none."
    return ""


registry.register(
    DocumentKind.INVOICE,
    template="documents/invoice.html",
    build=invoice_content,
    patient_of=lambda invoice: invoice.patient,
    find=_find,
    not_found="No such invoice for this patient.",
    download_perms=DOWNLOAD,
)
registry.register(
    DocumentKind.SUPERBILL,
    template="documents/superbill.html",
    build=_superbill,
    patient_of=lambda invoice: invoice.patient,
    find=_find,
    refuse=_refuse_superbill,
    not_found="No such invoice for this patient.",
    download_perms=DOWNLOAD,
)
