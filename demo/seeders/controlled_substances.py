"""A year of the ketamine ledger (synthetic), per clinic location and its DEA registration:
receipts by invoice, a draw for every completed infusion from a vial at the location where it
was given, with a witnessed close-out waste, witnessed residue waste when a vial is finished,
an initial inventory and two periodic counts at each registration (one with a small
discrepancy, explained and adjusted with a second person).

The ledger is simulated in memory in time order exactly as the services would write it
(per-container sequence numbers and balances), then inserted with ``bulk_create``; the
append-only trigger refuses only UPDATE and DELETE. Every container's balance equals the
sum of its entries, and every count reconciles (``selectors.reconciliation_mismatches``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pgtrigger
from django.apps import apps as django_apps
from django.utils import timezone

from accounts.models import User
from controlled_substances import rules
from controlled_substances.models import (
    Container,
    ControlledSubstancePolicy,
    CountLine,
    InventoryCount,
    LedgerEntry,
    Lot,
    Product,
    Registration,
    Supplier,
)
from controlled_substances.rules import Kind
from demo.context import SeedContext
from scheduling.models import Appointment, AppointmentStatus, Location

BATCH = 2000
VIALS_PER_LOT = 10
WINDOW_DAYS = 365
ZERO = Decimal("0.00")
# Demo products (labeler code 99999 is not a real labeler).
PRODUCTS = [
    ("Ketamine HCl injection (demo)", "99999-0050-10", Decimal("50.000"), Decimal("10.00")),
    ("Ketamine HCl injection (demo)", "99999-0010-20", Decimal("10.000"), Decimal("20.00")),
]


@dataclass
class SimContainer:
    obj: Container
    product: Product
    balance: Decimal = ZERO
    seq: int = 0
    entries: list[LedgerEntry] = field(default_factory=list)


class Ledger:
    """The services' arithmetic, in memory."""

    def __init__(self) -> None:
        self.containers: list[SimContainer] = []
        self.wastes_of_draw: list[tuple[LedgerEntry, LedgerEntry]] = []

    def add(
        self, c: SimContainer, kind: Kind, qty: Decimal, delta: Decimal, at: datetime, actor: User, **fields
    ) -> LedgerEntry:
        c.balance += delta
        if c.balance < 0:  # the services refuse this; the simulation must never produce it
            raise ValueError(f"negative balance on {c.obj.code}")
        c.seq += 1
        if delta < 0 and c.obj.opened_at is None and kind in (Kind.ADMINISTRATION, Kind.WASTE):
            c.obj.opened_at = at
        entry = LedgerEntry(
            seq=c.seq,
            kind=kind,
            occurred_at=at,
            quantity_ml=qty,
            quantity_mg=rules.mg_for_ml(qty, c.product.concentration_mg_per_ml),
            delta_ml=delta,
            balance_after_ml=c.balance,
            actor=actor,
            **fields,
        )
        c.entries.append(entry)
        return entry


