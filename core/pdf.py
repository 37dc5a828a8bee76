"""HTML to PDF with WeasyPrint, configured once per process: the print stylesheet, fonts and a fetcher
that can read only local static files.

Why this shape (performance-reference A1): importing WeasyPrint costs about 0.7 s and
parsing a stylesheet costs on every render, so the ``CSS`` object, the
``FontConfiguration`` and the fetcher are built once and reused; framework CSS
(Bootstrap) never enters a PDF. The fetcher is a ``URLFetcher`` (WeasyPrint ≥ 70
refuses plain functions) limited to ``file:`` and ``data:`` URLs, and a ``file:``
URL must point inside the static folders: a document never touches the network
(no SSRF) and never reads an arbitrary file such as ``/etc/passwd``.

This module needs only settings and templates, so it lives in the base package; the
caller passes the clinic's letterhead in the context (documents.snapshots.letterhead).
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)
# WeasyPrint logs the fontTools-fallback warning (missing libharfbuzz-subset0) at WARNING.
logging.getLogger("weasyprint").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.ERROR)

PRINT_CSS_PATH = Path(settings.BASE_DIR) / "static" / "documents" / "print.css"
PDF_VARIANT = "pdf/ua-1"  # tagged PDF with title and language (accessible output)
_lock = threading.Lock()


def allowed_roots() -> list[Path]:
    """The only folders a document may read from: collected and source static files."""
    roots = [Path(settings.STATIC_ROOT), *(Path(d) for d in settings.STATICFILES_DIRS)]
    return [root.resolve() for root in roots]


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or root in path.parents for root in roots)


@functools.cache
def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class StaticOnlyFetcher(URLFetcher):
        """``data:`` URLs, and ``file:`` URLs inside the static folders; nothing else."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path)).resolve()
                if _inside(path, allowed_roots()) and path.is_file():
                    return super().fetch(path.as_uri(), headers)
            logger.warning("documents: refused to fetch a %s URL while rendering", scheme or "relative")
            raise ValueError("documents fetch only local static files")

    return StaticOnlyFetcher


@dataclass(frozen=True)
class Engine:
    css: Any
    font_config: Any
    fetcher: Any
    base_url: str


@functools.cache
def engine() -> Engine:
    """Import WeasyPrint and parse the print stylesheet, once per process."""
    with _lock:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        font_config = FontConfiguration()
        fetcher = _fetcher_class()(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=2)
        css = CSS(
            string=PRINT_CSS_PATH.read_text(encoding="utf-8"),
            font_config=font_config,
            url_fetcher=fetcher,
            base_url=PRINT_CSS_PATH.parent.as_uri() + "/",
        )
        return Engine(css=css, font_config=font_config, fetcher=fetcher, base_url=allowed_roots()[-1].as_uri() + "/")


def warm_up() -> None:
    """Pay the import and stylesheet cost now (worker start), not in the first request."""
    engine()


def render_html(template_name: str, context: dict[str, Any], *, title: str, lang: str = "en") -> str:
    return render_to_string(template_name, {**context, "document_title": title, "document_lang": lang})


def html_to_pdf(html: str) -> tuple[bytes, int]:
    """PDF bytes and page count for an HTML string, with the shared stylesheet and fetcher."""
    from weasyprint import HTML

    eng = engine()
    document = HTML(string=html, base_url=eng.base_url, url_fetcher=eng.fetcher).render(
        stylesheets=[eng.css], font_config=eng.font_config, pdf_variant=PDF_VARIANT
    )
    return document.write_pdf(pdf_variant=PDF_VARIANT), len(document.pages)


def render_pdf(template_name: str, context: dict[str, Any], *, title: str, lang: str = "en") -> bytes:
    """Render a print template (extending ``documents/_print_base.html``) to PDF bytes.

    The generic helper other apps reuse (the controlled-substance report): pass
    already-escaped-by-Django context including ``letterhead``; the template sets the
    page header and footer.
    """
    pdf, _pages = html_to_pdf(render_html(template_name, context, title=title, lang=lang))
    return pdf
