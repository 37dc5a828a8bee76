"""Reads of money: what an invoice still owes, what a payment has left, a patient's balance.

An invoice's outstanding amount is its total less its credit notes and the (net) allocations of
completed payments; a payment's unallocated amount is its amount less its net allocations and its
completed refunds. The patient's balance is charges less credits less payments plus refunds, which
equals the invoices' outstanding less the payments' unallocated (the property tests hold it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import (
    BillingSettings,
    FeeItem,
    FeeRole,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoicePurpose,
    PackagePlan,
    PackagePurchase,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentStatus,
    VisitItem,
)

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))
COMPLETED = PaymentStatus.COMPLETED


def _credited_sq() -> Coalesce:
    credits = (
        Invoice.objects.filter(credits=OuterRef("pk"), kind=InvoiceKind.CREDIT_NOTE)
        .order_by()
        .values("credits")
        .annotate(s=Sum("total"))
        .values("s")
    )
    return Coalesce(Subquery(credits[:1]), ZERO)


def _allocated_sq() -> Coalesce:
    allocated = (
        PaymentAllocation.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return Coalesce(Subquery(allocated[:1]), ZERO)


def invoices_with_outstanding(qs: QuerySet[Invoice] | None = None) -> QuerySet[Invoice]:
    """Invoices (not credit notes) annotated with ``credited``, ``allocated`` and ``outstanding``."""
    qs = Invoice.objects.all() if qs is None else qs
    return (
        qs.filter(kind=InvoiceKind.INVOICE)
        .annotate(credited=_credited_sq(), allocated=_allocated_sq())
        .annotate(outstanding_amount=Coalesce("total", ZERO) - Coalesce("credited", ZERO) - Coalesce("allocated", ZERO))
    )


def payments_with_unallocated(qs: QuerySet[Payment] | None = None) -> QuerySet[Payment]:
    qs = Payment.objects.all() if qs is None else qs
    allocated = (
        PaymentAllocation.objects.filter(payment=OuterRef("pk"))
        .order_by()
        .values("payment")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    refunded = (
        Payment.objects.filter(refund_of=OuterRef("pk"), kind=PaymentKind.REFUND, status=COMPLETED)
        .order_by()
        .values("refund_of")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return qs.annotate(
        allocated=Coalesce(Subquery(allocated[:1]), ZERO), refunded=Coalesce(Subquery(refunded[:1]), ZERO)
    ).annotate(unallocated_amount=Coalesce("amount", ZERO) - Coalesce("allocated", ZERO) - Coalesce("refunded", ZERO))


def refund_pending(payment_id: int) -> bool:
    """A refund of the payment is with the provider: its money is neither refundable nor allocatable until settled."""
    return Payment.objects.filter(refund_of_id=payment_id, status=PaymentStatus.PENDING).exists()


def annotated(obj: object, name: str) -> Decimal:
    """An amount a selector annotated on ``obj`` (``outstanding_amount``, ``unallocated_amount``...)."""
    return Decimal(getattr(obj, name))


def outstanding_of(invoice: Invoice) -> Decimal:
    return annotated(invoices_with_outstanding(Invoice.objects.filter(pk=invoice.pk)).get(), "outstanding_amount")


def unallocated_of(payment: Payment) -> Decimal:
    return annotated(payments_with_unallocated(Payment.objects.filter(pk=payment.pk)).get(), "unallocated_amount")


@dataclass(frozen=True)
class Balance:
    charged: Decimal
    credited: Decimal
    paid: Decimal
    refunded: Decimal
    currency: str = "USD"
    # Paid ahead for what has not happened yet: a package's sessions to come, a booking's deposit.
    held: Decimal = Decimal("0.00")

    @property
    def owed(self) -> Decimal:
        """What the patient owes (negative: money on account), all money counted."""
        return self.charged - self.credited - self.paid + self.refunded

    @property
    def due(self) -> Decimal:
        """What the patient owes now (negative: money on account): money held for sessions and
        visits to come does not pay today's invoices, so it is not counted against them."""
        return self.owed + self.held


