"""The witness co-signs with their own password: wrong password → field error, audited,
throttled; both identities are recorded on the entry."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from controlled_substances.models import LedgerEntry
from controlled_substances.tests.factories import PASSWORD, container, nurse

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(client):
    recorder, witness = nurse(username="rn.recorder"), nurse(username="rn.witness", password=PASSWORD)
    vial = container()
    client.force_login(recorder)
    return client, recorder, witness, vial, reverse("controlled_substances:container-waste", args=[vial.pk])


def _post(client, url, witness, password, volume="1.00"):
    return client.post(
        url, {"volume_ml": volume, "manner": "Sink + sharps", "witness": witness.pk, "witness_password": password}
    )


def test_the_right_password_records_both_identities(setup):
    client, recorder, witness, vial, url = setup
    response = _post(client, url, witness, PASSWORD)
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind="waste")
    assert (entry.actor, entry.witness, entry.quantity_ml) == (recorder, witness, Decimal("1.00"))
    vial.refresh_from_db()
    assert vial.remaining_ml == Decimal("9.00")


def test_a_wrong_password_is_a_field_error_and_an_audited_denial(setup):
    client, recorder, witness, vial, url = setup
    response = _post(client, url, witness, "not-it")
    assert response.status_code == 200
    assert "not the witness&#x27;s password" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="waste").exists()
    denial = AuditEvent.objects.get(action="controlled_substances.witness.failed")
    assert (denial.actor, denial.outcome, denial.object_id) == (recorder, "denied", str(witness.pk))


def test_the_recorder_cannot_witness_themselves(setup):
    client, recorder, witness, vial, url = setup
    response = _post(client, url, recorder, "whatever")
    assert response.status_code == 200
    assert response.context["form"].errors["witness"]


def test_repeated_wrong_passwords_lock_the_witness_out_for_the_window(setup, settings):
    client, recorder, witness, vial, url = setup
    for _ in range(settings.PASSWORD_CHECK_LIMIT):
        _post(client, url, witness, "guess")
    response = _post(client, url, witness, PASSWORD)  # even the right one is refused now
    assert "Too many wrong passwords" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="waste").exists()


def test_someone_without_ledger_rights_cannot_witness(setup, frontdesk):
    client, recorder, witness, vial, url = setup
    response = _post(client, url, frontdesk, "x")
    assert "witness" in response.context["form"].errors
