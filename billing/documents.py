"""Billing's documents: the invoice (or credit note) and the superbill of a visit, registered with
the documents pipeline (issued, versioned, rendered by the worker, every download a disclosure).

Both are downloaded with the billing permission (never by clinicians, who see no money pages),
so they are listed on the patient's billing panel rather than the chart's documents card."""

from __future__ import annotations

from typing import Any

from billing import selectors
from billing.models import Invoice, InvoiceKind
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
    row = _row(invoice)
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
    profile = PrescriberProfile.objects.filter(user=user).first()
    return {
        "name": user.get_full_name() or user.get_username(),
        "credential": profile.get_credential_display() if profile else "",
        "npi": profile.npi if profile else "",
    }


def superbill_content(invoice: Invoice) -> dict[str, Any]:
    """What an insurer needs for an out-of-network claim of one visit: billing and rendering
    provider (name, credential, NPI, TIN), the patient, the date of service, ICD-10 from the signed
    consultation, CPT/HCPCS with units and charges, and what the patient paid."""
    content = invoice_content(invoice)
    row = _row(invoice)
    content["provider"] = _provider(row.rendering_provider)
    content["diagnoses"] = _diagnoses(row.patient_id)
    content["place_of_service"] = "11 (Office)"
    return content


def _find(patient, subject_id: int | None) -> Invoice | None:
    return Invoice.objects.filter(patient=patient, pk=subject_id).first() if subject_id else None


def _refuse_superbill(invoice: Invoice) -> str:
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
    build=superbill_content,
    patient_of=lambda invoice: invoice.patient,
    find=_find,
    refuse=_refuse_superbill,
    not_found="No such invoice for this patient.",
    download_perms=DOWNLOAD,
)