def _draws(ctx: SeedContext, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Infusion sessions when the infusions seeder made them; else completed infusion visits."""
    Session = django_apps.get_model("infusions", "InfusionSession") if django_apps.is_installed("infusions") else None
    if Session is not None and Session.objects.filter(started_at__gte=start, started_at__lt=end).exists():
        Dose = django_apps.get_model("infusions", "DoseCalculation")
        doses = {
            d["session_id"]: d
            for d in Dose.objects.filter(superseded_at__isnull=True).values(
                "session_id", "drug_volume_ml", "vial_mg_per_ml"
            )
        }
        rows = Session.objects.filter(started_at__gte=start, started_at__lt=end).values(
            "id", "patient_id", "started_at", "appointment__location_id"
        )
        return [
            {
                "at": r["started_at"],
                "location_id": r["appointment__location_id"],
                "patient_id": r["patient_id"],
                "session_id": r["id"],
                "ml": doses.get(r["id"], {}).get("drug_volume_ml"),
                "mg_per_ml": doses.get(r["id"], {}).get("vial_mg_per_ml"),
            }
            for r in rows.order_by("started_at", "id")
        ]
    rows = Appointment.objects.filter(
        appointment_type__code="infusion", status=AppointmentStatus.COMPLETED, start__gte=start, start__lt=end
    ).values("patient_id", "start", "location_id")
    return [
        {
            "at": r["start"] + timedelta(minutes=10),
            "location_id": r["location_id"],
            "patient_id": r["patient_id"],
            "session_id": None,
            "ml": None,
            "mg_per_ml": None,
        }
        for r in rows.order_by("start", "id")
    ]


def seed(ctx: SeedContext) -> None:
    clinicians = [
        u
        for name, u in sorted(ctx.staff.items())
        if name in ("clinician", "nurse.okafor", "nurse.lindqvist", "dr.chen")
    ]
    manager = ctx.staff.get("admin") or ctx.staff.get("dr.chen")
    # A second run (--force) would draw again for the same visits: the ledger is seeded once.
    if len(clinicians) < 2 or manager is None or LedgerEntry.objects.exists():
        ctx.counts["ketamine ledger entries"] = 0
        return
    second_person = next(u for u in clinicians if u != manager)
    now = timezone.now()
    zone = timezone.get_current_timezone()
    start = datetime.combine(ctx.today - timedelta(days=WINDOW_DAYS), time(8, 0), tzinfo=zone)

    ControlledSubstancePolicy.objects.update_or_create(
        id=1,
        defaults={
            "registrant_name": "Grace MindCare Ketamine Clinic (demo)",
            "registrant_address": "1 Demo Plaza, Suite 100\nAlbany, NY 12207",
            "registrant_dea_number": "FG1234563",
        },
    )
    products = {}
    for name, ndc, mg_per_ml, volume in PRODUCTS:
        products[mg_per_ml], _ = Product.objects.get_or_create(
            ndc=ndc, defaults={"name": name, "concentration_mg_per_ml": mg_per_ml, "container_volume_ml": volume}
        )
    supplier, _ = Supplier.objects.get_or_create(
        dea_number="RD1234563",
        defaults={"name": "Demo Pharmaceutical Distributors", "address": "500 Warehouse Road\nSchenectady, NY 12305"},
    )

    registrations = _registrations(ctx)
    by_location = {r.location_id: r for r in registrations}
    draws = _draws(ctx, start, now)
    for d in draws:  # a visit at a location without a registration draws at the first one
        d["registration"] = by_location.get(d["location_id"], registrations[0])
    lot_offset = Lot.objects.count()
    ledger = Ledger()
    lots: list[Lot] = []
    pools = [(r.pk, k) for r in registrations for k in products]
    open_vial: dict[tuple[int, Decimal], SimContainer | None] = dict.fromkeys(pools)
    sealed: dict[tuple[int, Decimal], list[SimContainer]] = {pool: [] for pool in pools}
    counts: list[tuple[InventoryCount, list[CountLine]]] = []
    rng = random.Random(ctx.seed * 31 + 6)  # own stream: later seeders' data stays as it was

    def receive(registration: Registration, mg_per_ml: Decimal, at: datetime) -> None:
        product = products[mg_per_ml]
        n = lot_offset + len(lots) + 1
        lot = Lot(
            product=product,
            lot_number=f"D{at:%y%m}{n:03d}",
            expiry_date=(at + timedelta(days=540)).date(),
            supplier=supplier,
            invoice_number=f"DPD-{at:%Y}-{n:04d}",
            invoice_date=at.date(),
        )
        lots.append(lot)
        for i in range(1, VIALS_PER_LOT + 1):
            c = SimContainer(
                Container(
                    lot=lot,
                    registration=registration,
                    code=f"{product.ndc[-7:].replace('-', '')}-{lot.lot_number}-{i:02d}",
                    received_at=at,
                    initial_ml=product.container_volume_ml,
                    remaining_ml=ZERO,
                ),
                product,
            )
            ledger.containers.append(c)
            ledger.add(
                c,
                Kind.RECEIPT,
                product.container_volume_ml,
                product.container_volume_ml,
                at,
                manager,
                reason=f"Invoice {lot.invoice_number} of {lot.invoice_date:%Y-%m-%d} from {supplier.name}",
            )
            sealed[(registration.pk, mg_per_ml)].append(c)

    def take(registration: Registration, mg_per_ml: Decimal, ml: Decimal, at: datetime, nurse, witness: User):
        pool = (registration.pk, mg_per_ml)
        vial = open_vial[pool]
        if vial is not None and vial.balance >= ml:
            return vial
        if vial is not None and vial.balance > 0:  # residue too small for this dose: witnessed waste
            ledger.add(
                vial,
                Kind.WASTE,
                vial.balance,
                -vial.balance,
                at - timedelta(minutes=2),
                nurse,
                witness=witness,
                manner="Vial residue expelled into drug-waste container",
            )
        if not sealed[pool]:
            receive(registration, mg_per_ml, at - timedelta(hours=3))
        open_vial[pool] = sealed[pool].pop(0)
        return open_vial[pool]

    def count(registration: Registration, type_: str, at: datetime, discrepancy_on_first_open: bool) -> None:
        inventory = InventoryCount(
            registration=registration,
            type=type_,
            business_time="close" if at.hour >= 12 else "opening",
            counted_at=at,
            counted_by=manager,
            notes="Demo count",
        )
        lines: list[CountLine] = []
        for c in ledger.containers:
            if c.balance <= 0 or c.obj.registration is not registration:
                continue
            ledger_ml = c.balance
            opened = c.obj.opened_at is not None
            counted = (
                ledger_ml - Decimal("0.05")
                if (discrepancy_on_first_open and opened and not lines_have_gap(lines))
                else ledger_ml
            )
            line = CountLine(
                container=c.obj,
                method="estimated" if opened else "exact",
                counted_ml=counted,
                ledger_ml=ledger_ml,
                discrepancy_mg=rules.mg_for_ml(counted - ledger_ml, c.product.concentration_mg_per_ml),
            )
            ledger.add(c, Kind.COUNT, counted, ZERO, at, manager, reason=f"{line.method} count; ledger {ledger_ml} mL")
            c.entries[-1].count = inventory  # unsaved yet: its id is copied in once it has one
            if counted != ledger_ml:
                explanation = (
                    "Estimated count of an opened vial read 0.05 mL low against the ledger; "
                    "droplet lost when priming the syringe."
                )
                line.explanation, line.explained_by, line.explained_at = (
                    explanation,
                    manager,
                    at + timedelta(minutes=20),
                )
                line.resolution = ledger.add(
                    c,
                    Kind.ADJUSTMENT,
                    Decimal("0.05"),
                    Decimal("-0.05"),
                    at + timedelta(minutes=20),
                    manager,
                    witness=second_person,  # a correction is confirmed by someone else
                    reason=f"Count: {explanation}",
                )
            lines.append(line)
        counts.append((inventory, lines))

    def lines_have_gap(lines) -> bool:
        return any(line.counted_ml != line.ledger_ml for line in lines)

    count_plan = [
        ("initial", start - timedelta(minutes=30), False),
        ("periodic", start + timedelta(days=180, hours=9), True),
        ("periodic", datetime.combine(ctx.today - timedelta(days=3), time(18, 0), tzinfo=zone), False),
    ]
    count_plan = [p for p in count_plan if p[1] < now]
    draw_index = 0
    for type_, at, with_gap in count_plan:
        while draw_index < len(draws) and draws[draw_index]["at"] < at:
            _draw(ledger, draws[draw_index], rng, clinicians, products, take)
            draw_index += 1
        for registration in registrations:  # one discrepancy in the demo year, at the first site
            count(registration, type_, at, with_gap and registration is registrations[0])
    for d in draws[draw_index:]:
        _draw(ledger, d, rng, clinicians, products, take)

    _write(ledger, lots, counts)
    ctx.counts["ketamine ledger entries"] = sum(len(c.entries) for c in ledger.containers)


def _dea_number(letters: str, six: str) -> str:
    """A well-formed demo DEA number: the seventh digit is the registration check digit."""
    d = [int(c) for c in six]
    return f"{letters}{six}{(d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10}"


def _registrations(ctx: SeedContext) -> list[Registration]:
    """One DEA registration per clinic location (each place that administers needs its own [S108])."""
    sites = list(Location.objects.filter(active=True).order_by("pk")) or [
        Location.objects.get_or_create(name="Main clinic")[0]
    ]
    return [
        Registration.objects.get_or_create(
            location=site,
            defaults={
                "dea_number": _dea_number("FG", f"{123456 + i * 1111:06d}"),
                "expires_on": ctx.today + timedelta(days=400 + 90 * i),
            },
        )[0]
        for i, site in enumerate(sites)
    ]


def _draw(ledger: Ledger, d: dict, rng, clinicians, products, take) -> None:
    nurse, witness = rng.sample(clinicians, 2)
    mg_per_ml = d["mg_per_ml"] if d["mg_per_ml"] in products else Decimal("50.000")
    ml = d["ml"] or rules.ml_for_mg(Decimal(rng.randint(55, 110)) * Decimal("0.5"), mg_per_ml)  # 0.5 mg/kg, 55–110 kg
    vial = take(d["registration"], mg_per_ml, ml, d["at"], nurse, witness)
    draw = ledger.add(
        vial, Kind.ADMINISTRATION, ml, -ml, d["at"], nurse, patient_id=d["patient_id"], session_id=d["session_id"]
    )
    left = Decimal(rng.choice(["0.00", "0.00", "0.05", "0.10"]))
    waste = ledger.add(
        vial,
        Kind.WASTE,
        left,
        ZERO,
        d["at"] + timedelta(minutes=55),
        nurse,
        witness=witness if left > 0 else None,
        patient_id=d["patient_id"],
        session_id=d["session_id"],
        manner="Unused portion expelled into drug-waste container" if left > 0 else "Nothing left over",
    )
    ledger.wastes_of_draw.append((draw, waste))


def _write(ledger: Ledger, lots: list[Lot], counts) -> None:
    Lot.objects.bulk_create(lots, batch_size=BATCH)
    for c in ledger.containers:
        c.obj.lot_id = c.obj.lot.pk
        c.obj.remaining_ml, c.obj.last_seq = c.balance, c.seq
    Container.objects.bulk_create([c.obj for c in ledger.containers], batch_size=BATCH)
    for inventory, _ in counts:
        inventory.save(force_insert=True)
    later = {id(waste) for _, waste in ledger.wastes_of_draw}
    first: list[LedgerEntry] = []
    for c in ledger.containers:
        for e in c.entries:
            e.container_id = c.obj.pk
            if e.count is not None:
                e.count_id = e.count.pk
            if id(e) not in later:
                first.append(e)
    # The sessions were seeded already signed; their draws and wastes happened before the
    # signature in the story being told, so the "signed session closed" trigger is set aside.
    with pgtrigger.ignore("controlled_substances.LedgerEntry:csentry_signed_session_closed"):
        LedgerEntry.objects.bulk_create(first, batch_size=BATCH)
        for draw, waste in ledger.wastes_of_draw:
            waste.of_draw_id = draw.pk
        LedgerEntry.objects.bulk_create([w for _, w in ledger.wastes_of_draw], batch_size=BATCH)
    lines = []
    for inventory, inv_lines in counts:
        for line in inv_lines:
            line.count_id = inventory.pk
            line.container_id = line.container.pk
            if line.resolution is not None:
                line.resolution_id = line.resolution.pk
            lines.append(line)
    CountLine.objects.bulk_create(lines, batch_size=BATCH)
