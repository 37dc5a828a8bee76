"""The reports read from the read replica while it answers and keeps up, and say where they read.

The ``replica`` alias here is what settings make of DATABASE_REPLICA_URL under test: a test mirror
of the default database (Django's TEST MIRROR), a connection of its own to the same test database.
A test in a transaction of its own cannot be seen from there, so the tests that are not
transactional lend the alias the test's own connection; the transactional ones (their rows are
committed) keep the mirror's connection, which also shows which queries went where.
"""

from __future__ import annotations

import copy
import socket
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.roles import GROUP_NAMES, Role
from core import replica
from reports.registry import BY_SLUG, build
from reports.selectors import operations
from reports.tests.conftest import NOW, filters
from scheduling.models import Appointment

WEEK_QUERY = {"start": "2026-02-02", "end": "2026-02-08"}
BOTH = [DEFAULT_DB_ALIAS, replica.REPLICA]


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup):
    """The alias as settings make it of DATABASE_REPLICA_URL, set up as Django's test runner sets up
    a mirror: its settings say ``TEST["MIRROR"]`` and name the default's test database.

    Because Django sees the mirror in the alias's own connection, the end of a transactional test
    empties the one database once, for the default alias, and makes its content types,
    permissions and role groups again; a second emptying under the replica's name would make none
    of them (the router migrates nothing there) and leave the next transactional test without.

    Module-scoped so that it exists before each test's database set-up, which lets the tests name
    it in their ``databases``.
    """
    alias = copy.deepcopy(connections.settings[DEFAULT_DB_ALIAS])
    alias["TEST"] = {**alias["TEST"], "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[replica.REPLICA] = alias
    connections[replica.REPLICA].creation.set_as_test_mirror(connections[DEFAULT_DB_ALIAS].settings_dict)
    yield alias
    connections[replica.REPLICA].close()
    del connections[replica.REPLICA]
    del connections.settings[replica.REPLICA]


@pytest.fixture(autouse=True)
def replica_sees_the_test(request):
    """Outside a transactional test, the rows a test writes stay in its transaction, which the
    mirror's connection cannot see: the alias is lent the default connection for the test (its
    transaction is rolled back, nothing is emptied). A transactional test keeps the mirror's: Django
    takes a lent connection for a database of its own and would empty it a second time."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction"):
        yield
        return
    mirror = connections[replica.REPLICA]
    connections[replica.REPLICA] = connections[DEFAULT_DB_ALIAS]
    yield
    connections[replica.REPLICA] = mirror


@pytest.fixture(autouse=True)
def fresh_lag(settings):
    settings.REPLICA_MAX_LAG_SECONDS = 300
    cache.delete(replica._CACHE_KEY)
    yield
    cache.delete(replica._CACHE_KEY)


@pytest.fixture
def reconnect(replica_alias):
    """In a transactional test, connect the replica afresh with ``overrides`` (a closed port: a
    replica that does not answer); the mirror's own settings are back for the end of the test."""
    saved = copy.deepcopy(replica_alias)

    def connect(**overrides):
        connections[replica.REPLICA].close()
        replica_alias.update(overrides)
        del connections[replica.REPLICA]
        return connections[replica.REPLICA]

    yield connect
    connections[replica.REPLICA].close()
    replica_alias.clear()
    replica_alias.update(saved)
    del connections[replica.REPLICA]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db(databases=BOTH)
def test_without_a_replica_everything_reads_the_primary_and_the_page_says_nothing(client_as, admin, week):
    with mock.patch.object(replica, "configured", return_value=False):
        with replica.replica_reads() as source:
            assert router.db_for_read(Appointment) == DEFAULT_DB_ALIAS
        html = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY).content.decode()
    assert not source.from_replica
    assert "Figures from the" not in html


