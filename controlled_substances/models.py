"""Ketamine stock and its append-only ledger (clinical-reference section 4; security-reference R3, R10).

The container row is the locked running balance (``remaining_ml``); every change to it is a
ledger entry written under ``select_for_update`` on that row, carrying the balance after.
Ledger rows can never be updated or deleted (pgtrigger ``Protect``); a correction is a
reversing entry or an adjustment, each confirmed by a second person. Check constraints keep
balances non-negative and witnesses distinct.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from controlled_substances import rules
from controlled_substances.rules import Kind
from core.triggers import append_only
from prescribers.rules import CredentialError, normalise_dea


def dea_number_validator(value: str) -> None:
    """One rule for every DEA number the clinic records (a location's registration, a
    supplier's, a counterparty's, a prescriber's own): two letters, seven digits and the check
    digit, from ``prescribers.rules``."""

    try:
        normalise_dea(value)
    except CredentialError as error:
        raise ValidationError(error.message) from error


ndc_validator = RegexValidator(r"^\d{4,5}-\d{3,4}-\d{1,2}$", "Use the NDC as printed, e.g. 0409-2051-05.")


class _Places(TypedDict):
    """A decimal column's size, unpacked into DecimalField (typed, so each keyword is checked)."""

    max_digits: int
    decimal_places: int


ML: _Places = {"max_digits": 10, "decimal_places": 2}
MG: _Places = {"max_digits": 12, "decimal_places": 2}


class Schedule(models.TextChoices):
    CII = "CII", "Schedule II"
    CIII = "CIII", "Schedule III"
    CIV = "CIV", "Schedule IV"
    CV = "CV", "Schedule V"


class ControlledSubstancePolicy(models.Model):
    """The registrant's details and the clinic's thresholds: one row, edited in the admin."""

    registrant_name = models.CharField(max_length=200, blank=True)
    registrant_address = models.TextField(blank=True)
    registrant_dea_number = models.CharField(max_length=9, blank=True, validators=[dea_number_validator])
    significant_discrepancy_mg = models.DecimalField(
        "Significant discrepancy (mg)",
        **MG,
        default=Decimal("10.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Clinic policy, not a DEA number: a count shortfall at or above this prompts the "
        "loss/theft workflow (written notice within 1 business day, DEA Form 106 within 45 days). "
        "The DEA only says minor discrepancies are noted, and a recurring pattern is significant.",
    )
    # --- The medication loop at the chair (bounded clinic policy) ---------------------
    draw_tolerance_percent = models.DecimalField(
        "Draw tolerance (% of the verified dose)",
        max_digits=4,
        decimal_places=2,
        default=rules.DRAW_TOLERANCE_PERCENT_DEFAULT,
        validators=[
            MinValueValidator(rules.DRAW_TOLERANCE_PERCENT_BOUNDS[0]),
            MaxValueValidator(rules.DRAW_TOLERANCE_PERCENT_BOUNDS[1]),
        ],
        help_text="Clinic policy, default 2 %, bounded 0–5 %: a draw may differ from the verified dose by "
        "this share of it or by one 0.01 mL syringe graduation, whichever is larger; "
        "anything further is refused.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "controlled-substance policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="cspolicy_singleton"),
            models.CheckConstraint(condition=Q(significant_discrepancy_mg__gt=0), name="cspolicy_threshold_positive"),
            models.CheckConstraint(
                condition=Q(
                    draw_tolerance_percent__gte=rules.DRAW_TOLERANCE_PERCENT_BOUNDS[0],
                    draw_tolerance_percent__lte=rules.DRAW_TOLERANCE_PERCENT_BOUNDS[1],
                ),
                name="cspolicy_draw_tolerance_bounded",
            ),
        ]

    def __str__(self) -> str:
        return "Controlled-substance policy"

    @classmethod
    def current(cls) -> ControlledSubstancePolicy:
        return cls.objects.get_or_create(id=1)[0]


class Registration(models.Model):
    """The DEA registration of one clinic location: each place where controlled substances are
    dispensed or administered needs its own [S108]. Vials, counts and the DEA logs belong to
    one registration; drug moves between two only by a transfer (an entry out, a linked entry in).

    This is the source of truth for a location's registration: the registrant that holds the
    stock and keeps the records there. Receipts, draws and transfers are refused while it is
    missing, incomplete or expired (``services._registration_in_force``). A prescriber's own
    registration for a location (``prescribers.DEARegistration``) is a different registrant's:
    it gates that prescriber's decisions (``accounts.prescribing.require_prescriber``), never
    the stock, and neither is copied from the other. Both numbers pass the one DEA number rule
    (``dea_number_validator``, from ``prescribers.rules``)."""

    location = models.OneToOneField("scheduling.Location", on_delete=models.PROTECT, related_name="dea_registration")
    # Required in forms; empty only on a registration made by the migration for stock that
    # predates registrations, until an administrator fills them in (receipts are refused till then).
    dea_number = models.CharField("DEA registration number", max_length=9, validators=[dea_number_validator])
    expires_on = models.DateField("Registration expires on", null=True)

    class Meta:
        ordering = ["location__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["dea_number"], condition=~Q(dea_number=""), name="csregistration_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.location.name} ({self.dea_number or 'no DEA number'})"


class Product(models.Model):
    """A finished form as sold: e.g. ketamine HCl injection 50 mg/mL, 10 mL multi-dose vial."""

    name = models.CharField(max_length=120)
    ndc = models.CharField("NDC", max_length=13, unique=True, validators=[ndc_validator])
    schedule = models.CharField(max_length=4, choices=Schedule.choices, default=Schedule.CIII)
    form = models.CharField(max_length=60, default="injection solution, vial")
    concentration_mg_per_ml = models.DecimalField(max_digits=8, decimal_places=3)
    container_volume_ml = models.DecimalField(**ML)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name", "concentration_mg_per_ml"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concentration_mg_per_ml__gt=0, container_volume_ml__gt=0), name="csproduct_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.concentration_mg_per_ml.normalize():f} mg/mL × {self.container_volume_ml} mL"


