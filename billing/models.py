"""Money: the fee schedule, invoices and credit notes, payments and their allocation.

Amounts are ``numeric(12, 2)`` in the location's currency (``billing.money`` says why and how they
round). An invoice is issued when it is written and never changes: the database refuses every
UPDATE and DELETE of an invoice, its lines and its allocations (append-only triggers), so a
correction is a credit note, itself an invoice row of kind "credit note". Numbers are gapless per
location: each comes from the location's counter row, locked for the issuing transaction.
"""

from __future__ import annotations

from decimal import Decimal

import pgtrigger
from django.conf import settings
from django.core.validators import MaxValueValidator, MinLengthValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from billing import rules
from core.triggers import append_only

NOT_NEGATIVE = [MinValueValidator(Decimal("0.00"))]
# The most of one item a visit is billed by hand (a line's units; a larger count is a typing slip).
VISIT_ITEM_MAX_UNITS = 99


class BillingSettings(models.Model):
    """A location's money settings: its currency, tax id, fees and the coding thresholds."""

    location = models.OneToOneField("scheduling.Location", on_delete=models.PROTECT, related_name="billing_settings")
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code in capitals, e.g. USD.")],
    )
    tax_id = models.CharField(
        "Tax identification number (TIN/EIN)",
        max_length=20,
        blank=True,
        help_text="Printed on superbills as the billing provider's tax id.",
    )
    invoice_prefix = models.CharField(max_length=10, default="INV", help_text="Printed before the invoice number.")
    late_cancel_hours = models.PositiveSmallIntegerField(
        "Late-cancellation window, hours before the start (clinic policy)",
        default=24,
        validators=[MaxValueValidator(168)],
        help_text="A cancellation by the patient later than this before the start is charged the fee; 0: never.",
    )
    late_cancel_fee = models.DecimalField(
        "Late-cancellation fee (clinic policy)",
        default=Decimal("0.00"),
        validators=NOT_NEGATIVE,
        max_digits=12,
        decimal_places=2,
    )
    no_show_fee = models.DecimalField(
        "No-show fee (clinic policy)", default=Decimal("0.00"), validators=NOT_NEGATIVE, max_digits=12, decimal_places=2
    )
    refund_unused_sessions = models.BooleanField(
        "Refund a closed package's unused sessions pro rata (clinic policy)",
        default=True,
        help_text="Off: unused sessions are forfeited when a package is closed or expires.",
    )
    push_max_minutes = models.PositiveSmallIntegerField(
        "An infusion this long or shorter bills as a push (minutes)",
        default=rules.PUSH_MAX_MINUTES,
        validators=[MaxValueValidator(60)],
        help_text="CPT: an infusion of 15 minutes or less is reported as a push (96374).",
    )
    additional_hour_over_minutes = models.PositiveSmallIntegerField(
        "An additional hour bills when more than this many minutes of it ran",
        default=rules.ADDITIONAL_HOUR_OVER_MINUTES,
        validators=[MaxValueValidator(59)],
        help_text="CPT: 96366 is reported for more than 30 minutes beyond each hour.",
    )

    class Meta:
        verbose_name_plural = "billing settings"
        permissions = [("manage_fees", "Can manage fees, billing settings and packages")]
        constraints = [
            models.CheckConstraint(
                condition=Q(late_cancel_fee__gte=0, no_show_fee__gte=0), name="billingsettings_fees_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Billing settings of {self.location}"


class InvoiceSequence(models.Model):
    """The last number issued at a location: locked by each issuing transaction, so numbers never
    skip and never repeat (a rolled-back issue gives its number back)."""

    location = models.OneToOneField("scheduling.Location", on_delete=models.PROTECT, related_name="+")
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.location}: {self.last_number}"


class CodeSystem(models.TextChoices):
    CPT = "cpt", "CPT"
    HCPCS = "hcpcs", "HCPCS"
    CLINIC = "clinic", "Clinic item (no claim code)"


class FeeRole(models.TextChoices):
    """What a fee is charged for, which decides when an invoice uses it."""

    VISIT = "visit", "The visit (per appointment type)"
    INFUSION_FIRST_HOUR = "infusion_first_hour", "IV infusion, first hour"
    INFUSION_ADDITIONAL_HOUR = "infusion_additional_hour", "IV infusion, each additional hour"
    IV_PUSH = "iv_push", "IV push (infusion of 15 minutes or less)"
    DRUG = "drug", "Drug, per infusion"
    DEPOSIT = "deposit", "Deposit at booking (per appointment type)"
    LATE_CANCEL = "late_cancel", "Late-cancellation fee"
    NO_SHOW = "no_show", "No-show fee"
    OTHER = "other", "Other item"


class FeeItem(models.Model):
    """One price on a location's fee schedule, in force from ``effective_from`` (and until
    ``effective_until``). A new price is a new row: invoices copy the price, so old invoices keep theirs."""

    location = models.ForeignKey("scheduling.Location", on_delete=models.PROTECT, related_name="fee_items")
    role = models.CharField(max_length=30, choices=FeeRole.choices)
    appointment_type = models.ForeignKey(
        "scheduling.AppointmentType",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For the visit fee: the appointment type it prices. Blank: every type.",
    )
    code_system = models.CharField(max_length=10, choices=CodeSystem.choices, default=CodeSystem.CPT)
    code = models.CharField(
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^[A-Z0-9]{5}$|^$", "A five-character CPT or HCPCS code, e.g. 96365 or J3490.")],
    )
    description = models.CharField(max_length=120)
    price = models.DecimalField(validators=NOT_NEGATIVE, max_digits=12, decimal_places=2)
    effective_from = models.DateField()
    effective_until = models.DateField(
        null=True, blank=True, help_text="Last day in force. Blank: until further notice."
    )

    class Meta:
        ordering = ["location", "role", "-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="feeitem_price_not_negative"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=F("effective_from")),
                name="feeitem_effective_range",
            ),
        ]
        indexes = [models.Index(fields=["location", "role", "effective_from"], name="feeitem_lookup")]

    def __str__(self) -> str:
        return f"{self.code or self.get_role_display()} {self.description}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class InvoicePurpose(models.TextChoices):
    VISIT = "visit", "Visit"
    LATE_CANCEL = "late_cancel", "Late-cancellation fee"
    NO_SHOW = "no_show", "No-show fee"
    PACKAGE = "package", "Package"
    DEPOSIT = "deposit", "Deposit"
    OTHER = "other", "Other"


