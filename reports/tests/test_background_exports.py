"""Long CSV exports are written by the documents worker: the request counts the rows (capped) and
answers with a status page whose progress rises as the worker writes; the file is downloaded once
ready, permission-checked, audited and accounted as a disclosure. A short export stays inline."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from accounts import audit
from accounts.models import AuditEvent
from core import csv_export
from core.audit import Category, Verb
from documents.models import Disclosure, Document, DocumentKind, RenderStatus
from documents.tasks import write_export
from reports.selectors import operations
from reports.tests.test_views import WEEK_QUERY

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("accounts:audit-report")


@pytest.fixture
def threshold(monkeypatch):
    # The real threshold is a few hundred rows; four stand for a long export here.
    monkeypatch.setattr("documents.services.export_background_rows", lambda: 4)


@pytest.fixture
def queued(monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("documents.tasks.write_export.delay", sent.append)  # the broker edge
    return sent


def _trail(n: int, *, actor) -> None:
    for i in range(n):
        audit.record(actor=actor, action=f"test.export.{i}", verb=Verb.READ, category=Category.DEMOGRAPHICS)


def _csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode())))


def test_a_long_audit_csv_becomes_a_document_whose_progress_rises_then_downloads(
    client_as, admin, threshold, queued, django_capture_on_commit_callbacks, monkeypatch
):
    _trail(9, actor=admin)
    client = client_as(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(AUDIT_URL, {"action": "test.export.", "format": "csv"})
    document = Document.objects.get(kind=DocumentKind.DATA_EXPORT)
    status = reverse("documents:status", args=[document.pk])
    assert response.status_code == 302
    assert response["Location"] == status
    assert queued == [document.pk]  # enqueued after commit: nothing written in the request
    assert document.status == RenderStatus.PENDING
    assert document.snapshot["params"] == {"action": "test.export."}  # the filters, never the rows
    assert AuditEvent.objects.filter(action="accounts.audit_report.exported", verb="export").exists()
    assert "waiting for the worker" in client.get(status).content.decode()

    # The worker writes; the status panel is read as it goes (every third line).
    monkeypatch.setattr("documents.services.EXPORT_PROGRESS_EVERY", 2)
    seen: list[str] = []
    real_writer = csv_export.writer

    class Watching:
        def __init__(self, out):
            self.inner, self.lines = real_writer(out), 0

        def writerow(self, row):
            self.lines += 1
            if self.lines % 3 == 0:
                seen.append(client.get(status, HTTP_HX_REQUEST="true").content.decode())
            return self.inner.writerow(row)

    monkeypatch.setattr("core.csv_export.writer", Watching)
    assert write_export(document.pk) == RenderStatus.RENDERED
    progress = [int(panel.split("Writing the CSV: ")[1].split(" of")[0]) for panel in seen]
    assert progress == sorted(progress)
    assert progress[0] < progress[-1]
    assert all('hx-trigger="load delay:2s"' in panel and "of 9 rows" in panel for panel in seen)

    panel = client.get(status, HTTP_HX_REQUEST="true").content.decode()
    download = reverse("documents:download", args=[document.pk])
    assert download in panel
    assert "hx-trigger" not in panel
    assert "(9 rows)" in panel
    file = client.get(download)
    assert file["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="audit-' in file["Content-Disposition"]
    rows = _csv_rows(b"".join(file.streaming_content))
    assert rows[0][0] == "When (UTC)"
    assert [r[4] for r in rows[1:]] == [f"test.export.{i}" for i in range(8, -1, -1)]
    disclosure = Disclosure.objects.get(document=document)
    assert (disclosure.purpose, disclosure.patient_id) == (Disclosure.Purpose.OPERATIONS, None)
    event = AuditEvent.objects.get(action="documents.document.download", object_id=str(document.pk))
    assert (event.verb, event.data_category) == ("export", "audit")


def test_a_short_audit_csv_still_streams_in_the_request(client_as, admin, threshold):
    _trail(3, actor=admin)
    response = client_as(admin).get(AUDIT_URL, {"action": "test.export.", "format": "csv"})
    assert response.status_code == 200
    assert len(_csv_rows(b"".join(response.streaming_content))) == 4
    assert not Document.objects.exists()


def test_only_who_may_read_the_trail_sees_or_downloads_its_export(
    client_as, admin, clinician, frontdesk, nurse, threshold, queued
):
    _trail(9, actor=admin)
    client_as(admin).get(AUDIT_URL, {"action": "test.export.", "format": "csv"})
    document = Document.objects.get(kind=DocumentKind.DATA_EXPORT)
    write_export(document.pk)
    for who in (clinician, frontdesk, nurse):
        client = client_as(who)
        assert client.get(reverse("documents:status", args=[document.pk])).status_code == 403
        assert client.get(reverse("documents:download", args=[document.pk])).status_code == 403
    assert not Disclosure.objects.exists()
    assert not AuditEvent.objects.filter(action="documents.document.download").exists()


def test_a_pending_export_is_never_written_by_the_download_request(client_as, admin, threshold, queued):
    _trail(9, actor=admin)
    client = client_as(admin)
    client.get(AUDIT_URL, {"action": "test.export.", "format": "csv"})
    document = Document.objects.get(kind=DocumentKind.DATA_EXPORT)
    response = client.get(reverse("documents:download", args=[document.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:status", args=[document.pk])
    document.refresh_from_db()
    assert document.status == RenderStatus.PENDING
    assert not Disclosure.objects.exists()


def test_a_long_report_csv_runs_its_query_in_the_worker(client_as, admin, week, queued, monkeypatch):
    query = {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
    client = client_as(admin)
    inline = client.get(reverse("reports:attendance"), query).content  # the week's 7 visits: inline
    assert not Document.objects.exists()

    built: list[int] = []
    real = operations.attendance
    monkeypatch.setattr(operations, "attendance", lambda f, now: built.append(1) or real(f, now=now))
    monkeypatch.setattr("documents.services.export_background_rows", lambda: 5)  # 7 visits are over 5
    response = client.get(reverse("reports:attendance"), query)
    assert response.status_code == 302
    assert built == []  # the report's query did not run in the request
    document = Document.objects.get(kind=DocumentKind.DATA_EXPORT)
    assert document.snapshot["export"] == "reports.attendance"
    assert write_export(document.pk) == RenderStatus.RENDERED
    assert built == [1]
    file = client.get(reverse("documents:download", args=[document.pk]))
    assert _csv_rows(b"".join(file.streaming_content)) == _csv_rows(inline)  # the same table as the inline CSV
    event = AuditEvent.objects.get(action="documents.document.download", object_id=str(document.pk))
    assert event.data_category == "scheduling"


def test_a_short_report_csv_stays_inline(client_as, admin, week, monkeypatch):
    monkeypatch.setattr("documents.services.export_background_rows", lambda: 50)
    response = client_as(admin).get(
        reverse("reports:attendance"), {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert not Document.objects.exists()


def test_a_user_scoped_to_some_locations_downloads_only_the_exports_they_asked_for(
    client_as, admin, week, queued, monkeypatch, scope_to
):
    from accounts.roles import Role
    from accounts.tests.factories import UserFactory

    monkeypatch.setattr("documents.services.export_background_rows", lambda: 5)
    query = {**WEEK_QUERY, "format": "csv", "table": "attendance-type"}
    wide = UserFactory(username="admin.chain", role=Role.ADMINISTRATOR)
    scoped = scope_to(UserFactory(username="admin.midtown", role=Role.ADMINISTRATOR), week.site)
    for user in (wide, scoped):
        assert client_as(user).get(reverse("reports:attendance"), query).status_code == 302
    everywhere = Document.objects.get(kind=DocumentKind.DATA_EXPORT, issued_by=wide)  # "All locations"
    theirs = Document.objects.get(kind=DocumentKind.DATA_EXPORT, issued_by=scoped)
    for document in (everywhere, theirs):
        assert write_export(document.pk) == RenderStatus.RENDERED
    client = client_as(scoped)
    assert client.get(reverse("documents:download", args=[theirs.pk])).status_code == 200
    assert client.get(reverse("documents:download", args=[everywhere.pk])).status_code == 403
    assert client.get(reverse("documents:status", args=[everywhere.pk])).status_code == 403
    client = client_as(wide)  # chain-wide: every location's, a colleague's included
    assert client.get(reverse("documents:download", args=[theirs.pk])).status_code == 200