class Supplier(models.Model):
    name = models.CharField(max_length=200)
    address = models.TextField()
    dea_number = models.CharField("DEA number", max_length=9, unique=True, validators=[dea_number_validator])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.dea_number})"


class Lot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=40)
    expiry_date = models.DateField()
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="lots")
    invoice_number = models.CharField(max_length=60)
    invoice_date = models.DateField()

    class Meta:
        ordering = ["expiry_date", "lot_number"]
        constraints = [models.UniqueConstraint(fields=["product", "lot_number"], name="cslot_unique_per_product")]

    def __str__(self) -> str:
        return f"Lot {self.lot_number} (exp {self.expiry_date:%Y-%m-%d})"


class Container(models.Model):
    """One vial. ``remaining_ml`` is the running balance, written only by the services under
    ``select_for_update``; the ledger's sum of deltas for the container always equals it."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="containers")
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="containers")
    code = models.CharField(
        max_length=40,
        help_text="The label on the vial, e.g. K50-24A113-03. A vial moved to another registration keeps its "
        "label and has a row there too.",
    )
    received_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    initial_ml = models.DecimalField(**ML)
    remaining_ml = models.DecimalField(**ML)
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["lot__expiry_date", "code"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "code"], name="cscontainer_code_unique_per_registration"),
            models.CheckConstraint(condition=Q(remaining_ml__gte=0), name="cscontainer_balance_not_negative"),
            models.CheckConstraint(condition=Q(initial_ml__gt=0), name="cscontainer_initial_positive"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def status(self) -> str:
        if self.remaining_ml == 0:
            return "empty"
        return "open" if self.opened_at else "sealed"


class LossReport(models.Model):
    """A theft or significant loss: the discovery, the written notice to the DEA Field
    Division (due within 1 business day) and the DEA Form 106 (due within 45 days) [S119][S120].
    Filing facts are added as they happen; the quantities live in the ledger entries."""

    class Kind(models.TextChoices):
        LOSS = "loss", "Significant loss"
        THEFT = "theft", "Theft"

    kind = models.CharField(max_length=5, choices=Kind.choices)
    discovered_at = models.DateTimeField()
    description = models.TextField()
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notice_due_on = models.DateField()
    form_106_due_on = models.DateField()
    notice_given_on = models.DateField(null=True, blank=True)
    form_106_ref = models.CharField("DEA Form 106 reference", max_length=60, blank=True)
    form_106_filed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-discovered_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} discovered {self.discovered_at:%Y-%m-%d}"


class InventoryCount(models.Model):
    """An initial, biennial or periodic inventory [S116][S117][S118]."""

    class Type(models.TextChoices):
        INITIAL = "initial", "Initial inventory"
        BIENNIAL = "biennial", "Biennial inventory"
        PERIODIC = "periodic", "Periodic count"
        # A session's draw whose drawn mg is not delivered + wasted: opened when signing is refused.
        CLOSE_OUT = "close_out", "Session close-out"

    class BusinessTime(models.TextChoices):
        OPENING = "opening", "Opening of business"
        CLOSE = "close", "Close of business"

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="counts")
    type = models.CharField(max_length=10, choices=Type.choices)
    business_time = models.CharField(max_length=7, choices=BusinessTime.choices)
    counted_at = models.DateTimeField()
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-counted_at"]
        permissions = [("manage_stock", "Can receive stock, run counts and see controlled-substance reports")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.counted_at:%Y-%m-%d}"


class CountLine(models.Model):
    """One container in a count: the physical quantity beside the ledger's at that moment.
    A non-zero discrepancy needs an explanation; it is resolved by an adjustment or a
    loss/theft entry (``resolution``)."""

    class Method(models.TextChoices):
        EXACT = "exact", "Exact count"
        ESTIMATED = "estimated", "Estimated (opened container)"

    count = models.ForeignKey(InventoryCount, on_delete=models.PROTECT, related_name="lines")
    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="count_lines")
    method = models.CharField(max_length=9, choices=Method.choices)
    counted_ml = models.DecimalField(**ML)
    ledger_ml = models.DecimalField(**ML)
    discrepancy_ml = models.GeneratedField(
        expression=F("counted_ml") - F("ledger_ml"), output_field=models.DecimalField(**ML), db_persist=True
    )
    discrepancy_mg = models.DecimalField(**MG)
    significant = models.BooleanField(default=False)
    explanation = models.TextField(blank=True)
    explained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    explained_at = models.DateTimeField(null=True, blank=True)
    resolution = models.OneToOneField(
        "LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="resolves_line"
    )
    # A session close-out line: the draw whose drawn mg is not matched by delivered + wasted
    # (counted = what is accounted for, ledger = what was drawn, both in the vial's mL).
    of_draw = models.ForeignKey(
        "LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="closeout_lines"
    )

    class Meta:
        ordering = ["count", "container__code"]
        constraints = [
            models.UniqueConstraint(fields=["count", "container"], name="cscountline_once_per_count"),
            models.CheckConstraint(condition=Q(counted_ml__gte=0), name="cscountline_counted_not_negative"),
            models.CheckConstraint(
                condition=Q(resolution__isnull=True) | ~Q(explanation=""), name="cscountline_resolution_explained"
            ),
        ]
        triggers = [
            # The counted and ledger figures are what they were; only the explanation is added, once.
            pgtrigger.Protect(
                name="cscountline_facts_fixed",
                operation=pgtrigger.Update,
                condition=pgtrigger.Q(old__counted_ml__df=pgtrigger.F("new__counted_ml"))
                | pgtrigger.Q(old__ledger_ml__df=pgtrigger.F("new__ledger_ml"))
                | pgtrigger.Q(old__container_id__df=pgtrigger.F("new__container_id"))
                | ~pgtrigger.Q(old__explanation=""),
            ),
            pgtrigger.Protect(name="cscountline_no_delete", operation=pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.container} in count {self.count_id}"

    @property
    def needs_explanation(self) -> bool:
        return (self.discrepancy_ml != 0 or self.discrepancy_mg != 0) and not self.explanation


KIND_CHOICES = [
    (Kind.RECEIPT, "Receipt"),
    (Kind.ADMINISTRATION, "Administration"),
    (Kind.WASTE, "Waste"),
    (Kind.DESTRUCTION, "Destruction"),
    (Kind.TRANSFER, "Transfer"),
    (Kind.TRANSFER_IN, "Transfer in"),
    (Kind.LOSS_THEFT, "Loss/theft"),
    (Kind.ADJUSTMENT, "Adjustment"),
    (Kind.COUNT, "Count"),
    (Kind.REVERSAL, "Reversal"),
]
_OUT = [Kind.ADMINISTRATION, Kind.DESTRUCTION, Kind.TRANSFER, Kind.LOSS_THEFT]


class LedgerEntry(models.Model):
    """One movement of drug, append-only. Quantities are positive; ``delta_ml`` is the signed
    change to the container balance and ``balance_after_ml`` the balance it left."""

    container = models.ForeignKey(Container, on_delete=models.PROTECT, related_name="entries")
    seq = models.PositiveIntegerField(help_text="1, 2, 3 … per container, assigned under the container lock.")
    kind = models.CharField(max_length=14, choices=KIND_CHOICES)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    quantity_ml = models.DecimalField(**ML)
    quantity_mg = models.DecimalField(**MG)
    delta_ml = models.DecimalField(**ML)
    balance_after_ml = models.DecimalField(**ML)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The witness of a waste or destruction; the second person who confirmed an adjustment or reversal.",
    )
    second_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(
        "patients.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="ketamine_entries"
    )
    session = models.ForeignKey(
        "infusions.InfusionSession", null=True, blank=True, on_delete=models.PROTECT, related_name="ketamine_entries"
    )
    of_draw = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="wastes",
        help_text="For waste of the unused part of a draw (already out of the vial, so no balance change).",
    )
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    transfer_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="transferred_in",
        help_text="For a transfer in: the transfer out of the other registration it completes.",
    )
    # The waste of a draw as it was physically measured: left in the syringe (converted at the
    # vial's concentration) or in the bag (at the bag's final concentration, drug ÷ total volume).
    left_in = models.CharField(max_length=7, choices=[("syringe", "In the syringe"), ("bag", "In the bag")], blank=True)
    measured_ml = models.DecimalField("Volume left (mL)", max_digits=10, decimal_places=2, null=True, blank=True)
    measured_mg_per_ml = models.DecimalField(
        "Converted at (mg/mL)", max_digits=10, decimal_places=4, null=True, blank=True
    )
    dose_calculation = models.ForeignKey(
        "infusions.DoseCalculation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        help_text="The verified calculation a session's draw was checked against.",
    )
    request_key = models.CharField(
        max_length=40,
        blank=True,
        help_text="The submitting form's one-time key: a resubmitted form finds its entry instead of adding one.",
    )
    loss_report = models.ForeignKey(LossReport, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    count = models.ForeignKey(InventoryCount, null=True, blank=True, on_delete=models.PROTECT, related_name="entries")
    reason = models.TextField(blank=True)
    manner = models.CharField(max_length=200, blank=True, help_text="How drug was disposed of or destroyed.")
    form_41_ref = models.CharField("DEA Form 41 reference", max_length=60, blank=True)
    counterparty_name = models.CharField("Transferred to (registrant)", max_length=200, blank=True)
    counterparty_dea_number = models.CharField(
        "Recipient DEA number", max_length=9, blank=True, validators=[dea_number_validator]
    )

    class Meta:
        ordering = ["container", "seq"]
        verbose_name_plural = "ledger entries"
        permissions = [("record_administration", "Can record ketamine administration and waste")]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="csentry_kind_time"),
            models.Index(fields=["occurred_at"], name="csentry_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["container", "seq"], name="csentry_seq_unique"),
            models.CheckConstraint(condition=Q(balance_after_ml__gte=0), name="csentry_balance_not_negative"),
            models.CheckConstraint(
                condition=Q(quantity_ml__gte=0, quantity_mg__gte=0), name="csentry_quantity_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(witness__isnull=True) | ~Q(witness=F("actor")), name="csentry_witness_not_actor"
            ),
            models.CheckConstraint(
                condition=Q(second_witness__isnull=True)
                | (~Q(second_witness=F("actor")) & Q(witness__isnull=False) & ~Q(second_witness=F("witness"))),
                name="csentry_witnesses_distinct",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.WASTE) | Q(quantity_ml=0) | Q(witness__isnull=False),
                name="csentry_waste_witnessed",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.DESTRUCTION)
                | (Q(witness__isnull=False, second_witness__isnull=False) & ~Q(form_41_ref="")),
                name="csentry_destruction_two_witnesses_form41",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.LOSS_THEFT) | Q(loss_report__isnull=False), name="csentry_loss_has_report"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[Kind.ADJUSTMENT, Kind.REVERSAL]) | ~Q(reason=""),
                name="csentry_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.REVERSAL, reverses__isnull=False)
                | Q(~Q(kind=Kind.REVERSAL), reverses__isnull=True),
                name="csentry_reversal_links_original",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.TRANSFER_IN, transfer_of__isnull=False)
                | Q(~Q(kind=Kind.TRANSFER_IN), transfer_of__isnull=True),
                name="csentry_transfer_in_links_out",
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.ADMINISTRATION) | Q(patient__isnull=False), name="csentry_administration_patient"
            ),
            models.CheckConstraint(
                condition=Q(session__isnull=True) | Q(patient__isnull=False), name="csentry_session_has_patient"
            ),
            models.CheckConstraint(
                condition=~Q(kind=Kind.TRANSFER) | ~Q(counterparty_dea_number=""), name="csentry_transfer_recipient"
            ),
            models.CheckConstraint(
                condition=Q(dose_calculation__isnull=True) | Q(kind=Kind.ADMINISTRATION, session__isnull=False),
                name="csentry_dose_only_on_session_draw",
            ),
            models.UniqueConstraint(
                fields=["request_key"], condition=~Q(request_key=""), name="csentry_request_key_once"
            ),
            models.CheckConstraint(
                condition=Q(left_in="", measured_ml__isnull=True, measured_mg_per_ml__isnull=True)
                | Q(
                    left_in__in=["syringe", "bag"],
                    kind=Kind.WASTE,
                    of_draw__isnull=False,
                    measured_ml__gte=0,
                    measured_mg_per_ml__gt=0,
                ),
                name="csentry_waste_measured_where",
            ),
            models.CheckConstraint(
                condition=Q(of_draw__isnull=True) | Q(kind__in=[Kind.WASTE, Kind.LOSS_THEFT]),
                name="csentry_of_draw_kinds",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=[Kind.RECEIPT, Kind.TRANSFER_IN]) & Q(delta_ml=F("quantity_ml")))
                | (Q(kind__in=_OUT, of_draw__isnull=True) & Q(delta_ml=-F("quantity_ml")))
                | (Q(kind=Kind.WASTE, of_draw__isnull=True) & Q(delta_ml=-F("quantity_ml")))
                | (Q(kind=Kind.WASTE, of_draw__isnull=False) & Q(delta_ml=0))
                # A loss of part of a draw (found at its close-out): already out of the vial.
                | (Q(kind=Kind.LOSS_THEFT, of_draw__isnull=False) & Q(delta_ml=0))
                | (Q(kind=Kind.COUNT) & Q(delta_ml=0))
                | (Q(kind=Kind.ADJUSTMENT) & (Q(delta_ml=F("quantity_ml")) | Q(delta_ml=-F("quantity_ml"))))
                # A reversal mirrors its original: 0 for the waste of a draw (already out of the vial).
                | (
                    Q(kind=Kind.REVERSAL)
                    & (Q(delta_ml=F("quantity_ml")) | Q(delta_ml=-F("quantity_ml")) | Q(delta_ml=0))
                ),
                name="csentry_delta_matches_kind",
            ),
            # A correction is never one person's act. Added NOT VALID (migration 0003): PostgreSQL
            # enforces it on every row written from then on and leaves the corrections recorded
            # before the rule as they were (the ledger is append-only; no second person can be
            # invented for them).
            models.CheckConstraint(
                condition=~Q(kind__in=[Kind.ADJUSTMENT, Kind.REVERSAL]) | Q(witness__isnull=False),
                name="csentry_correction_second_person",
            ),
        ]
        triggers = [
            append_only("csentry_append_only"),
            # A signed session's drug record is closed: nothing attaches to it (directly, as the
            # waste of one of its draws, or as the reversal of one of its entries) except a
            # witnessed reversal, the ledger's correction that leaves the original readable.
            pgtrigger.Trigger(
                name="csentry_signed_session_closed",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert,
                func="""
                    IF NEW.kind = 'reversal' AND NEW.witness_id IS NOT NULL THEN
                        RETURN NEW;
                    END IF;
                    IF EXISTS (
                        SELECT 1 FROM infusions_infusionsession s
                        WHERE s.signed_at IS NOT NULL AND s.id IN (
                            NEW.session_id,
                            (SELECT e.session_id FROM controlled_substances_ledgerentry e WHERE e.id = NEW.of_draw_id),
                            (SELECT e.session_id FROM controlled_substances_ledgerentry e WHERE e.id = NEW.reverses_id)
                        )
                    ) THEN
                        RAISE EXCEPTION 'signed infusion session: ledger entries closed; use a witnessed reversal'
                            USING ERRCODE = 'integrity_constraint_violation';
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.container.code} #{self.seq} {self.kind} {self.delta_ml:+} mL"

    @property
    def is_reversed(self) -> bool:
        return hasattr(self, "reversed_by")

    @property
    def offer_reverse(self) -> bool:
        """Whether the vial's ledger offers "Reverse" on this row: where the kind allows it (the
        reversal page checks the rest: a signed session, standing wastes, …)."""
        refusal = rules.reversal_refusal(
            kind=Kind(self.kind),
            moved_balance=self.delta_ml != 0,
            standing_wastes=0,
            session_signed=False,
            resolves_count=False,
        )
        return not self.is_reversed and refusal is None


