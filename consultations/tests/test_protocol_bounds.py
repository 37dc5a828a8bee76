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


def _admin_edit(client, url, **changes):
    page = client.get(url)
    form = page.context["adminform"].form
    data = {}
    for name, value in form.initial.items():
        if name == "id" or value is False or value is None:
            continue
        data[name] = ",".join(str(v) for v in value) if isinstance(value, list) else value
    data.update(changes)
    return client.post(url, data)


def test_an_administrators_edit_of_the_dose_waits_for_the_medical_directors_sign_off(client_as, admin):
    from django.urls import reverse

    from prescribers import policy
    from prescribers.models import PolicyChange
    from prescribers.tests.factories import credentialed, prescriber

    director = prescriber(username="medical.director")
    credentialed(director, medical_director=True)
    protocol = depression_protocol()
    url = reverse("admin:consultations_protocol_change", args=[protocol.pk])
    response = _admin_edit(client_as(admin), url, dose_max="0.6", notes="Reviewed with the director")
    assert response.status_code == 302
    stored = Protocol.objects.get(pk=protocol.pk)
    assert stored.dose_max == Decimal("0.5")  # not applied yet
    assert stored.notes == "Reviewed with the director"  # the rest of the edit saved now
    change = PolicyChange.objects.get(policy_model="consultations.protocol")
    assert (change.changes["dose_max"]["before"], change.changes["dose_max"]["after"]) == ("0.500", "0.600")
    page = client_as(director).get(reverse("prescribers:policy-changes")).content.decode()
    assert "Highest dose" in page
    assert "0.600" in page
    policy.policy_change_decide(change=change, by=director, approve=True)
    assert Protocol.objects.get(pk=protocol.pk).dose_max == Decimal("0.6")


def test_an_administrators_edit_outside_the_bounds_is_refused_at_the_field(client_as, admin):
    from django.urls import reverse

    from prescribers.models import PolicyChange

    protocol = depression_protocol()
    url = reverse("admin:consultations_protocol_change", args=[protocol.pk])
    response = _admin_edit(client_as(admin), url, dose_max="999")
    assert response.status_code == 200
    assert "0.1–0.75 mg/kg" in " ".join(response.context["adminform"].form.errors["dose_max"])
    assert not PolicyChange.objects.exists()
