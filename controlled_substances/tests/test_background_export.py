"""A long ledger PDF is rendered by the documents worker, not the web worker: the request
enqueues it and answers at once with a status page that polls until the download is ready."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from controlled_substances import services
from controlled_substances.access import MANAGE
from controlled_substances.tests.factories import manager, nurse, receive
from documents.models import Disclosure, Document, DocumentKind, RenderStatus
from documents.tasks import render_document, write_export
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _waste(n: int) -> None:
    by, witness = nurse(), nurse()
    for vial in receive(containers=n, by=manager()):
        draw = services.administration_record(
            container=vial, volume_ml="0.70", patient=PatientFactory(), by=by, at=timezone.now()
        )
        services.waste_record(of_draw=draw, volume_ml="0.10", witness=witness, by=by, at=timezone.now())


@pytest.fixture
def two_row_threshold(monkeypatch):
    # The real threshold is a few hundred rows; three rows stand for a long month here.
    monkeypatch.setattr("controlled_substances.views._background_rows", lambda: 2)


def test_a_long_waste_log_pdf_is_prepared_in_the_background_then_downloaded(
    client_as, admin, two_row_threshold, django_capture_on_commit_callbacks, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr("documents.tasks.render_document.delay", queued.append)  # the broker edge
    _waste(3)
    client = client_as(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("controlled_substances:report-waste"), {"format": "pdf"})
    document = Document.objects.get(kind=DocumentKind.CONTROLLED_SUBSTANCE_REPORT)
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:status", args=[document.pk])
    assert queued == [document.pk]  # enqueued after commit; nothing rendered in the request
    assert document.status == RenderStatus.PENDING
    assert document.patient_id is None
    assert AuditEvent.objects.filter(action="controlled_substances.report.waste", verb="export").exists()

    page = client.get(response["Location"]).content.decode()
    assert "Preparing the PDF of 3 rows" in page
    panel = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="load delay:2s"' in panel  # it polls itself while the worker renders

    assert render_document(document.pk) == RenderStatus.RENDERED  # the worker's task, run here
    panel = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    download = reverse("documents:download", args=[document.pk])
    assert download in panel
    assert "hx-trigger" not in panel
    assert f"ketamine-waste-{timezone.localdate():%Y%m%d}.pdf" in panel

    pdf = client.get(download)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="ketamine-waste-{timezone.localdate():%Y%m%d}.pdf"' in pdf["Content-Disposition"]
    disclosure = Disclosure.objects.get(document=document)
    assert disclosure.purpose == Disclosure.Purpose.OPERATIONS
    assert disclosure.patient_id is None
    event = AuditEvent.objects.get(action="documents.document.download", object_id=str(document.pk))
    assert (event.verb, event.data_category) == ("export", "controlled_substance")


def test_only_those_who_manage_the_ledger_see_or_download_a_prepared_report(
    client_as, admin, clinician, frontdesk, two_row_threshold
):
    _waste(3)
    client_as(admin).get(reverse("controlled_substances:report-waste"), {"format": "pdf"})
    document = Document.objects.get(kind=DocumentKind.CONTROLLED_SUBSTANCE_REPORT)
    render_document(document.pk)
    for who in (clinician, frontdesk):
        client = client_as(who)
        assert client.get(reverse("documents:status", args=[document.pk])).status_code == 403
        assert client.get(reverse("documents:download", args=[document.pk])).status_code == 403
    assert client_as(manager()).get(reverse("documents:status", args=[document.pk])).status_code == 200
    assert not Disclosure.objects.exists()


def test_a_short_report_still_downloads_in_the_request_when_the_clinic_allows_it(client_as, admin, settings):
    settings.LEDGER_EXPORT_BACKGROUND_ROWS = 300
    _waste(1)
    response = client_as(admin).get(reverse("controlled_substances:report-waste"), {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert not Document.objects.exists()


def test_every_ledger_pdf_is_prepared_in_the_background_by_default(client_as, admin):
    _waste(1)
    response = client_as(admin).get(reverse("controlled_substances:report-waste"), {"format": "pdf"})
    assert response.status_code == 302
    assert Document.objects.get().kind == DocumentKind.CONTROLLED_SUBSTANCE_REPORT


def test_the_threshold_is_bounded_whatever_the_setting(settings):
    from controlled_substances.views import PDF_MAX_ROWS, _background_rows

    settings.LEDGER_EXPORT_BACKGROUND_ROWS = -5
    assert _background_rows() == 0
    settings.LEDGER_EXPORT_BACKGROUND_ROWS = 10**6
    assert _background_rows() == PDF_MAX_ROWS


def test_a_long_waste_log_csv_is_written_by_the_worker_with_what_the_inline_csv_holds(client_as, admin, monkeypatch):
    _waste(3)
    client = client_as(admin)
    inline = client.get(reverse("controlled_substances:report-waste"), {"format": "csv"})
    assert inline["Content-Type"] == "text/csv; charset=utf-8"  # 3 rows: under the threshold
    assert not Document.objects.exists()

    monkeypatch.setattr("documents.services.export_background_rows", lambda: 2)
    monkeypatch.setattr("documents.tasks.write_export.delay", lambda pk: None)
    response = client.get(reverse("controlled_substances:report-waste"), {"format": "csv"})
    document = Document.objects.get(kind=DocumentKind.DATA_EXPORT)
    assert response["Location"] == reverse("documents:status", args=[document.pk])
    assert document.snapshot["export"] == "controlled_substances.report.waste"
    assert write_export(document.pk) == RenderStatus.RENDERED
    document.refresh_from_db()
    assert (document.rows_done, document.rows_total) == (3, 3)
    file = client.get(reverse("documents:download", args=[document.pk]))
    assert b"".join(file.streaming_content) == inline.content
    assert f'filename="ketamine-waste-{timezone.localdate():%Y%m%d}.csv"' in file["Content-Disposition"]
    event = AuditEvent.objects.get(action="documents.document.download", object_id=str(document.pk))
    assert (event.verb, event.data_category) == ("export", "controlled_substance")
    for who in (nurse(), manager()):
        expected = 200 if who.has_perm(MANAGE) else 403
        assert client_as(who).get(reverse("documents:status", args=[document.pk])).status_code == expected


def test_the_request_stores_only_the_filters_and_the_worker_runs_the_report(
    client_as, admin, two_row_threshold, monkeypatch
):
    _waste(3)
    client = client_as(admin)

    def no_query_in_the_request(*args, **kwargs):
        raise AssertionError("the ledger report's query ran in the request")

    monkeypatch.setattr("controlled_substances.views.reports.build", no_query_in_the_request)
    monkeypatch.setattr("documents.tasks.render_document.delay", lambda pk: None)
    start = timezone.localdate().replace(day=1)
    response = client.get(
        reverse("controlled_substances:report-waste"), {"format": "pdf", "start": f"{start:%Y-%m-%d}"}
    )
    document = Document.objects.get(kind=DocumentKind.CONTROLLED_SUBSTANCE_REPORT)
    assert response["Location"] == reverse("documents:status", args=[document.pk])
    assert "tables" not in document.snapshot
    assert document.snapshot["report"] == "waste"
    assert document.snapshot["params"]["start"] == f"{start:%Y-%m-%d}"
    assert document.title.startswith(f"Waste and destruction log {start:%Y-%m-%d} to ")
    monkeypatch.undo()

    from documents.services import render_context

    shown = render_context(document)  # what the worker lays out: the rows read when it renders
    assert shown["rows"] == 3
    assert len(shown["tables"][0]["rows"]) == 3
    assert shown["printed_by"] == str(admin)
    assert render_document(document.pk) == RenderStatus.RENDERED


def test_a_report_too_long_for_a_pdf_is_refused_with_a_message(client_as, admin, monkeypatch):
    monkeypatch.setattr("controlled_substances.views.PDF_MAX_ROWS", 2)
    _waste(3)
    response = client_as(admin).get(reverse("controlled_substances:report-waste"), {"format": "pdf"}, follow=True)
    assert response.status_code == 200
    assert "More than 2 rows is too many for a PDF" in response.content.decode()
    assert not Document.objects.exists()