class Invoice(models.Model):
    """An issued invoice or credit note: written once, never changed (append-only)."""

    Kind = InvoiceKind
    Purpose = InvoicePurpose

    location = models.ForeignKey("scheduling.Location", on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField()
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    purpose = models.CharField(max_length=12, choices=InvoicePurpose.choices, default=InvoicePurpose.VISIT)
    appointment = models.ForeignKey(
        "scheduling.Appointment", null=True, blank=True, on_delete=models.PROTECT, related_name="invoices"
    )
    credits = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
        help_text="The invoice a credit note corrects.",
    )
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(validators=NOT_NEGATIVE, max_digits=12, decimal_places=2)
    service_date = models.DateField(help_text="Date of service (local to the location).")
    reason = models.CharField(max_length=300, blank=True)
    rendering_provider = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Blank: issued by the system when the visit was completed.",
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        permissions = [
            ("take_payments", "Can record payments, print invoices and superbills"),
            ("issue_credit_note", "Can issue credit notes, waive fees and write off balances"),
            ("view_financial_reports", "Can run the financial reports"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["location", "number"], name="invoice_number_unique_per_location"),
            models.UniqueConstraint(
                fields=["appointment", "purpose"],
                condition=Q(kind="invoice", appointment__isnull=False),
                name="invoice_one_per_appointment_and_purpose",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="invoice_total_not_negative"),
            models.CheckConstraint(
                condition=Q(kind="invoice", credits__isnull=True)
                | (Q(kind="credit_note", credits__isnull=False) & ~Q(reason="")),
                name="invoice_credit_note_names_invoice_and_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "issued_at"], name="invoice_patient_issued"),
            models.Index(fields=["location", "issued_at"], name="invoice_location_issued"),
        ]
        triggers = [append_only("invoice_append_only")]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        prefix = "CN" if self.kind == InvoiceKind.CREDIT_NOTE else "INV"
        return f"{prefix}-{self.location_id}-{self.number:06d}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    fee_item = models.ForeignKey(FeeItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    code_system = models.CharField(max_length=10, choices=CodeSystem.choices, default=CodeSystem.CLINIC)
    code = models.CharField(max_length=10, blank=True)
    description = models.CharField(max_length=120)
    units = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(validators=NOT_NEGATIVE, max_digits=12, decimal_places=2)
    amount = models.DecimalField(validators=NOT_NEGATIVE, max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(units__gte=1), name="invoiceline_units_positive"),
        ]
        triggers = [append_only("invoiceline_append_only")]

    def __str__(self) -> str:
        return f"{self.code} × {self.units}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CHEQUE = "cheque", "Cheque"
    CARD = "card", "Card"
    HSA_FSA = "hsa_fsa", "HSA/FSA card"


class PaymentKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class Payment(models.Model):
    """Money received from (or, for a refund, returned to) a patient. Only a completed payment counts.

    Card numbers never reach this table: a card payment keeps the provider's reference only, and a
    reference that looks like a card number is refused."""

    Method = PaymentMethod
    Kind = PaymentKind
    Status = PaymentStatus

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="payments")
    location = models.ForeignKey("scheduling.Location", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=PaymentKind.choices, default=PaymentKind.PAYMENT)
    method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    amount = models.DecimalField(validators=[MinValueValidator(Decimal("0.01"))], max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.COMPLETED)
    refund_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds")
    idempotency_key = models.CharField(max_length=64, unique=True, validators=[MinLengthValidator(8)])
    reference = models.CharField(
        max_length=60, blank=True, help_text="Cheque number or the card terminal's receipt number."
    )
    provider_id = models.CharField(max_length=80, blank=True, help_text="The payment provider's id of the charge.")
    note = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A deposit: the booking it holds. It pays that visit's invoice (or its fee) when issued.",
    )
    reserved = models.BooleanField(
        default=False, help_text="Held for a package's sessions: never put against other invoices."
    )
    apply_first = models.ForeignKey(
        Invoice,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The invoice a payment pays first once the provider completes it.",
    )
    provider_method = models.CharField(
        max_length=80,
        blank=True,
        help_text="The provider's id of the card it read (e.g. pm_...), never the card's number.",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="payment", refund_of__isnull=True) | Q(kind="refund", refund_of__isnull=False),
                name="payment_refund_names_payment",
            ),
            models.CheckConstraint(
                condition=Q(status="completed", completed_at__isnull=False) | ~Q(status="completed"),
                name="payment_completed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["patient", "received_at"], name="payment_patient_received"),
            models.Index(fields=["location", "received_at"], name="payment_location_received"),
        ]
        triggers = [
            # Only a pending payment may change (the provider completes or fails it); after that it is final.
            pgtrigger.Protect(
                name="payment_final_once_settled",
                operation=pgtrigger.Update | pgtrigger.Delete,
                condition=~pgtrigger.Q(old__status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class PaymentAllocation(models.Model):
    """Part of a payment put against an invoice. A negative row releases part of an earlier one
    (when a credit note takes back a charge that was already paid); rows are never changed."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="allocation_amount_not_zero")]
        triggers = [append_only("allocation_append_only")]

    def __str__(self) -> str:
        return f"{self.amount} of payment #{self.payment_id} to invoice #{self.invoice_id}"


class PackagePlan(models.Model):
    """A prepaid series a location sells, e.g. six infusions for a price, valid for so many days."""

    location = models.ForeignKey("scheduling.Location", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=80)
    appointment_type = models.ForeignKey(
        "scheduling.AppointmentType", on_delete=models.PROTECT, related_name="+", help_text="The visits it pays for."
    )
    sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(50)])
    price = models.DecimalField(validators=NOT_NEGATIVE, max_digits=12, decimal_places=2)
    validity_days = models.PositiveSmallIntegerField(
        "Valid for (days, clinic policy)", default=180, validators=[MinValueValidator(1), MaxValueValidator(1095)]
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(sessions__gte=1, price__gte=0), name="packageplan_sessions_and_price"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sessions} sessions)"


class PackagePurchase(models.Model):
    """A package sold to a patient: its prepayment (a reserved payment) pays each session's invoice."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="packages")
    plan = models.ForeignKey(PackagePlan, on_delete=models.PROTECT, related_name="purchases")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="package")
    sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    price = models.DecimalField(max_digits=12, decimal_places=2)
    expires_on = models.DateField()
    sold_at = models.DateTimeField()
    sold_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-sold_at", "-id"]
        indexes = [models.Index(fields=["patient", "expires_on"], name="packagepurchase_patient")]

    def __str__(self) -> str:
        return f"{self.plan.name} for patient #{self.patient_id}"


class PackageRedemption(models.Model):
    """One session drawn from a package: the visit and the invoice the package paid (append-only)."""

    purchase = models.ForeignKey(PackagePurchase, on_delete=models.PROTECT, related_name="redemptions")
    appointment = models.OneToOneField("scheduling.Appointment", on_delete=models.PROTECT, related_name="+")
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="redemption")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        triggers = [append_only("packageredemption_append_only")]

    def __str__(self) -> str:
        return f"Session of package #{self.purchase_id} on appointment #{self.appointment_id}"


class VisitItem(models.Model):
    """A billable item the front desk or an administrator enters by hand for a visit before its
    invoice is issued (a supply, an extra drug, a service the visit's own fees do not cover): a fee
    from the location's schedule and a quantity. The visit's invoice copies each item still standing
    when it is issued; after that the item is part of the invoice and the visit takes no more."""

    appointment = models.ForeignKey("scheduling.Appointment", on_delete=models.PROTECT, related_name="billable_items")
    fee_item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, related_name="+")
    units = models.PositiveSmallIntegerField(
        "Quantity", validators=[MinValueValidator(1), MaxValueValidator(VISIT_ITEM_MAX_UNITS)]
    )
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["appointment", "added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(units__gte=1, units__lte=VISIT_ITEM_MAX_UNITS), name="visititem_units_in_range"
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True, removed_by__isnull=True)
                | Q(removed_at__isnull=False, removed_by__isnull=False),
                name="visititem_removed_says_by_whom",
            ),
        ]
        indexes = [models.Index(fields=["appointment", "removed_at"], name="visititem_appointment")]

    def __str__(self) -> str:
        return f"{self.fee_item} × {self.units}"


