"""Factories for the ledger. Stock arrives through ``services.stock_receive`` so every
container starts with its receipt entry, as in real use."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from controlled_substances import services
from controlled_substances.models import Container, Product, Registration, Supplier

PASSWORD = "witness-pass-1"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("ndc",)

    name = "Ketamine HCl injection"
    ndc = "0409-2051-05"
    concentration_mg_per_ml = Decimal("50.000")
    container_volume_ml = Decimal("10.00")


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier
        django_get_or_create = ("dea_number",)

    name = "Northeast Medical Supply"
    address = "100 Distribution Way, Albany, NY 12205"
    dea_number = "RN1234563"


def registration(*, dea_number: str = "FA1234563", location=None, expires_on: date | None = None) -> Registration:
    """The registration stock arrives under by default (one per test, reused), or another one."""
    from scheduling.tests.factories import LocationFactory

    existing = Registration.objects.filter(dea_number=dea_number).select_related("location").first()
    if existing is not None:
        return existing
    return Registration.objects.create(
        location=location or LocationFactory(time_zone="UTC"),
        dea_number=dea_number,
        expires_on=expires_on or timezone.localdate() + timedelta(days=700),
    )


def manager(**kwargs):
    return UserFactory(role=Role.ADMINISTRATOR, **kwargs)


def nurse(**kwargs):
    return UserFactory(role=Role.NURSE, credentials="RN", **kwargs)


def receive(
    *,
    containers: int = 1,
    by=None,
    lot_number: str = "24A113",
    product=None,
    expiry: date | None = None,
    at: Registration | None = None,
):
    by = by or manager()
    return services.stock_receive(
        registration=at or registration(),
        product=product or ProductFactory(),
        supplier=SupplierFactory(),
        lot_number=lot_number,
        expiry_date=expiry or timezone.localdate() + timedelta(days=365),
        invoice_number="INV-7781",
        invoice_date=timezone.localdate() - timedelta(days=1),
        containers=containers,
        received_at=timezone.now(),
        by=by,
    )


def container(**kwargs) -> Container:
    return receive(**kwargs)[0]


def object_for_route(name: str, patient):
    """A real object for the access matrix's ``<name>`` route kwarg."""
    from controlled_substances.models import CountLine

    by = manager(username="cs.route.manager")
    vial = container(by=by, lot_number=f"R{patient.pk}")
    if name == "container_id":
        return vial
    entry = services.administration_record(container=vial, volume_ml="1.00", patient=patient, by=by, at=timezone.now())
    if name == "entry_id":
        return entry
    if name == "report_id":
        return services.loss_record(
            container=vial, volume_ml="0.50", kind="loss", discovered_at=timezone.now(), description="spill", by=by
        ).loss_report
    on_hand = Container.objects.filter(registration=vial.registration, remaining_ml__gt=0)
    lines = [(c, c.remaining_ml - Decimal("0.10"), "estimated") for c in on_hand]
    count = services.count_record(
        registration=vial.registration,
        type="periodic",
        business_time="close",
        counted_at=timezone.now(),
        by=by,
        lines=lines,
    )
    if name == "count_id":
        return count
    if name == "line_id":
        return CountLine.objects.filter(count=count, container=vial).first()
    raise AssertionError(name)
