"""Who may see money: the front desk and administrators (``billing.take_payments``); credit notes,
waivers, refunds and the financial reports are administrators' (``billing.issue_credit_note``,
``billing.view_financial_reports``). Clinicians hold no billing permission, so every money page
answers them 403. The permission is checked before the row is read (403 before 404)."""

from __future__ import annotations

from billing import selectors
from billing.models import Invoice, Payment
from billing.services import CREDIT, TAKE_PAYMENTS
from patients.access import VIEW, get_chart_object, get_patient_for_user, require_chart_perms


def patient_for_billing(request, patient_id: int, *, perm: str = TAKE_PAYMENTS):
    require_chart_perms(request, perm, patient_id=patient_id)
    return get_patient_for_user(request, patient_id)


def invoice_for_user(request, invoice_id: int, *, perm: str = TAKE_PAYMENTS) -> Invoice:
    return get_chart_object(
        request, lambda: selectors.invoice_detail(invoice_id), perm, VIEW, missing="No such invoice."
    )


def payment_for_user(request, payment_id: int, *, perm: str = CREDIT) -> Payment:
    return get_chart_object(
        request,
        lambda: (
            selectors.payments_with_unallocated(Payment.objects.filter(pk=payment_id)).select_related("patient").first()
        ),
        perm,
        VIEW,
        missing="No such payment.",
    )
