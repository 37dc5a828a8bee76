"""Every write of money: issuing invoices and credit notes, recording, allocating and refunding
payments. Each runs in a transaction, locks what it changes, refuses with messages keyed by field
and writes one audit entry per action (category "billing")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from billing import rules, selectors
from billing.models import (
    VISIT_ITEM_MAX_UNITS,
    CodeSystem,
    FeeItem,
    FeeRole,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoicePurpose,
    InvoiceSequence,
    PackagePlan,
    PackagePurchase,
    PackageRedemption,
    Payment,
    PaymentAllocation,
    PaymentKind,
    PaymentStatus,
    SuperbillPeriod,
    VisitItem,
)
from billing.money import Money, to_cents
from core.audit import Category, Verb
from infusions.rules import DeliveryError as InfusionDeliveryError
from infusions.services import delivery as delivery_services
from scheduling.models import Appointment
from scheduling.rules import AppointmentStatus

TAKE_PAYMENTS = "billing.take_payments"
CREDIT = "billing.issue_credit_note"
MANAGE_FEES = "billing.manage_fees"
REPORTS = "billing.view_financial_reports"


REFUND_PENDING = "A refund of this payment is waiting for the payment provider: check it again first."


class BillingError(ValidationError):
    """A refused money action; ``message_dict`` keys are form fields (or ``__all__``)."""


def _require(by: User | None, perm: str) -> None:
    if by is not None and not by.has_perm(perm):
        raise PermissionDenied


@dataclass(frozen=True)
class LineDraft:
    description: str
    unit_price: Decimal
    units: int = 1
    code: str = ""
    code_system: str = CodeSystem.CLINIC
    fee_item: FeeItem | None = None
    # A share of a package's session price (the line's own charge, not units × price).
    share: Decimal | None = None

    @property
    def amount(self) -> Decimal:
        return self.share if self.share is not None else to_cents(self.unit_price * self.units)

    def priced_at(self, share: Decimal) -> LineDraft:
        return dataclasses.replace(self, share=share, unit_price=to_cents(share / self.units))

    @classmethod
    def of(cls, fee: FeeItem, units: int = 1) -> LineDraft:
        return cls(
            description=fee.description,
            unit_price=fee.price,
            units=units,
            code=fee.code,
            code_system=fee.code_system,
            fee_item=fee,
        )


def _next_number(location_id: int) -> int:
    """The location's next invoice number, holding its counter row until the transaction ends."""
    InvoiceSequence.objects.get_or_create(location_id=location_id)
    seq = InvoiceSequence.objects.select_for_update().get(location_id=location_id)
    seq.last_number += 1
    seq.save(update_fields=["last_number"])
    return seq.last_number


@transaction.atomic
def invoice_issue(
    *,
    patient,
    location_id: int,
    lines: list[LineDraft],
    by: User | None,
    purpose: str = InvoicePurpose.OTHER,
    service_date: date | None = None,
    appointment=None,
    rendering_provider=None,
    kind: str = InvoiceKind.INVOICE,
    credits: Invoice | None = None,
    reason: str = "",
) -> Invoice:
    """Write an invoice (or credit note) with its lines and its number: issued, final."""
    if not lines:
        raise BillingError({"__all__": ["An invoice needs at least one line."]})
    if any(line.unit_price < 0 or line.units < 1 for line in lines):
        raise BillingError({"amount": ["Amounts cannot be negative."]})
    now = timezone.now()
    settings = selectors.settings_for(location_id)
    invoice = Invoice.objects.create(
        location_id=location_id,
        number=_next_number(location_id),
        patient=patient,
        kind=kind,
        purpose=purpose,
        appointment=appointment,
        credits=credits,
        currency=credits.currency if credits is not None else settings.currency,
        total=sum((line.amount for line in lines), Decimal("0.00")),
        service_date=service_date or timezone.localdate(),
        reason=reason[:300],
        rendering_provider=rendering_provider,
        issued_at=now,
        issued_by=by,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            fee_item=line.fee_item,
            code_system=line.code_system,
            code=line.code,
            description=line.description[:120],
            units=line.units,
            unit_price=to_cents(line.unit_price),
            amount=line.amount,
        )
        for line in lines
    )
    audit.record(
        actor=by,
        action=f"billing.{kind}.issued",
        verb=Verb.CREATE,
        category=Category.BILLING,
        target=invoice,
        patient=patient,
        changes={
            "number": invoice.label,
            "purpose": purpose,
            "total": str(invoice.total),
            "codes": [f"{line.code}x{line.units}" for line in lines if line.code],
            **({"credits": credits.label, "reason": reason} if credits is not None else {}),
        },
    )
    return invoice


