"""Forms of the ledger. Witnessed forms carry the witness's own password (re-entry, not a
name picked from a list): a wrong password is an error on that field, never a 500."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import TypedDict, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from controlled_substances import services
from controlled_substances.models import (
    Container,
    CountLine,
    InventoryCount,
    LossReport,
    Product,
    Registration,
    Supplier,
    dea_number_validator,
)
from core.periods import PERIOD_DAY_VALIDATORS
from scheduling.access import in_their_locations


class _Volume(TypedDict):
    """A volume field's bounds, unpacked into DecimalField (typed, so each keyword is checked)."""

    max_digits: int
    decimal_places: int
    min_value: Decimal


VOLUME: _Volume = {"max_digits": 8, "decimal_places": 2, "min_value": Decimal("0.01")}


def witness_candidates(exclude):
    User = get_user_model()
    perms = Q(groups__permissions__codename__in=["record_administration", "manage_stock"]) | Q(is_superuser=True)
    qs = User.objects.filter(perms, is_active=True).distinct().order_by("last_name", "first_name", "username")
    return qs.exclude(pk__in=[u.pk for u in exclude if u is not None])


class WitnessedForm(forms.Form):
    """Adds witness + password fields (``witnesses`` of them) and confirms each in ``clean``."""

    witnesses = 1
    witness_optional = False
    witness_label = "Witness"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for n in range(1, self.witnesses + 1):
            suffix = "" if n == 1 else f"_{n}"
            label = self.witness_label if n == 1 else "Second witness"
            self.fields[f"witness{suffix}"] = forms.ModelChoiceField(
                queryset=witness_candidates([user]), label=label, required=not self.witness_optional
            )
            self.fields[f"witness{suffix}_password"] = forms.CharField(
                label=f"{label}'s password",
                widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
                required=False,
                help_text=f"The {label.lower()} types their own password to co-sign.",
            )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        seen = {self.user.pk}
        for n in range(1, self.witnesses + 1):
            suffix = "" if n == 1 else f"_{n}"
            witness = data.get(f"witness{suffix}")
            if witness is None:
                continue
            if witness.pk in seen:
                self.add_error(f"witness{suffix}", "Each witness must be a different person, and not you.")
                continue
            seen.add(witness.pk)
            try:
                services.witness_confirm(
                    witness=witness, password=data.get(f"witness{suffix}_password", ""), by=self.user
                )
            except services.LedgerError as exc:
                self.add_error(f"witness{suffix}_password", exc)
        return data


class ReceiveForm(forms.Form):
    registration = forms.ModelChoiceField(
        queryset=Registration.objects.select_related("location"), label="Location (DEA registration)"
    )
    product = forms.ModelChoiceField(queryset=Product.objects.filter(active=True))
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.all())
    lot_number = forms.CharField(max_length=40)
    expiry_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    invoice_number = forms.CharField(max_length=60)
    invoice_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    containers = forms.IntegerField(min_value=1, max_value=200, label="Number of containers")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        invoice, expiry = data.get("invoice_date"), data.get("expiry_date")
        if invoice and invoice > timezone.localdate():
            self.add_error("invoice_date", "The invoice date cannot be in the future.")
        if expiry and invoice and expiry <= invoice:
            self.add_error("expiry_date", "This lot expired before it was invoiced.")
        return data


def _request_key() -> forms.CharField:
    """A one-time key per rendered form: the service finds the entry a resubmission already made."""
    return forms.CharField(widget=forms.HiddenInput, required=False, max_length=40, initial=lambda: uuid.uuid4().hex)


class DrawForm(forms.Form):
    request_key = _request_key()
    container = forms.ModelChoiceField(queryset=Container.objects.none(), label="Vial")
    volume_ml = forms.DecimalField(label="Volume drawn (mL)", **VOLUME)

    def __init__(self, *args, containers, **kwargs):
        super().__init__(*args, **kwargs)
        container = cast(forms.ModelChoiceField, self.fields["container"])
        container.queryset = containers
        # Set on this instance (Django calls self.label_from_instance(obj)); the stubs declare only a method.
        container.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.code} · {obj.lot.product} · {obj.remaining_ml} mL left · exp {obj.lot.expiry_date:%Y-%m-%d}"
        )


