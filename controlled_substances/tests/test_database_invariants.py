"""The database itself refuses a wrong ledger (security-reference R10, test D8): no UPDATE or
DELETE of an entry by any route, no negative balance, no self-witnessed waste."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, connection, transaction
from django.utils import timezone

from controlled_substances import services
from controlled_substances.models import Container, LedgerEntry
from controlled_substances.tests.factories import container, manager, nurse

pytestmark = pytest.mark.django_db
REFUSED = (InternalError, ProgrammingError, IntegrityError)


@pytest.fixture
def entry(patient):
    vial = container()
    return services.administration_record(container=vial, volume_ml="2", patient=patient, by=nurse(), at=timezone.now())


def test_an_entry_cannot_be_updated_through_the_orm(entry):
    with pytest.raises(REFUSED), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(quantity_ml=Decimal("0.10"))
    entry.refresh_from_db()
    assert entry.quantity_ml == Decimal("2.00")


def test_an_entry_cannot_be_saved_over_or_deleted(entry):
    entry.reason = "edited"
    with pytest.raises(REFUSED), transaction.atomic():
        entry.save()
    with pytest.raises(REFUSED), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.filter(pk=entry.pk, reason="").exists()


def test_raw_sql_cannot_update_or_delete_entries(entry):
    with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE controlled_substances_ledgerentry SET quantity_ml = 0 WHERE id = %s", [entry.pk])
    with pytest.raises(REFUSED), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM controlled_substances_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.count() == 2  # receipt + administration


def _raw_entry(entry, **overrides):
    fields = {
        "container_id": entry.container_id,
        "seq": 99,
        "kind": "waste",
        "occurred_at": timezone.now(),
        "recorded_at": timezone.now(),
        "quantity_ml": Decimal("1.00"),
        "quantity_mg": Decimal("50.00"),
        "delta_ml": Decimal("-1.00"),
        "balance_after_ml": Decimal("7.00"),
        "actor_id": entry.actor_id,
        "witness_id": entry.actor_id,
        **overrides,
    }
    LedgerEntry.objects.create(**fields)


def test_a_waste_witnessed_by_the_person_recording_it_is_refused(entry):
    with pytest.raises(IntegrityError, match="csentry_witness_not_actor"), transaction.atomic():
        _raw_entry(entry)


def test_a_waste_without_a_witness_is_refused(entry):
    with pytest.raises(IntegrityError, match="csentry_waste_witnessed"), transaction.atomic():
        _raw_entry(entry, witness_id=None)


def test_a_negative_balance_is_refused_on_entry_and_container(entry):
    other = manager()
    with pytest.raises(IntegrityError, match="csentry_balance_not_negative"), transaction.atomic():
        _raw_entry(entry, witness_id=other.pk, balance_after_ml=Decimal("-0.01"))
    with pytest.raises(IntegrityError, match="cscontainer_balance_not_negative"), transaction.atomic():
        Container.objects.filter(pk=entry.container_id).update(remaining_ml=Decimal("-1"))


def test_destruction_needs_two_distinct_witnesses_and_form_41(entry):
    w1 = manager()
    with pytest.raises(IntegrityError, match="csentry_destruction"), transaction.atomic():
        _raw_entry(entry, kind="destruction", witness_id=w1.pk, form_41_ref="F41-1")
    with pytest.raises(IntegrityError, match="csentry_witnesses_distinct"), transaction.atomic():
        _raw_entry(entry, kind="destruction", witness_id=w1.pk, second_witness_id=w1.pk, form_41_ref="F41-1")


def test_the_delta_must_match_the_kind(entry):
    with pytest.raises(IntegrityError, match="csentry_delta_matches_kind"), transaction.atomic():
        _raw_entry(entry, kind="administration", patient_id=entry.patient_id, witness_id=None, delta_ml=Decimal("1.00"))


@pytest.mark.parametrize("kind", ["adjustment", "reversal"])
def test_the_database_refuses_a_correction_without_a_second_person(entry, kind):
    link = {"reverses_id": entry.pk} if kind == "reversal" else {}
    with pytest.raises(IntegrityError, match="csentry_correction_second_person"), transaction.atomic():
        _raw_entry(entry, kind=kind, witness_id=None, reason="typo", delta_ml=Decimal("1.00"), **link)


def test_the_database_refuses_a_correction_confirmed_by_its_recorder(entry):
    with pytest.raises(IntegrityError, match="csentry_witness_not_actor"), transaction.atomic():
        _raw_entry(entry, kind="adjustment", reason="typo", delta_ml=Decimal("1.00"))