# --- From what happened ----------------------------------------------------------------


Held = list[tuple[datetime, datetime | None]]
# An infusion as billing reads it: the recorded start, the recorded stop and the stretches it was held.
Infused = tuple[datetime | None, datetime | None] | tuple[datetime | None, datetime | None, Held]


def _held(session) -> Held:
    """When the session's pump ran nothing: the stretches at 0 mL/h of its recorded delivery (its
    pauses and any rate charted at 0), or its pauses alone when no delivery can be computed (no
    verified dose it started on, or a record the delivery rules refuse)."""
    try:
        delivery = delivery_services.session_delivery(session, ended_at=session.ended_at)
    except InfusionDeliveryError:
        delivery = None
    if delivery is None:
        return delivery_services.pauses_of(session)
    return [(stretch.start, stretch.end) for stretch in delivery.stretches if stretch.rate_ml_per_h <= 0]


def infusion_times(appointment) -> Infused:
    """The recorded start and stop of the visit's infusion and the stretches it was held
    (None, None when there was none)."""
    session = getattr(appointment, "infusion_session", None)
    if session is None or session.started_at is None or session.ended_at is None:
        return (session.started_at, session.ended_at) if session is not None else (None, None)
    return session.started_at, session.ended_at, _held(session)


def visit_lines(appointment, *, infused: Infused | None = None) -> list[LineDraft]:
    """What a completed visit bills: its type's visit fee; for an infusion, the time it actually
    ran (the recorded start to the recorded stop, less its pauses) in CPT units (a stopped-early
    one bills what ran) and the drug."""
    on = appointment.start.astimezone(appointment.location.zone).date()
    loc = appointment.location_id
    lines: list[LineDraft] = []
    visit = selectors.fee_for(
        location_id=loc, role=FeeRole.VISIT, on=on, appointment_type_id=appointment.appointment_type_id
    )
    if visit is not None:
        lines.append(LineDraft.of(visit))
    started, ended, *rest = infused if infused is not None else infusion_times(appointment)
    held: Held = rest[0] if rest else []
    if started is not None:
        settings = selectors.settings_for(loc)
        units = rules.infusion_units(
            rules.infused_minutes(started, ended, held),
            push_max_minutes=settings.push_max_minutes,
            additional_over_minutes=settings.additional_hour_over_minutes,
        )
        for role, count in (
            (FeeRole.IV_PUSH, units.push),
            (FeeRole.INFUSION_FIRST_HOUR, units.first_hour),
            (FeeRole.INFUSION_ADDITIONAL_HOUR, units.additional_hours),
            (FeeRole.DRUG, 1),
        ):
            fee = selectors.fee_for(location_id=loc, role=role, on=on) if count else None
            if fee is not None:
                lines.append(LineDraft.of(fee, count))
    return lines


def _rendering_provider(appointment):
    session = getattr(appointment, "infusion_session", None)
    return (session.signed_by if session is not None and session.signed_by_id else None) or appointment.clinician


def _existing(appointment_id: int, purpose: str) -> Invoice | None:
    return Invoice.objects.filter(appointment_id=appointment_id, purpose=purpose, kind=InvoiceKind.INVOICE).first()


