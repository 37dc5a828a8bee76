"""Render every document as PNG pages (pdftoppm) to look at the layout by eye.

The pages land in var/artifacts/documents/ (or $DOCUMENTS_PNG_DIR, e.g. docs/documents for the
README). The test also checks what a reader sees first: one page image per PDF page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from documents import services
from documents.tests.factories import course
from infusions import rules
from infusions.tests.factories import advance, nurse, open_session, set_policy

PDFTOPPM = shutil.which("pdftoppm")
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(PDFTOPPM is None, reason="pdftoppm (Debian poppler-utils) is not installed"),
]


def _out_dir() -> Path:
    target = Path(os.environ.get("DOCUMENTS_PNG_DIR") or Path(settings.BASE_DIR) / "var" / "artifacts" / "documents")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _pngs(document, stem: str, out: Path) -> list[Path]:
    pdf_path = out / f"{stem}.pdf"
    pdf_path.write_bytes(services.pdf_bytes(document))
    for old in out.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(  # noqa: S603 - fixed arguments, local file
        [PDFTOPPM, "-png", "-r", os.environ.get("DOCUMENTS_PNG_DPI", "60"), str(pdf_path), str(out / stem)],
        check=True,
        timeout=60,
    )
    pdf_path.unlink()
    return sorted(out.glob(f"{stem}-*.png"))


def test_every_document_renders_to_png_pages():
    plan = course(sessions=12, planned=12)
    consultation = plan.consultation
    by = consultation.signed_by
    issued = {
        "consultation-summary": services.consultation_summary_issue(consultation=consultation, by=by),
        "discharge-instructions": services.discharge_instructions_issue(patient=plan.patient, by=by),
        "course-summary": services.course_summary_issue(plan=plan, by=by),
    }
    set_policy()
    giver, checker = nurse(), nurse()
    session = advance(open_session(by=giver), rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker)
    issued["infusion-record"] = services.infusion_record_issue(patient=session.patient, session_id=session.pk, by=giver)
    out = _out_dir()
    for stem, document in issued.items():
        document = services.document_render(document_id=document.pk)
        pages = _pngs(document, stem, out)
        assert len(pages) == document.page_count
        assert all(page.stat().st_size > 1000 for page in pages)