class DrawWasteForm(WitnessedForm):
    """Closes a draw: what is physically left of it and where (the syringe, at the vial's
    concentration, or the bag, at the bag's), witnessed (0 mL if nothing; then no witness needed)."""

    witness_optional = True
    request_key = _request_key()
    left_in = forms.ChoiceField(
        label="Left where",
        choices=[("syringe", "In the syringe (at the vial's concentration)"), ("bag", "In the bag")],
        initial="syringe",
        required=False,  # nothing chosen: the syringe (what an older form, or 0 mL, means)
        widget=forms.RadioSelect,
        help_text="The bag's remainder is converted at the bag's final concentration (drug mg ÷ total bag volume).",
    )
    volume_ml = forms.DecimalField(label="Left over and wasted (mL)", max_digits=8, decimal_places=2, min_value=0)
    manner = forms.CharField(max_length=200, required=False, initial="Expelled into drug-waste container")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("volume_ml") and data["volume_ml"] > 0 and not data.get("witness"):
            self.add_error("witness", "Waste needs a witness.")
        return data


class ContainerWasteForm(WitnessedForm):
    volume_ml = forms.DecimalField(label="Volume wasted (mL)", **VOLUME)
    manner = forms.CharField(max_length=200, initial="Expelled into drug-waste container")


class DestructionForm(WitnessedForm):
    witnesses = 2
    volume_ml = forms.DecimalField(
        label="Volume destroyed (mL)", required=False, help_text="Empty = all that is left.", **VOLUME
    )
    form_41_ref = forms.CharField(label="DEA Form 41 reference", max_length=60)
    manner = forms.CharField(max_length=200, initial="Rendered non-retrievable on site")


class TransferForm(forms.Form):
    volume_ml = forms.DecimalField(label="Volume transferred (mL)", **VOLUME)
    counterparty_name = forms.CharField(label="Recipient registrant", max_length=200)
    counterparty_dea_number = forms.CharField(label="Recipient DEA number", max_length=9)
    reason = forms.CharField(label="Invoice / notes", max_length=300, required=False)

    def clean_counterparty_dea_number(self):
        value = self.cleaned_data["counterparty_dea_number"].strip().upper()

        dea_number_validator(value)
        return value


class MoveForm(forms.Form):
    """A vial to another of the clinic's locations (its own DEA registration)."""

    to = forms.ModelChoiceField(queryset=Registration.objects.none(), label="To the location (DEA registration)")
    reason = forms.CharField(label="Invoice / notes", max_length=300, required=False)

    def __init__(self, *args, container, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["to"]).queryset = Registration.objects.select_related(
            "location"
        ).exclude(pk=container.registration_id)


class LossForm(forms.Form):
    kind = forms.ChoiceField(choices=LossReport.Kind.choices)
    volume_ml = forms.DecimalField(label="Volume lost (mL)", **VOLUME)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class LossReportForm(forms.ModelForm):
    class Meta:
        model = LossReport
        fields = ["notice_given_on", "form_106_ref", "form_106_filed_on"]
        widgets = {
            "notice_given_on": forms.DateInput(attrs={"type": "date"}),
            "form_106_filed_on": forms.DateInput(attrs={"type": "date"}),
        }