@transaction.atomic
def invoice_for_visit(*, appointment, by: User | None = None, infused: Infused | None = None) -> Invoice | None:
    """Invoice a completed visit once (a second call finds the first invoice); None when the fee
    schedule prices nothing it did. A visit a package covers is invoiced at the package's session
    price (its codes and units kept, for the superbill) and paid from the package; a deposit held
    for the visit pays what is left."""
    # Hold the visit: an item the desk adds now waits, then finds the invoice issued.
    Appointment.objects.select_for_update().filter(pk=appointment.pk).first()
    if (found := _existing(appointment.pk, InvoicePurpose.VISIT)) is not None:
        return found
    lines = visit_lines(appointment, infused=infused)
    service_date = appointment.start.astimezone(appointment.location.zone).date()
    purchase = selectors.active_package(
        patient_id=appointment.patient_id, appointment_type_id=appointment.appointment_type_id, on=service_date
    )
    if purchase is not None:
        lines = _package_priced(lines, purchase, appointment)
    session_value = sum((line.amount for line in lines), Decimal("0.00"))
    # Items entered by hand are billed at their fee on top: a package pays for the visit, not for extras.
    lines += [LineDraft.of(item.fee_item, item.units) for item in selectors.visit_items(appointment.pk)]
    if not lines:
        return None
    try:
        with transaction.atomic():
            invoice = invoice_issue(
                patient=appointment.patient,
                location_id=appointment.location_id,
                lines=lines,
                by=by,
                purpose=InvoicePurpose.VISIT,
                service_date=service_date,
                appointment=appointment,
                rendering_provider=_rendering_provider(appointment),
            )
            if purchase is not None:
                _redeem(purchase, appointment, invoice, session_value, by=by)
    except IntegrityError:  # a concurrent call invoiced it first
        return _existing(appointment.pk, InvoicePurpose.VISIT)
    _apply_deposits(invoice, by=by)
    return invoice


def _package_priced(lines: list[LineDraft], purchase: PackagePurchase, appointment) -> list[LineDraft]:
    """The visit's lines priced at the package's next session value (the session values add up to
    the package price exactly; each line gets a share in proportion to its fee)."""
    used = purchase.redemptions.count()
    value = Money(purchase.price).split([1] * purchase.sessions)[used].amount
    if not lines:
        lines = [LineDraft(description=f"{purchase.plan.name}: {appointment.appointment_type.name}", unit_price=value)]
    weights = [int(line.amount * 100) for line in lines]
    if sum(weights) == 0:
        weights = [1] * len(lines)
    shares = Money(value).split(weights)
    return [line.priced_at(share.amount) for line, share in zip(lines, shares, strict=True)]


def _redeem(purchase: PackagePurchase, appointment, invoice: Invoice, value: Decimal, *, by: User | None) -> None:
    """Draw one session (worth ``value`` of the invoice) from the package."""
    now = timezone.now()
    PackageRedemption.objects.create(purchase=purchase, appointment=appointment, invoice=invoice, at=now)
    if value > 0:
        PaymentAllocation.objects.create(payment=purchase.payment, invoice=invoice, amount=value, at=now, by=by)
    audit.record(
        actor=by,
        action="billing.package.session_used",
        verb=Verb.UPDATE,
        category=Category.BILLING,
        target=purchase,
        patient=appointment.patient,
        changes={"appointment": appointment.pk, "invoice": invoice.label, "value": str(value)},
    )


def _apply_deposits(invoice: Invoice, *, by: User | None) -> None:
    """Put the deposits taken for the invoice's appointment against it. Each is audited on its own:
    the deposit was recorded at booking, and this is when its money pays the visit or its fee."""
    if invoice.appointment_id is None:
        return
    now = timezone.now()
    for deposit in selectors.deposits_for(invoice.appointment_id):
        left = selectors.outstanding_of(invoice)
        take = min(left, selectors.annotated(deposit, "unallocated_amount"))
        if take > 0:
            PaymentAllocation.objects.create(payment=deposit, invoice=invoice, amount=take, at=now, by=by)
            audit.record(
                actor=by,
                action="billing.deposit.applied",
                verb=Verb.UPDATE,
                category=Category.BILLING,
                target=deposit,
                patient=invoice.patient,
                changes={"invoice": invoice.label, "amount": str(take)},
            )


