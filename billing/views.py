"""Money pages: thin. Fetch through ``billing.access``, bind a form, call one service, put its
errors on the form, redirect."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts import audit
from billing import access, forms, providers, selectors, services, settlement
from billing.models import InvoiceKind, InvoicePurpose, PaymentStatus
from billing.money import Money
from core.audit import Category
from documents import services as documents
from documents.models import DocumentKind

logger = logging.getLogger(__name__)


def _errors_to_form(form, exc: services.BillingError) -> None:
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(None if field == "__all__" or field not in form.fields else field, error)


@require_GET
def patient_panel(request, patient_id: int) -> HttpResponse:
    """The patient's balance, invoices, credit notes and payments (htmx-loaded on the patient page)."""
    patient = access.patient_for_billing(request, patient_id)
    balance = selectors.patient_balance(patient.pk)
    services.billing_viewed(by=request.user, patient=patient)
    context = {
        "patient": patient,
        "balance": balance,
        "owed": Money(balance.due),
        "held": Money(balance.held),
        "invoices": selectors.patient_invoices(patient.pk, limit=20),
        "payments": selectors.patient_payments(patient.pk, limit=20),
        "packages": selectors.patient_packages(patient.pk),
    }
    return render(request, "billing/_patient_panel.html", context)


def payment_new(request, patient_id: int) -> HttpResponse:
    patient = access.patient_for_billing(request, patient_id)
    invoices = selectors.open_invoices(patient.pk)
    back = reverse("patients:detail", args=[patient.pk]) + "#billing"
    if request.method == "POST" and selectors.payment_with_key(request.POST.get("idempotency_key", ""), patient.pk):
        # The same form posted again (a double-click, a retry): it was recorded the first time.
        return redirect(back)
    cards = providers.get_provider().takes_cards
    if request.method == "POST":
        form = forms.PaymentForm(request.POST, invoices=invoices, provider_cards=cards)
        if form.is_valid():
            data = form.cleaned_data
            common = {
                "patient": patient,
                "location_id": data["location"].pk,
                "method": data["method"],
                "amount": data["amount"],
                "idempotency_key": data["idempotency_key"],
                "invoice": data["invoice"],
                "by": request.user,
            }
            try:
                if data.get("through_provider"):
                    payment = settlement.card_payment_start(provider_method=data["provider_method"], **common)
                else:
                    payment = services.payment_record(reference=data["reference"], **common)
            except services.BillingError as exc:
                _errors_to_form(form, exc)
            else:
                _say_how_it_went(request, payment, Money(data["amount"]))
                return redirect(back)
    else:
        initial: dict[str, object] = {"idempotency_key": forms.new_key()}
        if invoices:
            initial["amount"] = selectors.annotated(invoices[0], "outstanding_amount")
        form = forms.PaymentForm(initial=initial, invoices=invoices, provider_cards=cards)
        audit.record_page_opened(request, action="billing.payment.form", category=Category.BILLING, patient=patient)
    return render(request, "billing/payment_form.html", {"patient": patient, "form": form, "invoices": invoices})


def _say_how_it_went(request, payment, amount: Money, *, what: str = "Payment") -> None:
    if payment.status == PaymentStatus.COMPLETED:
        messages.success(request, f"{what} of {amount} recorded.")
    elif payment.status == PaymentStatus.FAILED:
        messages.error(request, f"The card was declined: the {what.lower()} of {amount} was not taken.")
    else:
        messages.warning(
            request,
            f"The {what.lower()} of {amount} is pending: the payment provider has not confirmed it yet. "
            "Use Check again on the patient's billing card; never take it a second time.",
        )


@require_POST
def payment_check(request, payment_id: int) -> HttpResponse:
    """The desk asks the provider again about a pending card payment or refund."""
    payment = access.payment_for_user(request, payment_id, perm=services.TAKE_PAYMENTS)
    back = reverse("patients:detail", args=[payment.patient_id]) + "#billing"
    if payment.status != PaymentStatus.PENDING:
        messages.info(request, "This payment is already settled.")
        return redirect(back)
    try:
        settled = settlement.payment_check(payment=payment, by=request.user)
    except providers.ProviderUnavailable:
        messages.warning(
            request, "The payment provider still gives no answer; the payment stays pending. Try again later."
        )
        return redirect(back)
    words = {
        PaymentStatus.COMPLETED: "completed",
        PaymentStatus.FAILED: "failed: nothing was taken",
        PaymentStatus.PENDING: "still pending at the payment provider",
    }
    what = f"{settled.get_kind_display()} of {Money(settled.amount)}"
    messages.info(request, f"{what}: {words[PaymentStatus(settled.status)]}.")
    return redirect(back)