class DrawCloseOut(models.Model):
    """A session draw that is certainly closed out: a standing waste closes it and its drawn mg is
    explained on the discrepancy list, or its session's delivery was never recorded, or drawn −
    delivered − wasted (− lost) is within one syringe graduation at the vial's concentration (no
    close-out tolerance is narrower). The open-draw reads (ledger home, chair board) then skip it
    through this table's key instead of judging every draw ever recorded.

    Written only by the database (``cs_draw_closeout_refresh``, from the migration that made it), in the
    transaction that changes what the judgement reads: a waste or loss of the draw, the reversal of
    one, an explanation on its close-out line, its session's delivery or start. Code can neither
    forget to keep it nor keep it wrongly. A row says only "certainly closed"; a draw without one
    is judged exactly, with the policy's tolerance, by ``selectors._still_open``."""

    draw = models.OneToOneField(
        LedgerEntry, primary_key=True, on_delete=models.DO_NOTHING, related_name="closeout", db_constraint=True
    )

    class Meta:
        verbose_name = "closed-out draw"

    def __str__(self) -> str:
        return f"Draw {self.draw_id} closed out"


class RescueDoseLog(models.Model):
    """A controlled rescue drug given at the chair (e.g. midazolam), confirmed as entered in
    the controlled-substance log by the person keeping it, with where it was entered (log,
    page or entry number). Until then the dose is listed on the ledger home. Append-only."""

    dose = models.OneToOneField("infusions.DrugGiven", on_delete=models.PROTECT, related_name="ledger_log")
    reference = models.CharField(max_length=200, help_text="Where it was entered: the log, page or entry number.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        constraints = [models.CheckConstraint(condition=~Q(reference=""), name="csrescuedose_reference_given")]
        triggers = [append_only("csrescuedose_append_only")]

    def __str__(self) -> str:
        return f"Rescue dose {self.dose_id} logged: {self.reference}"