@transaction.atomic
def fee_for_outcome(*, appointment, purpose: str, by: User | None = None) -> Invoice | None:
    """Charge the location's no-show or late-cancellation fee once (None when the fee is zero)."""
    if (found := _existing(appointment.pk, purpose)) is not None:
        return found
    settings = selectors.settings_for(appointment.location_id)
    amount = settings.no_show_fee if purpose == InvoicePurpose.NO_SHOW else settings.late_cancel_fee
    if not amount:
        return None
    label = InvoicePurpose(purpose).label
    line = LineDraft(description=f"{label}: {appointment.appointment_type.name}", unit_price=amount)
    try:
        with transaction.atomic():
            invoice = invoice_issue(
                patient=appointment.patient,
                location_id=appointment.location_id,
                lines=[line],
                by=by,
                purpose=purpose,
                service_date=appointment.start.astimezone(appointment.location.zone).date(),
                appointment=appointment,
            )
    except IntegrityError:
        return _existing(appointment.pk, purpose)
    _apply_deposits(invoice, by=by)
    return invoice


# --- Items entered by hand ---------------------------------------------------------------

# The visit is still ahead of its invoice: completing it issues the invoice (with the items).
OPEN_VISIT = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.IN_PROGRESS,
)


def _open_visit(appointment_id: int) -> Appointment:
    """The visit, locked; refused once its invoice is issued or it will not be invoiced."""
    locked = (
        Appointment.objects.select_for_update(of=("self",)).select_related("location", "patient").get(pk=appointment_id)
    )
    if _existing(locked.pk, InvoicePurpose.VISIT) is not None:
        raise BillingError(
            {"__all__": ["The visit's invoice is issued: correct it with a credit note or a separate invoice."]}
        )
    if locked.status not in OPEN_VISIT:
        raise BillingError({"__all__": [f"This visit is {locked.get_status_display().lower()}: it is not invoiced."]})
    return locked


@transaction.atomic
def visit_item_add(*, appointment, fee_item: FeeItem, units: int, by: User) -> VisitItem:
    """Enter a billable item for a visit by hand, before its invoice is issued (the invoice copies it)."""
    _require(by, TAKE_PAYMENTS)
    locked = _open_visit(appointment.pk)
    if fee_item.pk not in {fee.pk for fee in selectors.hand_entry_fees(locked)}:
        raise BillingError(
            {"fee_item": ["Choose an item of this location's fee schedule, in force on the visit's day."]}
        )
    if not 1 <= units <= VISIT_ITEM_MAX_UNITS:
        raise BillingError({"units": [f"Enter a quantity from 1 to {VISIT_ITEM_MAX_UNITS}."]})
    item = VisitItem.objects.create(
        appointment=locked, fee_item=fee_item, units=units, added_at=timezone.now(), added_by=by
    )
    audit.record(
        actor=by,
        action="billing.visit_item.added",
        verb=Verb.CREATE,
        category=Category.BILLING,
        target=item,
        patient=locked.patient,
        changes={
            "appointment": locked.pk,
            "item": fee_item.code or fee_item.description,
            "units": units,
            "unit_price": str(fee_item.price),
        },
    )
    return item


@transaction.atomic
def visit_item_remove(*, item: VisitItem, by: User) -> VisitItem:
    """Take back an item entered by mistake (kept, marked removed), while the visit is not invoiced."""
    _require(by, TAKE_PAYMENTS)
    locked_visit = _open_visit(item.appointment_id)
    locked = VisitItem.objects.select_for_update().select_related("fee_item").get(pk=item.pk)
    if locked.removed_at is not None:
        raise BillingError({"__all__": ["This item was already removed."]})
    locked.removed_at = timezone.now()
    locked.removed_by = by
    locked.save(update_fields=["removed_at", "removed_by"])
    audit.record(
        actor=by,
        action="billing.visit_item.removed",
        verb=Verb.DELETE,
        category=Category.BILLING,
        target=locked,
        patient=locked_visit.patient,
        changes={"appointment": locked_visit.pk, "item": locked.fee_item.code or locked.fee_item.description},
    )
    return locked


