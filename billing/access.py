"""Who may see money: the front desk and administrators (``billing.take_payments``); credit notes,
waivers, refunds and the financial reports are administrators' (``billing.issue_credit_note``,
``billing.view_financial_reports``). Clinicians hold no billing permission, so every money page
answers them 403. The permission is checked before the row is read (403 before 404)."""

from __future__ import annotations

from django.db.models import F

from billing import selectors
from billing.models import Invoice, PackagePurchase, Payment, VisitItem
from billing.services import CREDIT, TAKE_PAYMENTS
from patients.access import VIEW, get_chart_object, get_patient_for_user, require_chart_perms
from scheduling.models import Appointment


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


def package_for_user(request, package_id: int, *, perm: str = CREDIT) -> PackagePurchase:
    return get_chart_object(
        request,
        lambda: PackagePurchase.objects.select_related("plan", "payment", "patient").filter(pk=package_id).first(),
        perm,
        VIEW,
        missing="No such package.",
    )


def visit_item_for_user(request, item_id: int) -> VisitItem:
    return get_chart_object(
        request,
        lambda: (
            VisitItem.objects.select_related("appointment", "fee_item")
            .annotate(patient_id=F("appointment__patient_id"))
            .filter(pk=item_id)
            .first()
        ),
        TAKE_PAYMENTS,
        VIEW,
        missing="No such item.",
    )


def appointment_for_deposit(request, appointment_id: int) -> Appointment:
    return get_chart_object(
        request,
        lambda: (
            Appointment.objects.select_related("location", "appointment_type", "patient")
            .filter(pk=appointment_id)
            .first()
        ),
        TAKE_PAYMENTS,
        VIEW,
        missing="No such appointment.",
    )
