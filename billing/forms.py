from __future__ import annotations

import uuid
from decimal import Decimal
from typing import cast

from django import forms

from billing.models import VISIT_ITEM_MAX_UNITS, Payment
from billing.providers import PROVIDER_METHOD
from billing.selectors import annotated
from scheduling.forms import DateInput
from scheduling.models import Location

AMOUNT_ERRORS = {"min_value": "Enter an amount greater than zero.", "invalid": "Enter an amount such as 150.00."}


def amount_field() -> forms.DecimalField:
    return forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"), error_messages=AMOUNT_ERRORS)


def new_key() -> str:
    return uuid.uuid4().hex


class IdempotencyField(forms.CharField):
    """A key written into the form when it is shown: posting the form twice posts the same key."""

    def __init__(self, **kwargs):
        super().__init__(widget=forms.HiddenInput, min_length=8, max_length=64, **kwargs)


def _add_provider_fields(form: forms.Form) -> None:
    """The choice to charge a card through the payment provider, and the id of the card it read."""
    form.fields["through_provider"] = forms.BooleanField(
        required=False,
        initial=True,
        label="Charge the card through the payment provider",
        help_text="Off: a card taken on the clinic's own terminal, recorded by its receipt number.",
    )
    form.fields["provider_method"] = forms.RegexField(
        regex=PROVIDER_METHOD,
        required=False,
        max_length=80,
        label="The reader's card id",
        help_text="The id the provider's reader or page gave (pm_...). Blank: the intent waits for the reader.",
        error_messages={"invalid": "The provider's card id looks like pm_ followed by letters and digits."},
    )


def _card_only_through_provider(data: dict | None) -> dict:
    # Cash and cheques are recorded as ever, whatever the box says: only a card goes to the provider.
    data = data or {}
    if data.get("method") not in (Payment.Method.CARD, Payment.Method.HSA_FSA):
        data["through_provider"] = False
    return data


class PaymentForm(forms.Form):
    location = forms.ModelChoiceField(queryset=Location.objects.filter(active=True), empty_label=None)
    method = forms.ChoiceField(choices=Payment.Method.choices, label="Paid by")
    amount = amount_field()
    invoice = forms.ChoiceField(label="Put against", required=False)
    reference = forms.CharField(
        max_length=60, required=False, label="Cheque or receipt number", help_text="Never a card number."
    )
    idempotency_key = IdempotencyField()

    def __init__(self, *args, invoices=(), provider_cards: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if provider_cards:
            _add_provider_fields(self)
        self.invoices = {str(inv.pk): inv for inv in invoices}
        cast(forms.ChoiceField, self.fields["invoice"]).choices = [("", "The oldest open invoices")] + [
            (
                str(inv.pk),
                f"{inv.label} · {inv.get_purpose_display()} · {annotated(inv, 'outstanding_amount'):,.2f} due",
            )
            for inv in invoices
        ]

    def clean_invoice(self):
        value = self.cleaned_data["invoice"]
        return self.invoices.get(value) if value else None

    def clean(self):
        return _card_only_through_provider(super().clean())


class AllocateForm(forms.Form):
    payment = forms.ChoiceField(label="From payment")
    amount = amount_field()

    def __init__(self, *args, payments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.payments = {str(p.pk): p for p in payments}
        cast(forms.ChoiceField, self.fields["payment"]).choices = [
            (
                str(p.pk),
                f"{p.get_method_display()} {p.received_at:%m/%d/%Y} · {annotated(p, 'unallocated_amount'):,.2f} left",
            )
            for p in payments
        ]

    def clean_payment(self):
        found = self.payments.get(self.cleaned_data["payment"])
        if found is None:
            raise forms.ValidationError("Choose a payment with money left to allocate.")
        return found


class CreditNoteForm(forms.Form):
    amount = amount_field()
    reason = forms.CharField(max_length=300)


class WaiveForm(forms.Form):
    reason = forms.CharField(max_length=300, error_messages={"required": "Give a reason for waiving the fee."})


class RefundForm(forms.Form):
    amount = amount_field()
    reason = forms.CharField(max_length=200)
    idempotency_key = IdempotencyField()


class PrintForm(forms.Form):
    document = forms.ChoiceField(choices=[("invoice", "Invoice"), ("superbill", "Superbill")])


class PackageSellForm(forms.Form):
    plan = forms.ChoiceField(label="Package")
    method = forms.ChoiceField(choices=Payment.Method.choices, label="Paid by")
    reference = forms.CharField(
        max_length=60, required=False, label="Cheque or receipt number", help_text="Never a card number."
    )
    idempotency_key = IdempotencyField()

    def __init__(self, *args, plans=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.plans = {str(p.pk): p for p in plans}
        cast(forms.ChoiceField, self.fields["plan"]).choices = [
            (str(p.pk), f"{p.name} · {p.location} · {p.sessions} sessions · {p.price:,.2f}") for p in plans
        ]

    def clean_plan(self):
        found = self.plans.get(self.cleaned_data["plan"])
        if found is None:
            raise forms.ValidationError("Choose a package.")
        return found


class DepositForm(forms.Form):
    method = forms.ChoiceField(choices=Payment.Method.choices, label="Paid by")
    amount = amount_field()
    reference = forms.CharField(
        max_length=60, required=False, label="Cheque or receipt number", help_text="Never a card number."
    )
    idempotency_key = IdempotencyField()

    def __init__(self, *args, provider_cards: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if provider_cards:
            _add_provider_fields(self)

    def clean(self):
        return _card_only_through_provider(super().clean())


class CloseForm(forms.Form):
    reason = forms.CharField(max_length=200, error_messages={"required": "Give a reason for closing the package."})


class VisitItemForm(forms.Form):
    fee_item = forms.ChoiceField(
        label="Item",
        error_messages={
            "required": "Choose an item of the fee schedule.",
            "invalid_choice": "Choose an item of the fee schedule.",
        },
    )
    units = forms.IntegerField(
        label="Quantity",
        min_value=1,
        max_value=VISIT_ITEM_MAX_UNITS,
        initial=1,
        error_messages={
            "required": "Enter a quantity.",
            "invalid": "Enter a whole number, e.g. 1.",
            "min_value": f"Enter a quantity from 1 to {VISIT_ITEM_MAX_UNITS}.",
            "max_value": f"Enter a quantity from 1 to {VISIT_ITEM_MAX_UNITS}.",
        },
    )

    def __init__(self, *args, fees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fees = {str(fee.pk): fee for fee in fees}
        cast(forms.ChoiceField, self.fields["fee_item"]).choices = [("", "Choose an item")] + [
            (str(fee.pk), " · ".join(part for part in (fee.code, fee.description, f"{fee.price:,.2f}") if part))
            for fee in fees
        ]

    def clean_fee_item(self):
        found = self.fees.get(self.cleaned_data["fee_item"])
        if found is None:
            raise forms.ValidationError("Choose an item of the fee schedule.")
        return found


class SuperbillPeriodForm(forms.Form):
    date_from = forms.DateField(
        label="From (date of service)",
        widget=DateInput(),
        error_messages={"required": "Enter the first date of service.", "invalid": "Enter a valid date."},
    )
    date_to = forms.DateField(
        label="To (date of service)",
        widget=DateInput(),
        error_messages={"required": "Enter the last date of service.", "invalid": "Enter a valid date."},
    )