# --- Superbill for a period ------------------------------------------------------------


@transaction.atomic
def superbill_period(*, patient, date_from: date, date_to: date, by: User) -> SuperbillPeriod:
    """The patient's superbill over a range of dates of service (the subject its PDF is issued
    about); refused for a range out of order, too long, in the future or without a coded visit."""
    _require(by, TAKE_PAYMENTS)
    if refusal := rules.superbill_range_refusal(date_from=date_from, date_to=date_to, today=timezone.localdate()):
        raise BillingError({field: [message] for field, message in refusal.items()})
    if not selectors.superbill_invoices(patient.pk, date_from, date_to).exists():
        raise BillingError(
            {
                "__all__": [
                    f"No visit with coded services from {date_from:%m/%d/%Y} to {date_to:%m/%d/%Y}: "
                    "there is nothing to claim."
                ]
            }
        )
    try:
        with transaction.atomic():
            period, _ = SuperbillPeriod.objects.get_or_create(
                patient=patient,
                date_from=date_from,
                date_to=date_to,
                defaults={"requested_at": timezone.now(), "requested_by": by},
            )
    except IntegrityError:  # the same range asked at the same moment
        period = SuperbillPeriod.objects.get(patient=patient, date_from=date_from, date_to=date_to)
    return period


# --- Credit notes, waivers -----------------------------------------------------------------


def _release(invoice: Invoice, amount: Decimal, *, by: User | None, at) -> None:
    """Take ``amount`` of the payments allocated to ``invoice`` back onto those payments (latest first)."""
    per_payment: dict[int, Decimal] = {}
    for payment_id, value in invoice.allocations.order_by("id").values_list("payment_id", "amount"):
        per_payment[payment_id] = per_payment.get(payment_id, Decimal("0")) + value
    for payment_id in sorted(per_payment, reverse=True):
        if amount <= 0:
            break
        take = min(amount, per_payment[payment_id])
        if take > 0:
            PaymentAllocation.objects.create(payment_id=payment_id, invoice=invoice, amount=-take, at=at, by=by)
            amount -= take


@transaction.atomic
def credit_note_issue(
    *, invoice: Invoice, amount: Decimal, reason: str, by: User | None, action: str = "credit note"
) -> Invoice:
    """Take back ``amount`` of an invoice's charge. What the invoice still owes is cancelled first;
    beyond that, payments allocated to it are released onto their payments (to refund or reuse)."""
    _require(by, CREDIT)
    reason = reason.strip()
    if not reason:
        raise BillingError({"reason": ["Give a reason."]})
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)  # serialise credits of one invoice
    if locked.kind != InvoiceKind.INVOICE:
        raise BillingError({"__all__": ["A credit note corrects an invoice, not another credit note."]})
    amount = to_cents(amount)
    row = selectors.invoices_with_outstanding(Invoice.objects.filter(pk=locked.pk)).get()
    creditable = locked.total - selectors.annotated(row, "credited")
    outstanding = selectors.annotated(row, "outstanding_amount")
    if amount <= 0:
        raise BillingError({"amount": ["Enter an amount greater than zero."]})
    if amount > creditable:
        raise BillingError({"amount": [f"Only {creditable:,.2f} of this invoice is left to credit."]})
    now = timezone.now()
    if amount > outstanding:
        _release(locked, amount - max(outstanding, Decimal("0")), by=by, at=now)
    return invoice_issue(
        patient=locked.patient,
        location_id=locked.location_id,
        lines=[LineDraft(description=f"{action.capitalize()} for {locked.label}: {reason}"[:120], unit_price=amount)],
        by=by,
        purpose=locked.purpose,
        service_date=locked.service_date,
        kind=InvoiceKind.CREDIT_NOTE,
        credits=locked,
        reason=reason,
    )