@require_POST
def payment_cancel(request, payment_id: int) -> HttpResponse:
    """The desk gives up a pending card payment (its intent is cancelled at the provider)."""
    payment = access.payment_for_user(request, payment_id, perm=services.TAKE_PAYMENTS)
    back = reverse("patients:detail", args=[payment.patient_id]) + "#billing"
    try:
        settled = settlement.payment_cancel(payment=payment, by=request.user)
    except providers.ProviderUnavailable:
        messages.warning(request, "The payment provider gives no answer; the payment stays pending. Try again later.")
        return redirect(back)
    if settled.status == PaymentStatus.COMPLETED:
        messages.info(request, f"The payment of {Money(settled.amount)} had already completed: it stands.")
    elif settled.status == PaymentStatus.FAILED:
        messages.success(request, f"The payment of {Money(settled.amount)} was cancelled: nothing was taken.")
    else:
        messages.warning(request, "The payment is still pending at the payment provider.")
    return redirect(back)


@csrf_exempt  # the provider cannot hold our CSRF token: its signature is the proof
@login_not_required
@never_cache
@require_POST
def provider_webhook(request) -> HttpResponse:
    """The payment provider's events, signed with the shared secret; each event id is applied once."""
    provider = providers.get_provider()
    try:
        try:
            body = request.body
        except RawPostDataException:  # a form post, already parsed by the middleware: never the provider's JSON
            raise providers.WebhookRejected("The webhook's body is not JSON.") from None
        event = provider.verify_event(body, request.headers.get("Stripe-Signature", ""))
    except providers.WebhookRejected as exc:
        # Only our own fixed words: the body and the header may carry what the sender chose.
        logger.warning("Payment webhook refused: %s", exc)
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = settlement.provider_event_apply(event=event, provider=provider.name)
    return JsonResponse({"received": True, "outcome": outcome})


@require_GET
def invoice_detail(request, invoice_id: int) -> HttpResponse:
    invoice = access.invoice_for_user(request, invoice_id)
    services.billing_viewed(by=request.user, patient=invoice.patient, target=invoice)
    is_invoice = invoice.kind == InvoiceKind.INVOICE
    payments = selectors.allocatable_payments(invoice.patient_id) if is_invoice else []
    context = {
        "invoice": invoice,
        "patient": invoice.patient,
        "is_invoice": is_invoice,
        "is_fee": invoice.purpose in (InvoicePurpose.NO_SHOW, InvoicePurpose.LATE_CANCEL),
        "allocate_form": forms.AllocateForm(payments=payments) if payments else None,
        "credit_form": forms.CreditNoteForm(),
        "waive_form": forms.WaiveForm(),
    }
    return render(request, "billing/invoice_detail.html", context)


def _back(invoice) -> HttpResponse:
    return redirect("billing:invoice-detail", invoice.pk)


def _invoice_page_with(request, invoice, **forms_in_error) -> HttpResponse:
    context = {
        "invoice": invoice,
        "patient": invoice.patient,
        "is_invoice": invoice.kind == InvoiceKind.INVOICE,
        "is_fee": invoice.purpose in (InvoicePurpose.NO_SHOW, InvoicePurpose.LATE_CANCEL),
        "allocate_form": None,
        "credit_form": forms.CreditNoteForm(),
        "waive_form": forms.WaiveForm(),
        **forms_in_error,
    }
    return render(request, "billing/invoice_detail.html", context)


@require_POST
def invoice_print(request, invoice_id: int) -> HttpResponse:
    """Issue the invoice's (or superbill's) PDF through the documents pipeline and download it."""
    invoice = access.invoice_for_user(request, invoice_id)
    form = forms.PrintForm(request.POST)
    kind = form.cleaned_data["document"] if form.is_valid() else "invoice"
    try:
        document = documents.issue(kind=DocumentKind(kind), subject=invoice, by=request.user)
    except documents.DocumentError as exc:
        messages.error(request, str(exc))
        return _back(invoice)
    return redirect("documents:download", document.pk)