class CorrectionForm(WitnessedForm):
    """A correction of the record. An adjustment needs a second person, who types their own
    password; a shortfall may instead be reported as a theft or loss (the DEA notice workflow)."""

    witness_label = "Second person"
    witness_optional = True
    RESOLUTIONS = [
        ("adjust", "Adjust the ledger (a second person confirms)"),
        ("loss", "Report a significant loss"),
        ("theft", "Report a theft"),
    ]
    resolution = forms.ChoiceField(choices=RESOLUTIONS, widget=forms.RadioSelect, initial="adjust")
    not_a_loss_confirmed = forms.BooleanField(
        required=False,
        label="We confirm this significant shortfall is not a loss or theft (e.g. a recording error found)",
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("resolution") == "adjust" and not data.get("witness") and "witness" not in self.errors:
            self.add_error("witness", "An adjustment needs a second person, who confirms it with their password.")
        return data

    def as_loss(self) -> str:
        return "" if self.cleaned_data["resolution"] == "adjust" else self.cleaned_data["resolution"]


class AdjustmentForm(CorrectionForm):
    field_order = ["delta_ml", "reason", "resolution", "not_a_loss_confirmed"]
    delta_ml = forms.DecimalField(
        label="Change (mL, negative to reduce)", max_digits=8, decimal_places=2, help_text="e.g. -0.20 or 0.15"
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        super().clean()
        data = self.cleaned_data
        delta = data.get("delta_ml")
        if delta == 0:
            self.add_error("delta_ml", "An adjustment must change the balance.")
        elif delta is not None and delta > 0 and data.get("resolution") in ("loss", "theft"):
            self.add_error("delta_ml", "A surplus is not a loss: give a negative change, or adjust.")
        return data


class ReverseForm(WitnessedForm):
    witness_label = "Second person"
    field_order = ["reason"]
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Why the entry is wrong.")


class CountForm(forms.Form):
    """One counted volume and method per container on hand."""

    type = forms.ChoiceField(choices=InventoryCount.Type.choices)
    business_time = forms.ChoiceField(choices=InventoryCount.BusinessTime.choices, label="Taken at")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, containers, **kwargs):
        super().__init__(*args, **kwargs)
        self.containers = list(containers)
        for c in self.containers:
            self.fields[f"ml_{c.pk}"] = forms.DecimalField(
                label=f"{c.code} ({c.lot.product}, {c.status})", max_digits=8, decimal_places=2, min_value=0
            )
            self.fields[f"method_{c.pk}"] = forms.ChoiceField(
                choices=CountLine.Method.choices,
                initial=CountLine.Method.ESTIMATED if c.opened_at else CountLine.Method.EXACT,
                label="Method",
            )

    def rows(self):
        return [(c, self[f"ml_{c.pk}"], self[f"method_{c.pk}"]) for c in self.containers]

    def lines(self):
        return [(c, self.cleaned_data[f"ml_{c.pk}"], self.cleaned_data[f"method_{c.pk}"]) for c in self.containers]


class ResolveForm(CorrectionForm):
    field_order = ["resolution", "explanation", "not_a_loss_confirmed"]
    explanation = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class RegistrationFilterForm(forms.Form):
    """Which registration a report is for: every DEA log is kept per registration [S108]."""

    registration = forms.TypedChoiceField(coerce=int, label="Location (DEA registration)")

    @classmethod
    def from_request(cls, request):
        """The bound form and the registration it names: the first one when none is given, or
        when the one given is unknown (then with the error at the field). One query."""
        # A user scoped to some locations keeps those locations' ledgers only.
        theirs = in_their_locations(request.user, Registration.objects.select_related("location"))
        registrations = {r.pk: r for r in theirs.order_by("location__name")}
        first = next(iter(registrations.values()), None)
        data = {"registration": request.GET.get("registration") or getattr(first, "pk", ""), **cls.defaults(request)}
        form = cls(data)
        cast(forms.ChoiceField, form.fields["registration"]).choices = [(pk, str(r)) for pk, r in registrations.items()]
        form.is_valid()
        chosen = form.cleaned_data.get("registration")
        return form, registrations.get(chosen, first) if chosen is not None else first

    @classmethod
    def defaults(cls, request) -> dict:
        return {}


class PeriodForm(RegistrationFilterForm):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), validators=PERIOD_DAY_VALIDATORS)
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), validators=PERIOD_DAY_VALIDATORS)

    @classmethod
    def defaults(cls, request) -> dict:
        today = timezone.localdate()
        return {
            "start": request.GET.get("start") or (today - timedelta(days=30)).isoformat(),
            "end": request.GET.get("end") or today.isoformat(),
        }

    def period(self):
        if {"start", "end"} <= self.cleaned_data.keys() and "end" not in self.errors:
            return self.cleaned_data["start"], self.cleaned_data["end"]
        today = timezone.localdate()
        return today - timedelta(days=30), today

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                self.add_error("end", "The end is before the start.")
            elif (data["end"] - data["start"]).days > 3 * 366:
                self.add_error("end", "Choose at most three years.")
        return data