def fee_waive(*, invoice: Invoice, reason: str, by: User) -> Invoice:
    """Waive a no-show or late-cancellation fee in full (an administrator, with a reason)."""
    _require(by, CREDIT)
    if invoice.purpose not in (InvoicePurpose.NO_SHOW, InvoicePurpose.LATE_CANCEL):
        raise BillingError(
            {
                "__all__": [
                    "Only a no-show or late-cancellation fee is waived; correct other invoices with a credit note."
                ]
            }
        )
    remaining = invoice.total - sum(c.total for c in invoice.credit_notes.all())
    if remaining <= 0:
        raise BillingError({"__all__": ["This fee has already been waived."]})
    note = credit_note_issue(invoice=invoice, amount=remaining, reason=reason, by=by, action="fee waived")
    audit.record(
        actor=by,
        action="billing.fee.waived",
        verb=Verb.UPDATE,
        category=Category.BILLING,
        target=invoice,
        patient=invoice.patient,
        changes={
            "invoice": invoice.label,
            "credit_note": note.label,
            "amount": str(remaining),
            "reason": reason.strip(),
        },
    )
    return note


# --- Payments ----------------------------------------------------------------------------


def _allocate(payment: Payment, invoice: Invoice, amount: Decimal, *, by: User | None, at) -> PaymentAllocation:
    if invoice.patient_id != payment.patient_id:
        raise BillingError({"invoice": ["That invoice is another patient's."]})
    outstanding = selectors.outstanding_of(invoice)
    unallocated = selectors.unallocated_of(payment)
    if why := rules.allocation_refusal(amount=amount, unallocated=unallocated, outstanding=outstanding):
        raise BillingError({"amount": [why]})
    return PaymentAllocation.objects.create(payment=payment, invoice=invoice, amount=amount, at=at, by=by)


def _auto_allocate(payment: Payment, *, by: User | None, at, first: Invoice | None = None) -> None:
    """Put what is left of the payment against ``first`` then the patient's oldest open invoices."""
    left = selectors.unallocated_of(payment)
    targets = selectors.open_invoices(payment.patient_id)
    if first is not None:
        targets.sort(key=lambda inv: inv.pk != first.pk)
    for inv in targets:
        if left <= 0:
            break
        take = min(left, selectors.annotated(inv, "outstanding_amount"))
        if take > 0:
            PaymentAllocation.objects.create(payment=payment, invoice=inv, amount=take, at=at, by=by)
            left -= take