def patient_balance(patient_id: int) -> Balance:
    """Three queries, however many invoices and payments."""
    inv = Invoice.objects.filter(patient_id=patient_id).aggregate(
        charged=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.INVOICE)), ZERO),
        credited=Coalesce(Sum("total", filter=Q(kind=InvoiceKind.CREDIT_NOTE)), ZERO),
    )
    pay = Payment.objects.filter(patient_id=patient_id, status=COMPLETED).aggregate(
        paid=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.PAYMENT)), ZERO),
        refunded=Coalesce(Sum("amount", filter=Q(kind=PaymentKind.REFUND)), ZERO),
    )
    held = payments_with_unallocated(
        Payment.objects.filter(patient_id=patient_id, status=COMPLETED, kind=PaymentKind.PAYMENT).filter(
            Q(reserved=True) | Q(appointment__isnull=False)
        )
    ).aggregate(held=Coalesce(Sum("unallocated_amount"), ZERO))["held"]
    return Balance(
        charged=inv["charged"], credited=inv["credited"], paid=pay["paid"], refunded=pay["refunded"], held=held
    )


def patient_invoices(patient_id: int, *, limit: int = 50) -> list[Invoice]:
    return list(
        invoices_with_outstanding(Invoice.objects.filter(patient_id=patient_id))
        .select_related("location", "appointment__appointment_type")
        .order_by("-issued_at", "-id")[:limit]
    )


def patient_credit_notes(patient_id: int, *, limit: int = 50) -> list[Invoice]:
    return list(
        Invoice.objects.filter(patient_id=patient_id, kind=InvoiceKind.CREDIT_NOTE)
        .select_related("location", "credits")
        .order_by("-issued_at", "-id")[:limit]
    )


def patient_payments(patient_id: int, *, limit: int = 50) -> list[Payment]:
    return list(
        payments_with_unallocated(Payment.objects.filter(patient_id=patient_id))
        .select_related("received_by")
        .order_by("-received_at", "-id")[:limit]
    )


def open_invoices(patient_id: int) -> list[Invoice]:
    """The patient's invoices still owing, oldest first (where a payment goes when none is named)."""
    invoices = invoices_with_outstanding(Invoice.objects.filter(patient_id=patient_id)).order_by("issued_at", "id")
    return [inv for inv in invoices if annotated(inv, "outstanding_amount") > 0]


def settings_for(location_id: int) -> BillingSettings:
    """The location's billing settings, or the defaults (unsaved) when none were set."""
    found = BillingSettings.objects.filter(location_id=location_id).first()
    return found if found is not None else BillingSettings(location_id=location_id)


def fees_in_force(location_id: int, on: date) -> QuerySet[FeeItem]:
    return FeeItem.objects.filter(location_id=location_id, effective_from__lte=on).filter(
        Q(effective_until__isnull=True) | Q(effective_until__gte=on)
    )


# What the desk may bill by hand: the visit fee, a drug or another item. The infusion's hours and
# push come from its recorded times, and the deposit and the fees from their own flows, so a hand
# entry of those would bill what nobody recorded (or bill it twice).
HAND_ENTERED_ROLES = (FeeRole.VISIT, FeeRole.DRUG, FeeRole.OTHER)


def hand_entry_fees(appointment) -> list[FeeItem]:
    """The fees the desk can pick for the visit: in force at its location on its date."""
    on = appointment.start.astimezone(appointment.location.zone).date()
    return list(
        fees_in_force(appointment.location_id, on)
        .filter(role__in=HAND_ENTERED_ROLES)
        .order_by("code", "description", "-effective_from", "id")
    )


def visit_items(appointment_id: int) -> list[VisitItem]:
    """The items entered by hand for the visit and still standing, oldest first."""
    return list(
        VisitItem.objects.filter(appointment_id=appointment_id, removed_at__isnull=True)
        .select_related("fee_item", "added_by")
        .order_by("added_at", "id")
    )


def visit_invoice(appointment_id: int) -> Invoice | None:
    return Invoice.objects.filter(
        appointment_id=appointment_id, purpose=InvoicePurpose.VISIT, kind=InvoiceKind.INVOICE
    ).first()


def superbill_invoices(patient_id: int, date_from: date, date_to: date) -> QuerySet[Invoice]:
    """The patient's invoices with a coded service dated in the range (what a superbill lists),
    with what each still owes, in date-of-service order."""
    coded = InvoiceLine.objects.filter(invoice=OuterRef("pk")).exclude(code="")
    return (
        invoices_with_outstanding(
            Invoice.objects.filter(
                patient_id=patient_id, kind=InvoiceKind.INVOICE, service_date__range=(date_from, date_to)
            )
        )
        .filter(Exists(coded))
        .select_related("location", "rendering_provider")
        .prefetch_related("lines")
        .order_by("service_date", "issued_at", "id")
    )


