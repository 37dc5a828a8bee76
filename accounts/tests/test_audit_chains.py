"""The audit trail as one chain per site plus the chain-wide one, sealed by signed anchors."""

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from accounts import audit, context
from accounts.models import AuditAnchor, AuditEvent
from core.audit import Category, Verb


def _read_at(location_id, actor, patient, action="t.read"):
    """An audited chart read by a request working at ``location_id`` (None: no site chosen)."""
    token = context.bind(context.RequestContext(request_id="r1", location_id=location_id))
    try:
        return audit.record_read(
            actor=actor, action=action, target=patient, patient=patient, category=Category.CLINICAL
        )
    finally:
        context.reset(token)


@pytest.mark.django_db
def test_each_site_writes_its_own_chain_and_all_of_them_verify(patient, clinician):
    first = _read_at(1, clinician, patient)
    other = _read_at(2, clinician, patient)
    second = _read_at(1, clinician, patient)
    wide = _read_at(None, clinician, patient)
    assert (first.chain, other.chain, wide.chain) == ("location:1", "location:2", "")
    assert second.prev_hash == first.row_hash  # the site's chain skips the other site's row
    assert other.prev_hash == ""
    checked, broken = audit.verify_chain()
    assert broken == []
    assert checked == AuditEvent.objects.count()
    call_command("verify_audit_chain")


@pytest.mark.django_db
def test_a_row_moved_to_another_sites_chain_fails(patient, clinician):
    _read_at(1, clinician, patient)
    moved = _read_at(1, clinician, patient)
    _read_at(2, clinician, patient)
    with pgtrigger.ignore("accounts.AuditEvent:auditevent_append_only"):
        AuditEvent.objects.filter(pk=moved.pk).update(chain="location:2")
    assert moved.pk in audit.verify_chain()[1]


@pytest.mark.django_db
def test_a_chain_wide_row_hashes_as_rows_did_before_chains_were_split(patient, clinician):
    """Rows written before the split have no chain in their hash; the chain-wide chain's new rows
    hash the same way, so the old rows and the chain they continue verify unchanged."""
    event = _read_at(None, clinician, patient)
    canonical = json.loads(audit._canonical(event))
    assert "chain" not in canonical
    assert event.row_hash == hashlib.sha256((event.prev_hash + "|" + audit._canonical(event)).encode()).hexdigest()
    assert "chain" in json.loads(audit._canonical(_read_at(3, clinician, patient)))


@pytest.mark.django_db(transaction=True)
def test_a_writer_at_one_site_does_not_wait_for_a_writer_at_another(patient, clinician):
    """A transaction holding site 1's chain open blocks no write at site 2 (a lock wait of even
    one second would fail the write) nor the anchor, while site 1's next writer does wait."""
    _read_at(1, clinician, patient)
    _read_at(2, clinician, patient)

    def write_elsewhere(location_id):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '1s'")
                return _read_at(location_id, clinician, patient, action="t.elsewhere").chain
        except Exception as error:  # noqa: BLE001 - the lock time-out is the answer under test
            return type(error).__name__
        finally:
            connections.close_all()

    with transaction.atomic():
        _read_at(1, clinician, patient, action="t.held")  # site 1's chain stays locked until this ends
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(write_elsewhere, 2).result(timeout=30) == "location:2"
            assert pool.submit(write_elsewhere, 1).result(timeout=30) == "OperationalError"
    assert audit.verify_chain()[1] == []


@pytest.mark.django_db
def test_an_anchor_seals_every_chains_head_and_a_chain_cut_short_fails(patient, clinician):
    _read_at(1, clinician, patient)
    newest = _read_at(1, clinician, patient)
    wide = _read_at(None, clinician, patient)
    anchor = audit.anchor_chains()
    assert anchor.heads["location:1"] == [newest.pk, newest.row_hash]
    assert anchor.heads[""] == [wide.pk, wide.row_hash]
    assert audit.anchor_chains() == anchor  # nothing new: no second anchor
    call_command("verify_audit_chain")

    # The newest row removed: the chain that is left still links, but the anchor names the row.
    with pgtrigger.ignore("accounts.AuditEvent:auditevent_append_only"):
        AuditEvent.objects.filter(pk=newest.pk).delete()
    assert audit.verify_chain()[1] == []
    assert audit.verify_anchors() == [
        f"anchor {anchor.pk}: the head of chain 'location:1' (row {newest.pk}) is gone or altered"
    ]
    with pytest.raises(CommandError, match="is gone"):
        call_command("verify_audit_chain")


@pytest.mark.django_db
def test_an_anchor_rewritten_without_the_key_fails_its_signature(patient, clinician, settings):
    _read_at(1, clinician, patient)
    anchor = audit.anchor_chains()
    forged = {key: [row_id, "0" * 64] for key, (row_id, _) in anchor.heads.items()}
    with pgtrigger.ignore("accounts.AuditAnchor:auditanchor_append_only"):
        AuditAnchor.objects.filter(pk=anchor.pk).update(heads=forged)
    assert audit.verify_anchors() == [f"anchor {anchor.pk} of {anchor.at:%Y-%m-%d %H:%M} fails its signature"]


@pytest.mark.django_db
def test_anchors_signed_before_a_key_rotation_still_verify(patient, clinician, settings):
    _read_at(1, clinician, patient)
    old = settings.AUDIT_ANCHOR_KEY
    audit.anchor_chains()
    settings.AUDIT_ANCHOR_KEY = "a-new-anchor-key"
    assert audit.verify_anchors() != []
    settings.AUDIT_ANCHOR_KEY_FALLBACKS = [old]
    assert audit.verify_anchors() == []


@pytest.mark.django_db
def test_a_batch_joins_the_chain_of_the_site_it_was_written_at(patient, clinician):
    token = context.bind(context.RequestContext(location_id=4))
    try:
        rows = audit.record_many(
            [
                {"actor": None, "action": f"t.batch.{i}", "verb": Verb.CREATE, "category": Category.AUDIT}
                for i in range(3)
            ]
        )
    finally:
        context.reset(token)
    assert {row.chain for row in rows} == {"location:4"}
    assert audit.verify_chain()[1] == []


@pytest.mark.django_db
def test_a_chart_read_joins_the_chain_of_the_site_chosen_on_the_calendar(client, clinician, patient):
    from django.urls import reverse

    from scheduling.tests.factories import LocationFactory

    site = LocationFactory()
    client.force_login(clinician)
    client.get(reverse("patients:detail", args=[patient.pk]))
    session = client.session
    session[context.LOCATION_SESSION_KEY] = site.pk
    session.save()
    client.get(reverse("patients:detail", args=[patient.pk]))
    reads = AuditEvent.objects.filter(action="patients.patient.viewed").order_by("id")
    assert [event.chain for event in reads] == ["", f"location:{site.pk}"]