@transaction.atomic
def payment_record(
    *,
    patient,
    location_id: int,
    method: str,
    amount: Decimal,
    idempotency_key: str,
    by: User | None,
    reference: str = "",
    note: str = "",
    invoice: Invoice | None = None,
    status: str = PaymentStatus.COMPLETED,
    provider_id: str = "",
    deposit_for=None,
    reserved: bool = False,
    provider_method: str = "",
) -> Payment:
    """Record money received. The same ``idempotency_key`` twice records once (the first payment is
    returned): a double-click or a retried request cannot take the money twice. A completed
    payment is allocated to ``invoice`` first, then to the oldest open invoices; a deposit
    (``deposit_for`` an appointment) waits for that visit's invoice, and a package's prepayment
    (``reserved``) only ever pays its sessions."""
    _require(by, TAKE_PAYMENTS)
    found = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if found is not None:
        if found.patient_id != patient.pk:
            raise BillingError({"__all__": ["That payment was already recorded for another patient."]})
        return found
    amount = to_cents(amount)
    if amount <= 0:
        raise BillingError({"amount": ["Enter an amount greater than zero."]})
    if method not in Payment.Method.values:
        raise BillingError({"method": ["Choose how the patient paid."]})
    if rules.looks_like_card_number(reference):
        raise BillingError({"reference": ["Never type a card number here: use the terminal's receipt number."]})
    if invoice is not None and invoice.patient_id != patient.pk:
        raise BillingError({"invoice": ["That invoice is another patient's."]})
    # Lock the patient's money: two payments allocating at once cannot both take the same outstanding amount.
    type(patient).objects.select_for_update().filter(pk=patient.pk).first()
    now = timezone.now()
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                patient=patient,
                location_id=location_id,
                method=method,
                amount=amount,
                currency=selectors.settings_for(location_id).currency,
                status=status,
                idempotency_key=idempotency_key,
                reference=reference.strip()[:60],
                provider_id=provider_id,
                note=note.strip()[:200],
                received_at=now,
                received_by=by,
                completed_at=now if status == PaymentStatus.COMPLETED else None,
                appointment=deposit_for,
                reserved=reserved,
                # A pending card payment pays the chosen invoice first once the provider completes it.
                apply_first=invoice if status == PaymentStatus.PENDING else None,
                provider_method=provider_method[:80],
            )
    except IntegrityError:  # the same key, recorded by a concurrent request
        return Payment.objects.get(idempotency_key=idempotency_key)
    if status == PaymentStatus.COMPLETED and deposit_for is None and not reserved:
        _auto_allocate(payment, by=by, at=now, first=invoice)
    audit.record(
        actor=by,
        action="billing.payment.recorded",
        verb=Verb.CREATE,
        category=Category.BILLING,
        target=payment,
        patient=patient,
        changes={
            "method": method,
            "amount": str(amount),
            "status": status,
            **({"invoice": invoice.label} if invoice else {}),
        },
    )
    return payment


@transaction.atomic
def payment_allocate(*, payment: Payment, invoice: Invoice, amount: Decimal, by: User) -> PaymentAllocation:
    _require(by, TAKE_PAYMENTS)
    type(payment.patient).objects.select_for_update().filter(pk=payment.patient_id).first()
    if payment.status != PaymentStatus.COMPLETED or payment.kind != PaymentKind.PAYMENT:
        raise BillingError({"__all__": ["Only a completed payment can be allocated."]})
    if payment.reserved:
        raise BillingError({"payment": ["A package's prepayment pays only its sessions."]})
    if selectors.refund_pending(payment.pk):
        raise BillingError({"payment": [REFUND_PENDING]})
    allocation = _allocate(payment, invoice, to_cents(amount), by=by, at=timezone.now())
    audit.record(
        actor=by,
        action="billing.payment.allocated",
        verb=Verb.UPDATE,
        category=Category.BILLING,
        target=payment,
        patient=payment.patient,
        changes={"invoice": invoice.label, "amount": str(allocation.amount)},
    )
    return allocation


@transaction.atomic
def payment_refund(
    *, payment: Payment, amount: Decimal, reason: str, idempotency_key: str, by: User | None, package: bool = False
) -> Payment:
    """Give back part or all of what a payment has not put against an invoice (credit an invoice
    first to free what it holds). Recorded as a refund row by the payment's method."""
    _require(by, CREDIT)
    found = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if found is not None:
        return found
    type(payment.patient).objects.select_for_update().filter(pk=payment.patient_id).first()
    if payment.kind != PaymentKind.PAYMENT or payment.status != PaymentStatus.COMPLETED:
        raise BillingError({"__all__": ["Only a completed payment can be refunded."]})
    if payment.reserved and not package:
        raise BillingError({"__all__": ["A package's prepayment is refunded by closing the package."]})
    if not reason.strip():
        raise BillingError({"reason": ["Give a reason."]})
    if selectors.refund_pending(payment.pk):
        raise BillingError({"__all__": [REFUND_PENDING]})
    amount = to_cents(amount)
    left = selectors.unallocated_of(payment)
    if amount <= 0:
        raise BillingError({"amount": ["Enter an amount greater than zero."]})
    if amount > left:
        raise BillingError(
            {"amount": [f"Only {left:,.2f} of this payment is not allocated to an invoice; credit an invoice first."]}
        )
    now = timezone.now()
    # A card taken through the provider is refunded through it (``billing.settlement.card_refund``):
    # pending until the provider says so.
    through_provider = bool(payment.provider_id)
    refund = Payment.objects.create(
        patient_id=payment.patient_id,
        location_id=payment.location_id,
        kind=PaymentKind.REFUND,
        method=payment.method,
        amount=amount,
        currency=payment.currency,
        status=PaymentStatus.PENDING if through_provider else PaymentStatus.COMPLETED,
        refund_of=payment,
        idempotency_key=idempotency_key,
        note=reason.strip()[:200],
        received_at=now,
        received_by=by,
        completed_at=None if through_provider else now,
    )

    audit.record(
        actor=by,
        action="billing.payment.refunded",
        verb=Verb.CREATE,
        category=Category.BILLING,
        target=refund,
        patient=payment.patient,
        changes={"refund_of": payment.pk, "amount": str(amount), "reason": reason.strip()},
    )
    return refund