@require_POST
def invoice_allocate(request, invoice_id: int) -> HttpResponse:
    invoice = access.invoice_for_user(request, invoice_id)
    payments = selectors.allocatable_payments(invoice.patient_id)
    form = forms.AllocateForm(request.POST, payments=payments)
    if form.is_valid():
        try:
            services.payment_allocate(
                payment=form.cleaned_data["payment"],
                invoice=invoice,
                amount=form.cleaned_data["amount"],
                by=request.user,
            )
        except services.BillingError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Payment allocated.")
            return _back(invoice)
    return _invoice_page_with(request, invoice, allocate_form=form)


@require_POST
def invoice_credit(request, invoice_id: int) -> HttpResponse:
    invoice = access.invoice_for_user(request, invoice_id, perm=services.CREDIT)
    form = forms.CreditNoteForm(request.POST)
    if form.is_valid():
        try:
            note = services.credit_note_issue(
                invoice=invoice, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"], by=request.user
            )
        except services.BillingError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, f"Credit note {note.label} issued.")
            return _back(invoice)
    return _invoice_page_with(request, invoice, credit_form=form)


@require_POST
def invoice_waive(request, invoice_id: int) -> HttpResponse:
    invoice = access.invoice_for_user(request, invoice_id, perm=services.CREDIT)
    form = forms.WaiveForm(request.POST)
    if form.is_valid():
        try:
            services.fee_waive(invoice=invoice, reason=form.cleaned_data["reason"], by=request.user)
        except services.BillingError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, "Fee waived.")
            return _back(invoice)
    return _invoice_page_with(request, invoice, waive_form=form)


@require_POST
def payment_refund(request, payment_id: int) -> HttpResponse:
    payment = access.payment_for_user(request, payment_id)
    form = forms.RefundForm(request.POST)
    back = reverse("patients:detail", args=[payment.patient_id]) + "#billing"
    if form.is_valid():
        try:
            refund = settlement.card_refund(
                payment=payment,
                amount=form.cleaned_data["amount"],
                reason=form.cleaned_data["reason"],
                idempotency_key=form.cleaned_data["idempotency_key"],
                by=request.user,
            )
        except services.BillingError as exc:
            messages.error(request, " ".join(e for errs in exc.message_dict.values() for e in errs))
        else:
            amount = Money(form.cleaned_data["amount"])
            if refund.status == PaymentStatus.PENDING:
                messages.warning(request, f"Refund of {amount} sent to the payment provider; pending its answer.")
            elif refund.status == PaymentStatus.FAILED:
                messages.error(request, f"The payment provider refused the refund of {amount}.")
            else:
                messages.success(request, f"Refund of {amount} recorded.")
        return redirect(back)
    messages.error(request, "Give the amount to refund and a reason.")
    return redirect(back)


def package_sell(request, patient_id: int) -> HttpResponse:
    patient = access.patient_for_billing(request, patient_id)
    back = reverse("patients:detail", args=[patient.pk]) + "#billing"
    plans = selectors.sellable_plans()
    if request.method == "POST":
        form = forms.PackageSellForm(request.POST, plans=plans)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.package_sell(
                    patient=patient,
                    plan=data["plan"],
                    method=data["method"],
                    idempotency_key=data["idempotency_key"],
                    reference=data["reference"],
                    by=request.user,
                )
            except services.BillingError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, f"{data['plan'].name} sold.")
                return redirect(back)
    else:
        form = forms.PackageSellForm(initial={"idempotency_key": forms.new_key()}, plans=plans)
        audit.record_page_opened(request, action="billing.package.form", category=Category.BILLING, patient=patient)
    return render(request, "billing/package_form.html", {"patient": patient, "form": form})


@require_POST
def package_close(request, package_id: int) -> HttpResponse:
    purchase = access.package_for_user(request, package_id)
    form = forms.CloseForm(request.POST)
    back = reverse("patients:detail", args=[purchase.patient_id]) + "#billing"
    if not form.is_valid():
        messages.error(request, "Give a reason for closing the package.")
        return redirect(back)
    try:
        refund = services.package_close(purchase=purchase, reason=form.cleaned_data["reason"], by=request.user)
    except services.BillingError as exc:
        messages.error(request, " ".join(e for errs in exc.message_dict.values() for e in errs))
    else:
        messages.success(request, f"Package closed; {Money(refund.amount) if refund else 'nothing'} refunded.")
    return redirect(back)


