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
from django.utils import timezone

from controlled_substances import reports as ledger_reports
from controlled_substances import services as ledger
from controlled_substances.models import ControlledSubstancePolicy
from controlled_substances.tests.factories import container
from documents import services
from documents.pdf import render_pdf
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


def _pngs(pdf: bytes, stem: str, out: Path) -> list[Path]:
    pdf_path = out / f"{stem}.pdf"
    pdf_path.write_bytes(pdf)
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
    now = timezone.now()
    draw = ledger.session_draw_record(session=session, container=container(), volume_ml="8.00", by=giver, at=now)
    ledger.waste_record(of_draw=draw, volume_ml="0.50", by=giver, witness=checker, at=now, manner="Expelled")
    issued["infusion-record"] = services.infusion_record_issue(patient=session.patient, session_id=session.pk, by=giver)
    out = _out_dir()
    for stem, document in issued.items():
        document = services.document_render(document_id=document.pk)
        pages = _pngs(services.pdf_bytes(document), stem, out)
        assert len(pages) == document.page_count
        assert all(page.stat().st_size > 1000 for page in pages)

    # The fifth document: the controlled-substance dispensing log, as the ledger's report view renders it.
    today = timezone.localdate()
    registration = draw.container.registration
    tables = [ledger_reports.dispensing(registration=registration, start=today, end=today)]
    pdf = render_pdf(
        "controlled_substances/report_pdf.html",
        {
            "tables": tables,
            "registration": registration,
            "policy": ControlledSubstancePolicy.current(),
            "printed_at": timezone.localtime(),
            "user": by,
        },
        title=tables[0].title,
    )
    assert _pngs(pdf, "ketamine-dispensing", out)