def billing_viewed(*, by: User, patient, target=None) -> None:
    """A money page of one patient was read."""
    audit.record_read(
        actor=by, action="billing.patient.viewed", target=target or patient, patient=patient, category=Category.BILLING
    )


# --- Packages -----------------------------------------------------------------------------


@transaction.atomic
def package_sell(
    *, patient, plan: PackagePlan, method: str, idempotency_key: str, by: User, reference: str = ""
) -> PackagePurchase:
    """Sell a prepaid series: the patient pays its price now (a payment held for its sessions)."""
    _require(by, TAKE_PAYMENTS)
    if not plan.active:
        raise BillingError({"plan": ["This package is no longer sold."]})
    found = PackagePurchase.objects.filter(payment__idempotency_key=idempotency_key).first()
    if found is not None:
        return found
    payment = payment_record(
        patient=patient,
        location_id=plan.location_id,
        method=method,
        amount=plan.price,
        idempotency_key=idempotency_key,
        by=by,
        reference=reference,
        note=f"Package: {plan.name}",
        reserved=True,
    )
    now = timezone.now()
    purchase = PackagePurchase.objects.create(
        patient=patient,
        plan=plan,
        payment=payment,
        sessions=plan.sessions,
        price=plan.price,
        expires_on=timezone.localdate() + timedelta(days=plan.validity_days),
        sold_at=now,
        sold_by=by,
    )
    audit.record(
        actor=by,
        action="billing.package.sold",
        verb=Verb.CREATE,
        category=Category.BILLING,
        target=purchase,
        patient=patient,
        changes={"plan": plan.name, "sessions": plan.sessions, "price": str(plan.price), "method": method},
    )
    return purchase


@transaction.atomic
def package_close(*, purchase: PackagePurchase, reason: str, by: User) -> Payment | None:
    """Close a package (the patient stops, or it expired): its unused sessions are refunded pro rata
    when the location's policy says so (the session values not yet used), else forfeited."""
    _require(by, CREDIT)
    locked = PackagePurchase.objects.select_for_update().select_related("payment").get(pk=purchase.pk)
    if locked.closed_at is not None:
        raise BillingError({"__all__": ["This package is already closed."]})
    if not reason.strip():
        raise BillingError({"reason": ["Give a reason."]})
    left = selectors.unallocated_of(locked.payment)
    refund = None
    if left > 0 and selectors.settings_for(locked.plan.location_id).refund_unused_sessions:
        refund = payment_refund(
            payment=locked.payment,
            amount=left,
            reason=f"Unused package sessions: {reason.strip()}",
            idempotency_key=f"package-{locked.pk}-close",
            by=by,
            package=True,
        )
    locked.closed_at = timezone.now()
    locked.closed_reason = reason.strip()[:200]
    locked.save(update_fields=["closed_at", "closed_reason"])
    audit.record(
        actor=by,
        action="billing.package.closed",
        verb=Verb.UPDATE,
        category=Category.BILLING,
        target=locked,
        patient=locked.patient,
        changes={"refunded": str(refund.amount) if refund else "0.00", "reason": reason.strip()},
    )
    return refund