class SuperbillPeriod(models.Model):
    """A patient's superbill over a range of dates of service: what its PDF versions are issued
    about. The same range asked again is the same row, so a changed superbill (a later payment,
    a credit note) is a new version of it rather than a second document."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    date_from = models.DateField("From (date of service)")
    date_to = models.DateField("To (date of service)")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["patient", "-date_to", "-date_from"]
        constraints = [
            models.UniqueConstraint(fields=["patient", "date_from", "date_to"], name="superbillperiod_one_per_range"),
            models.CheckConstraint(condition=Q(date_to__gte=F("date_from")), name="superbillperiod_range_in_order"),
        ]

    def __str__(self) -> str:
        return f"Superbill {self.date_from} to {self.date_to}"


class ProviderEventOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    ALREADY = "already", "Already settled"
    UNMATCHED = "unmatched", "No payment of ours"
    IGNORED = "ignored", "Not a payment event"


class ProviderEvent(models.Model):
    """A payment provider's webhook event, kept once by its id so a redelivery is never applied
    twice. Holds the provider's ids only, never a body (append-only)."""

    Outcome = ProviderEventOutcome

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    provider = models.CharField(max_length=20)
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=10, choices=ProviderEventOutcome.choices)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        triggers = [append_only("providerevent_append_only")]

    def __str__(self) -> str:
        return f"{self.provider} {self.type} {self.event_id}"
