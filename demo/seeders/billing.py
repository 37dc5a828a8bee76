"""Money demo data: each location's billing settings and fee schedule, an invoice for every
completed visit (infusions billed 96365/96366 from their recorded start and stop), a no-show fee for
each no-show (a few waived by an administrator), and payments: most visits paid at the desk that day
by cash, cheque, card or HSA/FSA card, some partly, some not at all, so the balances age across the
0–30, 31–60, 61–90 and 90+ day bands. Bulk inserts, numbered gaplessly per location; deterministic
for a given seed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from billing import rules, services
from billing.models import (
    BillingSettings,
    CodeSystem,
    FeeItem,
    FeeRole,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoicePurpose,
    InvoiceSequence,
    PackagePlan,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from demo.context import SeedContext
from infusions.models import InfusionSession
from patients.models import Patient
from scheduling.models import Appointment, AppointmentStatus, AppointmentType, Location

BATCH = 2000
SINCE = date(2020, 1, 1)
# (role, type code or "", system, code, description, price)
SCHEDULE = (
    (FeeRole.VISIT, "consultation", CodeSystem.CPT, "99205", "New patient evaluation, 60 minutes", "350.00"),
    (FeeRole.VISIT, "follow_up", CodeSystem.CPT, "99214", "Established patient follow-up", "180.00"),
    (FeeRole.INFUSION_FIRST_HOUR, "", CodeSystem.CPT, "96365", "IV infusion, first hour", "300.00"),
    (FeeRole.INFUSION_ADDITIONAL_HOUR, "", CodeSystem.CPT, "96366", "IV infusion, each additional hour", "100.00"),
    (FeeRole.IV_PUSH, "", CodeSystem.CPT, "96374", "IV push, single drug", "120.00"),
    (FeeRole.DRUG, "", CodeSystem.HCPCS, "J3490", "Ketamine hydrochloride (unclassified drug)", "50.00"),
    (FeeRole.OTHER, "", CodeSystem.CPT, "96372", "Injection, subcutaneous or intramuscular", "40.00"),
)
METHODS = (PaymentMethod.CARD, PaymentMethod.CARD, PaymentMethod.HSA_FSA, PaymentMethod.CASH, PaymentMethod.CHEQUE)


def _schedule(locations: list[Location]) -> dict[tuple[int, str, int | None], FeeItem]:
    types = {t.code: t for t in AppointmentType.objects.all()}
    rows = []
    priced = set(FeeItem.objects.values_list("location_id", flat=True))
    for loc in locations:
        BillingSettings.objects.get_or_create(
            location=loc,
            defaults={
                "tax_id": f"{84 + loc.pk % 10}-{1000000 + loc.pk * 7919 % 8999999:07d}",
                "late_cancel_fee": Decimal("75.00"),
                "no_show_fee": Decimal("100.00"),
            },
        )
        for role, type_code, system, code, description, price in SCHEDULE if loc.pk not in priced else ():
            t = types.get(type_code) if type_code else None
            if type_code and t is None:
                continue
            rows.append(
                FeeItem(
                    location=loc,
                    role=role,
                    appointment_type=t,
                    code_system=system,
                    code=code,
                    description=description,
                    price=Decimal(price),
                    effective_from=SINCE,
                )
            )
    FeeItem.objects.bulk_create(rows)
    return {(f.location_id, f.role, f.appointment_type_id): f for f in FeeItem.objects.filter(effective_from=SINCE)}


def seed(ctx: SeedContext) -> None:
    locations = list(Location.objects.all())
    if not locations:
        ctx.counts["invoices"] = 0
        return
    fees = _schedule(locations)
    zones = {loc.pk: loc.zone for loc in locations}
    admin = ctx.staff.get("admin")
    desk = ctx.staff.get("frontdesk") or admin
    sessions = {
        s["appointment_id"]: s
        for s in InfusionSession.objects.filter(started_at__isnull=False).values(
            "appointment_id", "started_at", "ended_at", "signed_by_id"
        )
    }
    visits = list(
        Appointment.objects.filter(
            patient_id__in=ctx.patient_ids, status__in=[AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW]
        )
        .order_by("start", "id")
        .values("id", "patient_id", "location_id", "appointment_type_id", "start", "status", "clinician_id")
    )
    # Numbers continue from what each location has issued (a second seeding run adds to the first).
    numbers: dict[int, int] = defaultdict(int)
    numbers.update(dict(InvoiceSequence.objects.values_list("location_id", "last_number")))
    invoices: list[Invoice] = []
    lines: dict[int, list[InvoiceLine]] = {}
    for v in visits:
        loc = v["location_id"]
        day = v["start"].astimezone(zones[loc]).date()
        drafts: list[InvoiceLine] = []
        if v["status"] == AppointmentStatus.NO_SHOW:
            purpose = InvoicePurpose.NO_SHOW
            drafts.append(_line(None, "No-show fee", Decimal("100.00")))
        else:
            purpose = InvoicePurpose.VISIT
            visit_fee = fees.get((loc, FeeRole.VISIT, v["appointment_type_id"]))
            if visit_fee is not None:
                drafts.append(_line(visit_fee))
            session = sessions.get(v["id"])
            if session is not None:
                units = rules.infusion_units(rules.infused_minutes(session["started_at"], session["ended_at"]))
                for role, count in (
                    (FeeRole.IV_PUSH, units.push),
                    (FeeRole.INFUSION_FIRST_HOUR, units.first_hour),
                    (FeeRole.INFUSION_ADDITIONAL_HOUR, units.additional_hours),
                    (FeeRole.DRUG, 1),
                ):
                    fee = fees.get((loc, role, None))
                    if count and fee is not None:
                        drafts.append(_line(fee, units=count))
        if not drafts:
            continue
        numbers[loc] += 1
        session = sessions.get(v["id"])
        issued = v["start"] + timedelta(hours=3)
        invoices.append(
            Invoice(
                location_id=loc,
                number=numbers[loc],
                patient_id=v["patient_id"],
                kind=InvoiceKind.INVOICE,
                purpose=purpose,
                appointment_id=v["id"],
                currency="USD",
                total=sum((d.amount for d in drafts), Decimal("0.00")),
                service_date=day,
                rendering_provider_id=(session["signed_by_id"] if session else None) or v["clinician_id"],
                issued_at=issued,
                issued_by=None,
            )
        )
        lines[len(invoices) - 1] = drafts
    created = Invoice.objects.bulk_create(invoices, batch_size=BATCH)
    all_lines = []
    for index, inv in enumerate(created):
        for line in lines[index]:
            line.invoice = inv
            all_lines.append(line)
    InvoiceLine.objects.bulk_create(all_lines, batch_size=BATCH)
    credit_notes, payments, allocations = _settle(ctx, created, numbers, desk=desk, admin=admin)
    for loc, n in numbers.items():
        InvoiceSequence.objects.update_or_create(location_id=loc, defaults={"last_number": n})
    ctx.counts["packages sold"] = _packages(ctx, locations, desk)
    ctx.counts["invoices"] = len(created)
    ctx.counts["credit notes"] = credit_notes
    ctx.counts["payments"] = payments
    ctx.counts["allocations"] = allocations


def _line(fee: FeeItem | None, description: str = "", price: Decimal | None = None, units: int = 1) -> InvoiceLine:
    unit_price = fee.price if fee is not None else (price or Decimal("0.00"))
    return InvoiceLine(
        fee_item=fee,
        code_system=fee.code_system if fee is not None else CodeSystem.CLINIC,
        code=fee.code if fee is not None else "",
        description=fee.description if fee is not None else description,
        units=units,
        unit_price=unit_price,
        amount=unit_price * units,
    )


def _settle(ctx: SeedContext, invoices: list[Invoice], numbers, *, desk, admin) -> tuple[int, int, int]:
    """Pay most invoices on the day; leave some part-paid or unpaid; waive a few no-show fees."""
    rng = ctx.rng
    now = timezone.now()
    notes: list[Invoice] = []
    note_lines: list[tuple[int, InvoiceLine]] = []
    payments: list[Payment] = []
    paid_for: list[tuple[int, Decimal]] = []
    for inv in invoices:
        roll = rng.random()
        if inv.purpose == InvoicePurpose.NO_SHOW and roll < 0.3 and admin is not None:
            numbers[inv.location_id] += 1
            notes.append(
                Invoice(
                    location_id=inv.location_id,
                    number=numbers[inv.location_id],
                    patient_id=inv.patient_id,
                    kind=InvoiceKind.CREDIT_NOTE,
                    purpose=inv.purpose,
                    credits=inv,
                    currency=inv.currency,
                    total=inv.total,
                    service_date=inv.service_date,
                    reason="Waived: first missed visit, called the next morning",
                    issued_at=inv.issued_at + timedelta(days=1),
                    issued_by=admin,
                )
            )
            note_lines.append((len(notes) - 1, _line(None, f"Fee waived for {inv.label}", inv.total)))
            continue
        recent = (now - inv.issued_at).days < 120
        if roll < (0.80 if not recent else 0.70):
            amount = inv.total
        elif roll < 0.90:
            amount = (inv.total / 2).quantize(Decimal("0.01"))
        else:
            continue  # unpaid: it ages on the outstanding balances report
        at = inv.issued_at + timedelta(minutes=20)
        payments.append(
            Payment(
                patient_id=inv.patient_id,
                location_id=inv.location_id,
                method=rng.choice(METHODS),
                amount=amount,
                currency=inv.currency,
                status="completed",
                idempotency_key=uuid.UUID(int=rng.getrandbits(128)).hex,
                reference=f"{rng.randint(100000, 999999)}",
                received_at=at,
                received_by=desk,
                completed_at=at,
            )
        )
        paid_for.append((inv.pk, amount))
    made_notes = Invoice.objects.bulk_create(notes, batch_size=BATCH)
    lines = []
    for index, line in note_lines:
        line.invoice = made_notes[index]
        lines.append(line)
    InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)
    made = Payment.objects.bulk_create(payments, batch_size=BATCH)
    allocations = [
        PaymentAllocation(payment=p, invoice_id=invoice_id, amount=amount, at=p.received_at, by=desk)
        for p, (invoice_id, amount) in zip(made, paid_for, strict=True)
    ]
    PaymentAllocation.objects.bulk_create(allocations, batch_size=BATCH)
    return len(made_notes), len(made), len(allocations)


def _packages(ctx: SeedContext, locations: list[Location], desk) -> int:
    """An induction series on sale at every location, deposits asked for infusions, and a few
    packages sold this week (through the service, as the desk sells them)."""
    infusion = AppointmentType.objects.filter(code="infusion").first()
    if infusion is None or desk is None:
        return 0
    plans = [
        PackagePlan.objects.get_or_create(
            location=loc,
            name="Induction series: six infusions",
            defaults={"appointment_type": infusion, "sessions": 6, "price": Decimal("2400.00"), "validity_days": 120},
        )[0]
        for loc in locations
    ]
    FeeItem.objects.bulk_create(
        FeeItem(
            location=loc,
            role=FeeRole.DEPOSIT,
            appointment_type=infusion,
            code_system=CodeSystem.CLINIC,
            description="Deposit to hold an infusion chair",
            price=Decimal("100.00"),
            effective_from=SINCE,
        )
        for loc in locations
        if not FeeItem.objects.filter(location=loc, role=FeeRole.DEPOSIT).exists()
    )
    buyers = list(Patient.objects.filter(pk__in=ctx.patient_ids, status=Patient.Status.ACTIVE).order_by("-pk")[:3])
    for n, patient in enumerate(buyers):
        services.package_sell(
            patient=patient,
            plan=plans[n % len(plans)],
            method=METHODS[n % len(METHODS)],
            idempotency_key=uuid.UUID(int=ctx.rng.getrandbits(128)).hex,
            by=desk,
        )
    return len(buyers)
