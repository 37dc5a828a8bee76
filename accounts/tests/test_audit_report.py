"""The audit report on a long trail: keyset pages, filters an index can answer, a capped count,
and a CSV export read in keyset batches."""

import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import audit, exports, views
from accounts.models import AuditEvent
from accounts.tests.factories import UserFactory
from core.audit import Category, Verb

URL = reverse("accounts:audit-report")
START = datetime(2026, 3, 2, 14, 0, tzinfo=ZoneInfo("UTC"))


def _events(n, *, actor, patient=None, action="test.trail.read", start=START, step=timedelta(minutes=1)):
    made = []
    for i in range(n):
        with time_machine.travel(start + i * step, tick=False):
            made.append(
                audit.record(
                    actor=actor, action=f"{action}.{i}", verb=Verb.READ, category=Category.DEMOGRAPHICS, patient=patient
                )
            )
    return made


def _actions(response) -> list[str]:
    return [e.action for e in response.context["page"] if e.action.startswith("test.")]


@pytest.mark.django_db
def test_pages_follow_the_trail_by_time_with_first_previous_next_and_last_links(client, admin, monkeypatch):
    monkeypatch.setattr(views, "AUDIT_PAGE_SIZE", 3)
    _events(7, actor=admin)
    client.force_login(admin)
    query = {"action": "test.trail."}

    first = client.get(URL, query)
    assert _actions(first) == ["test.trail.read.6", "test.trail.read.5", "test.trail.read.4"]
    assert not first.context["page"].has_previous
    body = first.content.decode()
    assert "page=last" in body
    assert "after=" in body
    assert "before=" not in body

    second = client.get(URL, {**query, "after": first.context["page"].next_cursor})
    assert _actions(second) == ["test.trail.read.3", "test.trail.read.2", "test.trail.read.1"]
    third = client.get(URL, {**query, "after": second.context["page"].next_cursor})
    assert _actions(third) == ["test.trail.read.0"]
    assert not third.context["page"].has_next
    back = client.get(URL, {**query, "before": third.context["page"].previous_cursor})
    assert _actions(back) == _actions(second)

    last = client.get(URL, {**query, "page": "last"})
    assert _actions(last) == ["test.trail.read.2", "test.trail.read.1", "test.trail.read.0"]
    assert last.context["page"].has_previous
    assert not last.context["page"].has_next
    oldest_first = client.get(URL, {**query, "sort": "at"})
    assert _actions(oldest_first) == ["test.trail.read.0", "test.trail.read.1", "test.trail.read.2"]


@pytest.mark.django_db
def test_a_page_costs_the_same_queries_at_any_depth_and_counts_no_further_than_its_cap(
    client, admin, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(views, "AUDIT_PAGE_SIZE", 2)
    monkeypatch.setattr(views, "AUDIT_COUNT_CAP", 4)
    _events(9, actor=admin)
    client.force_login(admin)
    client.get(URL, {"action": "test."})  # the session keeps the role and permissions from here on
    for extra in ({}, {"page": "last"}):
        # Session, user, the capped count, the page and the audit row of this read: no OFFSET, no
        # full count, the same at any depth.
        with django_assert_max_num_queries(5), CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"action": "test.", **extra})
        assert not [q for q in captured.captured_queries if "OFFSET" in q["sql"]]
        assert "More than 4 entries" in response.content.decode()
    assert "1 entries" in client.get(URL, {"action": "test.trail.read.8"}).content.decode()


@pytest.mark.django_db
def test_a_cursor_that_does_not_parse_opens_the_first_page(client, admin):
    _events(2, actor=admin)
    client.force_login(admin)
    for cursor in ("", "x.y", "1.", "99999999999999999999999.1", "-5.-5"):
        response = client.get(URL, {"action": "test.", "after": cursor, "before": cursor})
        assert response.status_code == 200
        assert _actions(response) == ["test.trail.read.1", "test.trail.read.0"]


@pytest.mark.django_db
def test_filters_compile_to_conditions_an_index_answers(client, admin, frontdesk, patient):
    """A user name and an MRN are looked up and the trail filtered by id; dates are a UTC range;
    an action is a case-sensitive prefix. Nothing wraps a column of the trail in a function."""
    _events(2, actor=frontdesk, patient=patient)
    client.force_login(admin)
    query = {
        "user": frontdesk.username,
        "patient": patient.mrn.lower(),
        "action": "test.trail",
        "date_from": "2026-03-01",
    }
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, query)
    assert _actions(response) == ["test.trail.read.1", "test.trail.read.0"]
    trail_sql = [q["sql"] for q in captured.captured_queries if 'FROM "accounts_auditevent"' in q["sql"]]
    assert trail_sql
    for sql in trail_sql:
        for wrapped in ("UPPER(", "AT TIME ZONE", "::date"):
            assert wrapped not in sql, sql
        assert '"accounts_auditevent"."actor_id" IN' in sql
        assert '"accounts_auditevent"."patient_id" IN' in sql
    assert _actions(client.get(URL, {"action": "Test.trail"})) == []  # case matters