def fee_for(*, location_id: int, role: str, on: date, appointment_type_id: int | None = None) -> FeeItem | None:
    """The fee in force on ``on`` for ``role`` (for the visit fee: the type's own, else the location's
    fee for every type)."""
    qs = fees_in_force(location_id, on).filter(role=role)
    if role == FeeRole.VISIT:
        qs = qs.filter(Q(appointment_type_id=appointment_type_id) | Q(appointment_type__isnull=True)).order_by(
            "appointment_type_id"  # the type's own fee (not null) first
        )
        own = qs.filter(appointment_type_id=appointment_type_id).order_by("-effective_from", "-id").first()
        return own or qs.filter(appointment_type__isnull=True).order_by("-effective_from", "-id").first()
    return qs.order_by("-effective_from", "-id").first()


def invoice_detail(invoice_id: int) -> Invoice | None:
    return (
        invoices_with_outstanding(Invoice.objects.filter(pk=invoice_id))
        .select_related("location", "patient", "appointment__appointment_type", "issued_by", "rendering_provider")
        .prefetch_related("lines", "credit_notes", "allocations__payment")
        .first()
    ) or Invoice.objects.filter(pk=invoice_id, kind=InvoiceKind.CREDIT_NOTE).select_related(
        "location", "patient", "credits", "issued_by"
    ).prefetch_related("lines").first()


def allocatable_payments(patient_id: int) -> list[Payment]:
    """The patient's completed payments with money not yet put against an invoice."""
    return [
        p
        for p in patient_payments(patient_id)
        if p.kind == PaymentKind.PAYMENT
        and p.status == COMPLETED
        and not p.reserved
        and annotated(p, "unallocated_amount") > 0
    ]


def payment_with_key(key: str, patient_id: int) -> Payment | None:
    return Payment.objects.filter(idempotency_key=key, patient_id=patient_id).first() if key else None


def active_package(*, patient_id: int, appointment_type_id: int, on: date) -> PackagePurchase | None:
    """The patient's oldest open package for this type, unexpired on ``on``, with a session left."""
    for purchase in (
        PackagePurchase.objects.filter(
            patient_id=patient_id,
            plan__appointment_type_id=appointment_type_id,
            closed_at__isnull=True,
            expires_on__gte=on,
        )
        .select_related("plan", "payment")
        .annotate(used=Count("redemptions"))
        .order_by("sold_at", "id")
    ):
        if annotated_int(purchase, "used") < purchase.sessions:
            return purchase
    return None


def annotated_int(obj: object, name: str) -> int:
    return int(getattr(obj, name))


def patient_packages(patient_id: int) -> list[PackagePurchase]:
    return list(
        PackagePurchase.objects.filter(patient_id=patient_id)
        .select_related("plan", "payment")
        .annotate(used=Count("redemptions"))
        .order_by("-sold_at", "-id")[:20]
    )


def deposits_for(appointment_id: int) -> list[Payment]:
    return [
        p
        for p in payments_with_unallocated(
            Payment.objects.filter(appointment_id=appointment_id, kind=PaymentKind.PAYMENT, status=COMPLETED)
        ).order_by("id")
        if annotated(p, "unallocated_amount") > 0
    ]


def sellable_plans(location_ids: list[int] | None = None) -> list[PackagePlan]:
    qs = PackagePlan.objects.filter(active=True).select_related("location", "appointment_type")
    return list(qs.filter(location_id__in=location_ids) if location_ids is not None else qs)


def deposit_due(appointment) -> FeeItem | None:
    """The deposit the appointment's type asks at its location (a fee of role "deposit"), if any."""
    on = appointment.start.astimezone(appointment.location.zone).date()
    return (
        fees_in_force(appointment.location_id, on)
        .filter(role=FeeRole.DEPOSIT, appointment_type_id=appointment.appointment_type_id)
        .order_by("-effective_from", "-id")
        .first()
    )


def has_deposit(appointment_id: int) -> bool:
    """A deposit taken or with the payment provider (a declined card leaves it still to take)."""
    return (
        Payment.objects.filter(appointment_id=appointment_id, kind=PaymentKind.PAYMENT)
        .exclude(status=PaymentStatus.FAILED)
        .exists()
    )
