"""A document never fetches from the network or reads arbitrary files; hostile text prints literally."""

from __future__ import annotations

import socket
import threading

import pytest

from core import pdf
from documents import services
from documents.models import DocumentKind
from documents.tests.factories import signed
from documents.tests.helpers import flat


class ConnectionRecorder:
    """A local listening socket that records every connection attempt."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def recorder():
    rec = ConnectionRecorder()
    yield rec
    rec.close()


def test_the_recorder_does_see_a_connection(recorder):
    with socket.create_connection(("127.0.0.1", recorder.port), timeout=1):
        pass
    recorder.close()
    assert recorder.connections == 1


def test_markup_in_the_template_cannot_reach_the_network_or_the_disk(recorder):
    html = (
        "<html lang='en'><head><title>t</title>"
        f"<link rel='stylesheet' href='http://127.0.0.1:{recorder.port}/x.css'></head><body>"
        f"<img src='http://127.0.0.1:{recorder.port}/x'>"
        "<img src='file:///etc/passwd'><iframe src='file:///etc/passwd'></iframe>"
        "<p>ok</p></body></html>"
    )
    body, _pages = pdf.html_to_pdf(html)
    recorder.close()
    assert recorder.connections == 0
    assert "root:" not in flat(body)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x", "https://example.com/x.png", "file:///etc/passwd", "ftp://127.0.0.1/x"]
)
def test_the_fetcher_refuses_anything_but_static_files(url):
    with pytest.raises(ValueError, match="local static"):
        pdf.engine().fetcher.fetch(url)


def test_the_fetcher_serves_files_under_the_static_folders_and_data_urls():
    response = pdf.engine().fetcher.fetch(pdf.PRINT_CSS_PATH.resolve().as_uri())
    assert b"@page" in response.read()
    assert pdf.engine().fetcher.fetch("data:text/plain,hello").read() == b"hello"


def test_a_path_that_climbs_out_of_the_static_folder_is_refused():
    escape = pdf.PRINT_CSS_PATH.parent.as_uri() + "/../../../../../../etc/passwd"
    with pytest.raises(ValueError, match="local static"):
        pdf.engine().fetcher.fetch(escape)


@pytest.mark.django_db
def test_hostile_text_in_a_record_appears_literally_and_is_never_fetched(recorder):
    payload = (
        f"<img src=http://127.0.0.1:{recorder.port}/x> file:///etc/passwd "
        "<script>alert(1)</script> <b>bold?</b> {{ secret }} {% now 'Y' %}"
    )
    consultation = signed(
        presenting_problem=payload, allergies=f"<link rel=stylesheet href=http://127.0.0.1:{recorder.port}/s.css>"
    )
    document = services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=consultation.signed_by)
    document = services.document_render(document_id=document.pk)
    recorder.close()
    assert recorder.connections == 0
    text = flat(services.pdf_bytes(document))
    assert f"<img src=http://127.0.0.1:{recorder.port}/x>" in text
    assert "file:///etc/passwd" in text
    assert "<script>alert(1)</script>" in text
    assert "<b>bold?</b> {{ secret }} {% now 'Y' %}" in text
    assert "root:x:0" not in text