@pytest.mark.django_db(databases=BOTH)
def test_reports_read_the_replica_and_writes_stay_on_the_primary(client_as, admin, week):
    with replica.replica_reads() as source:
        assert source.from_replica
        assert source.lag == 0
        assert router.db_for_read(Appointment) == replica.REPLICA
        assert router.db_for_write(Appointment) == DEFAULT_DB_ALIAS
        assert Appointment.objects.filter(pk=week.a1.pk).get()._state.db == replica.REPLICA
    assert router.db_for_read(Appointment) == DEFAULT_DB_ALIAS  # outside a report: the primary

    response = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY)
    assert response.status_code == 200
    assert "Figures from the reporting replica, 0 s behind." in response.content.decode()
    assert AuditEvent.objects.filter(action="reports.attendance.viewed", actor=admin).exists()
    printed = client_as(admin).get(reverse("reports:attendance"), {**WEEK_QUERY, "format": "print"})
    assert "Figures from the reporting replica, 0 s behind." in printed.content.decode()


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_the_report_queries_run_on_the_replica_connection_and_the_audit_event_on_the_primary(client_as, admin, week):
    assert connections[replica.REPLICA] is not connections[DEFAULT_DB_ALIAS]  # the mirror's own connection
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary,
        CaptureQueriesContext(connections[replica.REPLICA]) as standby,
    ):
        response = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY)
    assert response.status_code == 200
    on_replica = [q["sql"] for q in standby.captured_queries]
    on_primary = [q["sql"] for q in primary.captured_queries]
    assert any("scheduling_appointment" in sql for sql in on_replica)
    assert not any("scheduling_appointment" in sql for sql in on_primary)
    assert any("INSERT INTO accounts_auditevent" in sql for sql in on_primary)
    assert not any(word in sql for sql in on_replica for word in ("INSERT", "UPDATE", "DELETE"))
    assert response.content.decode().count("Figures from the reporting replica") == 1


@pytest.mark.django_db(databases=BOTH)
def test_a_replica_too_far_behind_is_passed_over_for_the_primary(client_as, admin, week, settings):
    settings.REPLICA_MAX_LAG_SECONDS = 300
    with mock.patch.object(replica, "measure_lag", return_value=540.0) as measured:
        with replica.replica_reads() as source:
            assert router.db_for_read(Appointment) == DEFAULT_DB_ALIAS
        html = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY).content.decode()
    assert not source.from_replica
    assert "Figures from the primary database (replica 9 min behind)." in html
    assert measured.call_count == 1  # measured once, then read from the cache by the page

    cache.delete(replica._CACHE_KEY)
    with mock.patch.object(replica, "measure_lag", return_value=None):  # a standby that replayed nothing yet
        html = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY).content.decode()
    assert "Figures from the primary database (replica lag unknown)." in html


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_an_unreachable_replica_falls_back_to_the_primary_without_an_error(reconnect, client_as, admin, week):
    reconnect(HOST="127.0.0.1", PORT=str(_closed_port()))
    response = client_as(admin).get(reverse("reports:attendance"), WEEK_QUERY)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Figures from the primary database (replica unreachable)." in html
    rows = operations.attendance(filters(), now=NOW)[0].display_rows()  # read here, from the primary
    assert rows
    assert all(f'<td class="text-end">{value}</td>' in html for value, numeric in rows[0] if numeric)


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_a_replica_that_fails_during_the_report_is_read_again_from_the_primary(reconnect, admin, week):
    reconnect(HOST="127.0.0.1", PORT=str(_closed_port()))
    cache.set(replica._CACHE_KEY, 0.0, 60)  # the last check found it caught up; then it went away
    sections, source = build(BY_SLUG["attendance"], filters())
    assert source.unreachable
    assert not source.from_replica
    assert sections
    assert sections[0].rows
    assert cache.get(replica._CACHE_KEY) == replica._UNREACHABLE  # the next pages go straight to the primary


@pytest.mark.django_db(databases=BOTH)
def test_the_csv_export_reads_the_replica_too(client_as, admin, week):
    with mock.patch("reports.registry.replica_reads", wraps=replica.replica_reads) as reads:
        response = client_as(admin).get(
            reverse("reports:attendance"), {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
        )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert reads.call_count == 1


@pytest.mark.django_db(transaction=True, databases=BOTH)
def test_the_end_of_a_transactional_test_empties_the_database_once_and_the_roles_keep_their_permissions():
    """What Django runs after a transactional test that names both aliases: the mirror is not
    emptied on its own (which would drop the permissions just made again for the default alias)."""

    class BothAliases(TransactionTestCase):
        databases = set(BOTH)

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as queries:
        BothAliases(methodName="__init__")._fixture_teardown()
    assert sum(q["sql"].startswith("TRUNCATE") for q in queries.captured_queries) == 1
    desk = Group.objects.get(name=GROUP_NAMES[Role.FRONT_DESK])
    assert desk.permissions.filter(content_type__app_label="scheduling", codename="add_appointment").exists()
