"""The protocol library's usual dose ranges have hard bounds an administrator cannot pass
(mg/kg over the infusion 0.1–0.75 [S2][S3], mg/kg/h 0.35–2 [S11]): refused at the field by
the admin's form and the service, and by the database for any other writer; a change is
audited with its before and after values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms import modelform_factory

from accounts.models import AuditEvent
from consultations.models import Protocol
from consultations.services.configuration import protocol_save
from consultations.tests.factories import depression_protocol, ensure_protocol_library

pytestmark = pytest.mark.django_db


def test_the_shipped_library_is_within_the_bounds():
    ensure_protocol_library()
    for protocol in Protocol.objects.all():
        protocol.full_clean()


@pytest.mark.parametrize(
    ("case", "unit", "dose_min", "dose_max", "field", "limit"),
    [
        ("a mg/kg maximum of 999", "mg_per_kg", "0.5", "999", "dose_max", "0.1–0.75 mg/kg"),
        ("a mg/kg maximum just above", "mg_per_kg", "0.5", "0.76", "dose_max", "0.1–0.75 mg/kg"),
        ("a mg/kg minimum below", "mg_per_kg", "0.05", "0.5", "dose_min", "0.1–0.75 mg/kg"),
        ("an ICU rate of 7 mg/kg/h", "mg_per_kg_per_h", "0.5", "7", "dose_max", "0.35–2 mg/kg/h"),
    ],
)
def test_a_range_outside_the_bounds_is_refused_at_the_field(admin, case, unit, dose_min, dose_max, field, limit):
    protocol = depression_protocol()
    before = (protocol.dose_unit, protocol.dose_min, protocol.dose_max)
    protocol.dose_unit, protocol.dose_min, protocol.dose_max = unit, Decimal(dose_min), Decimal(dose_max)
    with pytest.raises(ValidationError) as refused:
        protocol_save(protocol=protocol, by=admin, created=False)
    assert limit in " ".join(refused.value.message_dict[field]), case
    stored = Protocol.objects.get(pk=protocol.pk)
    assert (stored.dose_unit, stored.dose_min, stored.dose_max) == before, case


def test_the_admin_form_shows_the_bound_at_the_field_and_keeps_what_was_typed():
    protocol = depression_protocol()
    form_class = modelform_factory(Protocol, exclude=[])
    data = {
        "name": protocol.name,
        "indications": ",".join(protocol.indications),
        "dose_unit": "mg_per_kg",
        "dose_min": "0.5",
        "dose_max": "999",
        "course": protocol.course,
        "default_weight_basis": protocol.default_weight_basis,
        "source": protocol.source,
        "active": "on",
    }
    form = form_class(data=data, instance=protocol)
    assert not form.is_valid()
    assert "0.1–0.75 mg/kg" in " ".join(form.errors["dose_max"])
    assert form["dose_max"].value() == "999"


def test_the_database_refuses_a_range_outside_the_bounds_from_any_writer():
    protocol = depression_protocol()
    with pytest.raises(IntegrityError), transaction.atomic():
        Protocol.objects.filter(pk=protocol.pk).update(dose_max=Decimal("999"))


def test_a_change_within_the_bounds_is_audited_with_before_and_after(admin):
    protocol = depression_protocol()
    protocol.dose_max = Decimal("0.75")
    protocol_save(protocol=protocol, by=admin, created=False)
    event = AuditEvent.objects.filter(action="consultations.protocol.updated").latest("id")
    assert [Decimal(v) for v in event.changes["dose_max"]] == [Decimal("0.5"), Decimal("0.75")]