@pytest.mark.django_db
def test_a_user_filter_follows_the_account_through_a_rename_and_unknown_names_match_nothing(client, admin):
    someone = UserFactory(username="r.before")
    _events(1, actor=someone)
    someone.username = "r.after"
    someone.save(update_fields=["username"])
    client.force_login(admin)
    assert _actions(client.get(URL, {"user": "r.after"})) == ["test.trail.read.0"]
    assert _actions(client.get(URL, {"user": "R.AFTER"})) == ["test.trail.read.0"]
    assert _actions(client.get(URL, {"user": "nobody.at.all"})) == []
    assert _actions(client.get(URL, {"patient": "GM0000000"})) == []


@pytest.mark.django_db
def test_dates_are_the_clinics_days_whatever_the_time_zone_of_the_server(client, admin):
    """An event at 23:30 clinic time on 2 March is on 2 March, though it is 3 March in UTC."""
    zone = ZoneInfo(settings.TIME_ZONE)
    late = datetime(2026, 3, 2, 23, 30, tzinfo=zone)
    _events(1, actor=admin, start=late)
    client.force_login(admin)
    assert _actions(client.get(URL, {"date_from": "2026-03-02", "date_to": "2026-03-02"})) == ["test.trail.read.0"]
    assert _actions(client.get(URL, {"date_from": "2026-03-03"})) == []
    assert _actions(client.get(URL, {"date_to": "2026-03-01"})) == []


@pytest.mark.django_db
def test_the_csv_export_streams_every_matching_row_in_keyset_batches(client, admin, monkeypatch):
    monkeypatch.setattr(exports, "AUDIT_CSV_BATCH", 2)
    _events(5, actor=admin)
    client.force_login(admin)
    export = client.get(URL, {"action": "test.trail.", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [r[4] for r in rows[1:]] == [f"test.trail.read.{i}" for i in (4, 3, 2, 1, 0)]
    oldest_first = client.get(URL, {"action": "test.trail.", "format": "csv", "sort": "at"})
    rows = list(csv.reader(io.StringIO(b"".join(oldest_first.streaming_content).decode())))
    assert [r[4] for r in rows[1:]] == [f"test.trail.read.{i}" for i in range(5)]
    assert AuditEvent.objects.filter(action="accounts.audit_report.exported").count() == 2


@pytest.mark.django_db
def test_only_chronological_order_is_offered(client, admin):
    client.force_login(admin)
    response = client.get(URL, {"sort": "user"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.django_db
def test_each_row_shows_its_cells_escaped_with_refusals_and_emergency_access_marked(client, admin):
    hostile = UserFactory(username="<b>x</b>&co")
    audit.record(actor=hostile, action="test.trail.<i>read</i>", verb=Verb.READ, category=Category.DEMOGRAPHICS)
    audit.record(
        actor=admin,
        action="test.trail.denied",
        verb=Verb.READ,
        category=Category.CLINICAL,
        outcome=AuditEvent.Outcome.DENIED,
        changes={"break_glass": True},
    )
    client.force_login(admin)
    page = client.get(URL, {"action": "test."}).content.decode()
    assert "<td>&lt;b&gt;x&lt;/b&gt;&amp;co</td>" in page
    assert 'title="test.trail.&lt;i&gt;read&lt;/i&gt;"' in page
    assert "<b>x</b>" not in page
    assert "<i>read</i>" not in page
    assert '<td><span class="badge text-bg-warning">Denied</span></td>' in page
    assert '<span class="badge text-bg-danger">emergency</span>' in page
    assert "<td>Clinical</td><td>" in page


@pytest.mark.django_db
def test_the_first_and_last_days_there_are_filter_as_open_ends_never_a_500(client, admin):
    """9999-12-31 has no next day to stop before and 0001-01-01 no instant before it in some zones:
    each is taken as no bound, on the page and for the CSV alike."""
    _events(1, actor=admin)
    client.force_login(admin)
    for query in (
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31"},
    ):
        response = client.get(URL, {"action": "test.", **query})
        assert response.status_code == 200, query
    assert _actions(client.get(URL, {"action": "test.", "date_to": "9999-12-31"})) == ["test.trail.read.0"]
    assert _actions(client.get(URL, {"action": "test.", "date_from": "9999-12-31"})) == []
