"""Factories for money. A fee schedule is written directly (set-up); invoices and payments go
through ``billing.services`` so numbering and audit are exercised as in use."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from billing import services
from billing.models import (
    BillingSettings,
    CodeSystem,
    FeeItem,
    FeeRole,
    Invoice,
    InvoicePurpose,
    PackagePlan,
    Payment,
)
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

SINCE = date(2020, 1, 1)


def billing_settings(location, **fields: Any) -> BillingSettings:
    found, _ = BillingSettings.objects.update_or_create(
        location=location,
        defaults={
            "tax_id": "12-3456789",
            "late_cancel_fee": Decimal("75.00"),
            "no_show_fee": Decimal("100.00"),
            **fields,
        },
    )
    return found


def fee_schedule(location, *, since: date = SINCE) -> dict[str, FeeItem]:
    """A typical cash-pay schedule: evaluation, follow-up, infusion hours, push, drug."""
    rows = {
        "consultation": (FeeRole.VISIT, CodeSystem.CPT, "99205", "New patient evaluation", "350.00", "consultation"),
        "follow_up": (FeeRole.VISIT, CodeSystem.CPT, "99214", "Established patient follow-up", "180.00", "follow_up"),
        "first_hour": (FeeRole.INFUSION_FIRST_HOUR, CodeSystem.CPT, "96365", "IV infusion, first hour", "300.00", ""),
        "additional": (
            FeeRole.INFUSION_ADDITIONAL_HOUR,
            CodeSystem.CPT,
            "96366",
            "IV infusion, each additional hour",
            "100.00",
            "",
        ),
        "push": (FeeRole.IV_PUSH, CodeSystem.CPT, "96374", "IV push, single drug", "120.00", ""),
        "drug": (FeeRole.DRUG, CodeSystem.HCPCS, "J3490", "Ketamine HCl, unclassified drug", "50.00", ""),
    }
    made = {}
    for key, (role, system, code, description, price, type_code) in rows.items():
        made[key] = FeeItem.objects.create(
            location=location,
            role=role,
            code_system=system,
            code=code,
            description=description,
            price=Decimal(price),
            appointment_type=appointment_type(type_code) if type_code else None,
            effective_from=since,
        )
    return made


def deposit_fee(location, *, price: str = "100.00", type_code: str = "infusion") -> FeeItem:
    """A deposit of ``price`` asked at booking for the type (a fee schedule is written first)."""
    return FeeItem.objects.create(
        location=location,
        role=FeeRole.DEPOSIT,
        appointment_type=appointment_type(type_code),
        code="",
        code_system=CodeSystem.CLINIC,
        description="Deposit",
        price=Decimal(price),
        effective_from=SINCE,
    )


def key() -> str:
    return uuid.uuid4().hex


def invoice(patient, *, amount: str = "100.00", location=None, by=None, purpose=InvoicePurpose.OTHER) -> Invoice:
    location = location or LocationFactory()
    return services.invoice_issue(
        patient=patient,
        location_id=location.pk,
        lines=[services.LineDraft(description="Item", unit_price=Decimal(amount))],
        by=by,
        purpose=purpose,
    )


def payment(patient, *, amount: str = "100.00", location=None, by=None, method: str = "cash", **kwargs) -> Payment:
    location = location or LocationFactory()
    return services.payment_record(
        patient=patient,
        location_id=location.pk,
        method=method,
        amount=Decimal(amount),
        idempotency_key=key(),
        by=by,
        **kwargs,
    )


def object_for_route(kwarg: str, patient) -> Any:
    """The row a billing URL names, for the access and hostile-input sweeps."""
    location = LocationFactory()
    if kwarg == "invoice_id":
        return invoice(patient, location=location, purpose=InvoicePurpose.NO_SHOW)
    if kwarg == "payment_id":
        return payment(patient, location=location, amount="10.00")
    if kwarg == "package_id":
        return services.package_sell(
            patient=patient, plan=plan(location), method="cash", idempotency_key=key(), by=None
        )
    if kwarg == "visit_item_id":
        fee = FeeItem.objects.create(
            location=location, role=FeeRole.OTHER, code="96372", description="Injection", price=Decimal("45.00"),
            effective_from=SINCE,
        )  # fmt: skip
        visit = AppointmentFactory(patient=patient, location=location, status="checked_in")
        return services.visit_item_add(appointment=visit, fee_item=fee, units=1, by=UserFactory(role=Role.FRONT_DESK))
    raise AssertionError(f"no billing object for <{kwarg}>")


def plan(location, *, sessions: int = 6, price: str = "2400.00", days: int = 180) -> PackagePlan:
    return PackagePlan.objects.create(
        location=location,
        name=f"{sessions} infusions",
        appointment_type=appointment_type("infusion"),
        sessions=sessions,
        price=Decimal(price),
        validity_days=days,
    )
