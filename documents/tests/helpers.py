from __future__ import annotations

import io

from pypdf import PdfReader


def pdf_text(data: bytes) -> list[str]:
    """The text of each page, as a reader (and a screen reader) sees it."""
    reader = PdfReader(io.BytesIO(data))
    return [page.extract_text() or "" for page in reader.pages]


def flat(data: bytes) -> str:
    return " ".join(" ".join(pdf_text(data)).split())