def deposit_take(request, appointment_id: int) -> HttpResponse:
    """The deposit a booking's type asks for, taken from the appointment page."""
    appointment = access.appointment_for_deposit(request, appointment_id)
    back = reverse("scheduling:appointment-detail", args=[appointment.pk])
    due = selectors.deposit_due(appointment)
    cards = providers.get_provider().takes_cards
    if request.method == "POST":
        form = forms.DepositForm(request.POST, provider_cards=cards)
        if selectors.payment_with_key(request.POST.get("idempotency_key", ""), appointment.patient_id):
            return redirect(back)
        if form.is_valid():
            data = form.cleaned_data
            common = {
                "patient": appointment.patient,
                "location_id": appointment.location_id,
                "method": data["method"],
                "amount": data["amount"],
                "idempotency_key": data["idempotency_key"],
                "note": f"Deposit for {appointment.appointment_type.name}",
                "deposit_for": appointment,
                "by": request.user,
            }
            try:
                if data.get("through_provider"):
                    deposit = settlement.card_payment_start(provider_method=data["provider_method"], **common)
                else:
                    deposit = services.payment_record(reference=data["reference"], **common)
            except services.BillingError as exc:
                _errors_to_form(form, exc)
            else:
                _say_how_it_went(request, deposit, Money(data["amount"]), what="Deposit")
                return redirect(back)
    else:
        initial: dict[str, object] = {"idempotency_key": forms.new_key()}
        if due is not None:
            initial["amount"] = due.price
        form = forms.DepositForm(initial=initial, provider_cards=cards)
        audit.record_page_opened(
            request, action="billing.deposit.form", category=Category.BILLING, patient=appointment.patient
        )
    context = {"appointment": appointment, "patient": appointment.patient, "form": form, "due": due}
    return render(request, "billing/deposit_form.html", context)


def visit_items(request, appointment_id: int) -> HttpResponse:
    """The items the desk bills by hand for a visit before its invoice is issued: the list and the
    form that adds one (an item of the location's fee schedule and a quantity)."""
    appointment = access.appointment_for_deposit(request, appointment_id)
    fees = selectors.hand_entry_fees(appointment)
    if request.method == "POST":
        form = forms.VisitItemForm(request.POST, fees=fees)
        if form.is_valid():
            try:
                item = services.visit_item_add(
                    appointment=appointment,
                    fee_item=form.cleaned_data["fee_item"],
                    units=form.cleaned_data["units"],
                    by=request.user,
                )
            except services.BillingError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, f"{item.fee_item.description} × {item.units} added to the visit.")
                return redirect("billing:visit-items", appointment.pk)
    else:
        form = forms.VisitItemForm(fees=fees)
        audit.record_page_opened(
            request, action="billing.visit_items.viewed", category=Category.BILLING, patient=appointment.patient
        )
    context = {
        "appointment": appointment,
        "patient": appointment.patient,
        "form": form,
        "items": selectors.visit_items(appointment.pk),
        "invoice": selectors.visit_invoice(appointment.pk),
        "open": appointment.status in services.OPEN_VISIT,
    }
    return render(request, "billing/visit_items.html", context)


@require_POST
def visit_item_remove(request, visit_item_id: int) -> HttpResponse:
    item = access.visit_item_for_user(request, visit_item_id)
    try:
        services.visit_item_remove(item=item, by=request.user)
    except services.BillingError as exc:
        messages.error(request, " ".join(e for errs in exc.message_dict.values() for e in errs))
    else:
        messages.success(request, f"{item.fee_item.description} removed from the visit.")
    return redirect("billing:visit-items", item.appointment_id)


def superbill_period(request, patient_id: int) -> HttpResponse:
    """One superbill for the patient's visits over a range of dates of service, issued through the
    documents pipeline and downloaded (every download a disclosure)."""
    patient = access.patient_for_billing(request, patient_id)
    if request.method == "POST":
        form = forms.SuperbillPeriodForm(request.POST)
        if form.is_valid():
            try:
                period = services.superbill_period(
                    patient=patient,
                    date_from=form.cleaned_data["date_from"],
                    date_to=form.cleaned_data["date_to"],
                    by=request.user,
                )
                document = documents.issue(kind=DocumentKind.SUPERBILL, subject=period, by=request.user)
            except services.BillingError as exc:
                _errors_to_form(form, exc)
            except documents.DocumentError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("documents:download", document.pk)
    else:
        today = timezone.localdate()
        form = forms.SuperbillPeriodForm(initial={"date_from": today.replace(month=1, day=1), "date_to": today})
        audit.record_page_opened(request, action="billing.superbill.form", category=Category.BILLING, patient=patient)
    return render(request, "billing/superbill_form.html", {"patient": patient, "form": form})
