"""Card payments and refunds through the payment provider, and their settlement.

The order is what keeps money from being lost or taken twice: the pending row is written (and
committed) with its idempotency key before the provider is called; the call sends that key; the
answer settles the row in a second transaction. A timeout or a 5xx leaves the row pending, and
asking again (the desk's "Check again", the reconcile task, the provider's webhook) sends the same
key or reads the intent, so the provider answers with the first charge instead of making another.
A settled row is final (the database refuses to change it), so two answers settle it once.

A completed payment is allocated by the same code as a desk payment (``services._auto_allocate``).
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from billing import services
from billing.models import Invoice, InvoiceKind, Payment, PaymentKind, PaymentMethod, PaymentStatus, ProviderEvent
from billing.providers import (
    FAILED,
    PENDING,
    SUCCEEDED,
    Event,
    Intent,
    ProviderDeclined,
    ProviderUnavailable,
    Refund,
    from_minor_units,
    get_provider,
)
from core.audit import Category, Verb

logger = logging.getLogger(__name__)

# A provider keeps an idempotency key for 24 hours (Stripe's documented window); past this a
# create call is never replayed (it could charge again), the intent is only read.
REPLAY_WINDOW = timedelta(hours=23)


def _lock(payment_id: int) -> Payment:
    return Payment.objects.select_for_update().select_related("patient").get(pk=payment_id)


def _card_words(intent: Intent) -> str:
    return f"{intent.card_brand.title()} ending {intent.card_last4}" if intent.card_last4 else ""


@transaction.atomic
def _settle(
    payment_id: int, outcome: str, provider_id: str, *, by: User | None, via: str, cents: int | None = None, card=""
) -> Payment:
    """Complete or fail a pending payment or refund from the provider's answer; a settled row is
    left as it is (the database refuses to change it). A completed payment is allocated as at the desk."""
    row = _lock(payment_id)
    if row.status != PaymentStatus.PENDING or outcome == PENDING:
        if row.status == PaymentStatus.PENDING and provider_id and not row.provider_id:
            row.provider_id = provider_id
            row.save(update_fields=["provider_id"])
        return row
    if outcome == SUCCEEDED and cents is not None and from_minor_units(cents) != row.amount:
        # Never complete a payment for an amount we did not ask for; someone must look.
        logger.warning("Card payment %s: the provider's amount differs; left pending.", row.pk)
        return row
    is_payment = row.kind == PaymentKind.PAYMENT
    if is_payment:  # the same lock order as a desk payment: the patient's money, then the row
        type(row.patient).objects.select_for_update().filter(pk=row.patient_id).first()
    now = timezone.now()
    row.provider_id = provider_id or row.provider_id
    row.status = PaymentStatus.COMPLETED if outcome == SUCCEEDED else PaymentStatus.FAILED
    fields = ["provider_id", "status"]
    if outcome == SUCCEEDED:
        row.completed_at = now
        row.reference = card[:60] or row.reference
        fields += ["completed_at", "reference"]
    row.save(update_fields=fields)
    if outcome == SUCCEEDED and is_payment and row.appointment_id is None and not row.reserved:
        services._auto_allocate(row, by=by, at=now, first=row.apply_first)
    elif outcome == SUCCEEDED and is_payment and row.appointment_id is not None:
        # A deposit that completed after its visit (or its fee) was invoiced pays it now, as at the desk.
        for invoice in Invoice.objects.filter(appointment_id=row.appointment_id, kind=InvoiceKind.INVOICE):
            services._apply_deposits(invoice, by=by)
    noun = "payment" if is_payment else "refund"
    audit.record(
        actor=by,
        action=f"billing.{noun}.{'completed' if outcome == SUCCEEDED else 'failed'}",
        verb=Verb.UPDATE,
        category=Category.BILLING,
        target=row,
        patient=row.patient,
        changes={"status": row.status, "provider_id": row.provider_id, "via": via},
    )
    return row


def _settle_payment(payment_id: int, intent: Intent, *, by: User | None, via: str) -> Payment:
    return _settle(
        payment_id, intent.outcome, intent.id, by=by, via=via, cents=intent.amount_cents, card=_card_words(intent)
    )


def _settle_refund(refund_id: int, result: Refund, *, by: User | None, via: str) -> Payment:
    return _settle(refund_id, result.outcome, result.id, by=by, via=via)


def _intent_of(payment: Payment, *, replay: bool, capture: bool = True) -> Intent:
    """Ask the provider where the payment's intent stands: read it when we know its id, else send
    the create call again with the same key (the provider answers with the first intent)."""
    provider = get_provider()
    if payment.provider_id:
        intent = provider.retrieve_intent(payment.provider_id)
    elif replay:
        intent = provider.create_intent(
            amount=payment.amount,
            currency=payment.currency,
            idempotency_key=payment.idempotency_key,
            payment_method=payment.provider_method,
            metadata={"payment": str(payment.pk)},
        )
    else:
        raise ProviderUnavailable("Past the provider's idempotency window: read the intent in its dashboard.")
    if intent.needs_capture and capture:
        intent = provider.capture_intent(intent.id, idempotency_key=f"{payment.idempotency_key}-capture")
    return intent


def _refund_of(refund: Payment, *, replay: bool) -> Refund:
    provider = get_provider()
    if refund.provider_id:
        return provider.retrieve_refund(refund.provider_id)
    if not replay:
        raise ProviderUnavailable("Past the provider's idempotency window: read the refund in its dashboard.")
    paid = refund.refund_of
    if paid is None or not paid.provider_id:  # the constraint says a refund names its payment
        raise ProviderDeclined("This refund names no payment the provider took.")
    return provider.create_refund(
        intent_id=paid.provider_id,
        amount=refund.amount,
        idempotency_key=refund.idempotency_key,
        metadata={"refund": str(refund.pk)},
    )


def payment_check(*, payment: Payment, by: User | None, via: str = "check") -> Payment:
    """Ask the provider about a pending card payment or refund and settle it from the answer.
    Raises ``ProviderUnavailable`` when the provider still gives no answer (the row stays pending);
    a refusal for good fails the row."""
    if by is not None:
        services._require(by, services.TAKE_PAYMENTS)
    payment = Payment.objects.select_related("refund_of").get(pk=payment.pk)
    if payment.status != PaymentStatus.PENDING:
        return payment
    replay = timezone.now() - payment.received_at < REPLAY_WINDOW
    is_refund = payment.kind == PaymentKind.REFUND
    try:
        if is_refund:
            return _settle_refund(payment.pk, _refund_of(payment, replay=replay), by=by, via=via)
        return _settle_payment(payment.pk, _intent_of(payment, replay=replay), by=by, via=via)
    except ProviderDeclined:
        return _settle(payment.pk, FAILED, "", by=by, via=via)


def payment_cancel(*, payment: Payment, by: User) -> Payment:
    """Give up a pending card payment (the patient left before the reader took the card): the
    intent is cancelled at the provider and the payment failed. One the provider completed in the
    meantime is completed instead, never cancelled. Raises ``ProviderUnavailable`` when the provider
    does not answer (the payment stays pending)."""
    services._require(by, services.TAKE_PAYMENTS)
    payment = Payment.objects.get(pk=payment.pk)
    if payment.status != PaymentStatus.PENDING or payment.kind != PaymentKind.PAYMENT:
        return payment
    replay = timezone.now() - payment.received_at < REPLAY_WINDOW
    provider = get_provider()
    try:
        intent = _intent_of(payment, replay=replay, capture=False)
        if intent.outcome == PENDING:
            intent = provider.cancel_intent(intent.id, idempotency_key=f"{payment.idempotency_key}-cancel")
    except ProviderDeclined:
        return _settle(payment.pk, FAILED, "", by=by, via="cancel")
    return _settle_payment(payment.pk, intent, by=by, via="cancel")


def card_payment_start(
    *,
    patient,
    location_id: int,
    amount: Decimal,
    idempotency_key: str,
    provider_method: str,
    by: User,
    invoice: Invoice | None = None,
    method: str = PaymentMethod.CARD,
    note: str = "",
    deposit_for=None,
) -> Payment:
    """Charge a card through the provider: the pending payment is committed first, then the intent
    is created (and confirmed when the card was read) with the payment's idempotency key. Returns
    the payment completed, failed, or still pending when the provider did not answer in time.
    Called outside a transaction (a view), so the pending row is committed before the call."""
    payment = services.payment_record(
        patient=patient,
        location_id=location_id,
        method=method,
        amount=amount,
        idempotency_key=idempotency_key,
        by=by,
        invoice=invoice,
        status=PaymentStatus.PENDING,
        provider_method=provider_method,
        note=note,
        deposit_for=deposit_for,
    )
    if payment.status != PaymentStatus.PENDING:  # the same form posted again after it settled
        return payment
    try:
        return payment_check(payment=payment, by=by, via="desk")
    except ProviderUnavailable:
        logger.warning("Card payment %s: the provider did not answer; left pending.", payment.pk)
        return Payment.objects.get(pk=payment.pk)


def card_refund(*, payment: Payment, amount: Decimal, reason: str, idempotency_key: str, by: User | None) -> Payment:
    """Refund a payment; one the provider took is refunded through it once the pending refund row
    is committed (with the row's idempotency key), and settles from its answer or its webhook."""
    with transaction.atomic():
        refund = services.payment_refund(
            payment=payment, amount=amount, reason=reason, idempotency_key=idempotency_key, by=by
        )
        if refund.status == PaymentStatus.PENDING and refund.refund_of_id == payment.pk:
            transaction.on_commit(partial(refund_submit, refund.pk))
    return Payment.objects.get(pk=refund.pk)  # as the provider's answer left it


def refund_submit(refund_id: int) -> None:
    """Send a pending card refund to the provider (after the refund row is committed)."""
    refund = Payment.objects.get(pk=refund_id)
    try:
        payment_check(payment=refund, by=None, via="refund")
    except ProviderUnavailable:
        logger.warning("Card refund %s: the provider did not answer; left pending.", refund_id)


def _find(model_id: str, provider_id: str, kind: str) -> Payment | None:
    found = Payment.objects.filter(provider_id=provider_id, kind=kind).first() if provider_id else None
    if found is None and model_id.isdigit():
        found = Payment.objects.filter(pk=int(model_id), kind=kind).first()
        # Our id came from the metadata: only a row that is this intent's (or has no intent yet) matches.
        if found is not None and found.provider_id not in ("", provider_id):
            found = None
    return found


def provider_event_apply(*, event: Event, provider: str) -> str:
    """Apply a verified webhook event once (its id is kept); returns what happened to it."""
    if ProviderEvent.objects.filter(event_id=event.id).exists():
        return ProviderEvent.Outcome.ALREADY
    target: Payment | None = None
    outcome = ProviderEvent.Outcome.IGNORED
    settled: Payment | None = None
    if event.intent is not None:
        target = _find(event.intent.ours, event.intent.id, PaymentKind.PAYMENT)
        if target is not None:
            intent = event.intent
            if intent.needs_capture:
                # Unanswered, it stays pending: the reconcile task captures it on its next run.
                with contextlib.suppress(ProviderUnavailable, ProviderDeclined):
                    key = f"{target.idempotency_key}-capture"
                    intent = get_provider().capture_intent(intent.id, idempotency_key=key)
            settled = _settle_payment(target.pk, intent, by=None, via="webhook")
    elif event.refund is not None:
        target = _find(event.refund.ours, event.refund.id, PaymentKind.REFUND)
        if target is not None:
            settled = _settle_refund(target.pk, event.refund, by=None, via="webhook")
    if event.intent is not None or event.refund is not None:
        if target is None or settled is None:
            outcome = ProviderEvent.Outcome.UNMATCHED
        elif settled.status != target.status:
            outcome = ProviderEvent.Outcome.APPLIED
        else:
            outcome = ProviderEvent.Outcome.ALREADY
    try:
        with transaction.atomic():
            ProviderEvent.objects.create(
                event_id=event.id,
                type=event.type,
                provider=provider,
                payment=target,
                outcome=outcome,
                received_at=timezone.now(),
            )
    except IntegrityError:  # the same event delivered twice at once: the other delivery kept it
        return ProviderEvent.Outcome.ALREADY
    if outcome == ProviderEvent.Outcome.UNMATCHED:
        logger.warning("Payment provider event %s (%s) matches no payment or refund of ours.", event.id, event.type)
    return outcome


def pending_reconcile(*, older_than: timedelta = timedelta(minutes=2), now: datetime | None = None) -> dict[str, int]:
    """Ask the provider about every card payment and refund still pending after ``older_than``
    (a timeout, a lost webhook). Returns how many settled and how many are still pending."""
    now = now or timezone.now()
    counts = {"settled": 0, "pending": 0}
    if not get_provider().takes_cards:
        return counts
    rows = Payment.objects.filter(
        status=PaymentStatus.PENDING,
        received_at__lte=now - older_than,
        method__in=[PaymentMethod.CARD, PaymentMethod.HSA_FSA],
    ).order_by("received_at")
    for pending in rows[:500]:
        try:
            settled = payment_check(payment=pending, by=None, via="reconcile")
        except ProviderUnavailable:
            counts["pending"] += 1
            continue
        counts["settled" if settled.status != PaymentStatus.PENDING else "pending"] += 1
    return counts
