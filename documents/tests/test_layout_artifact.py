"""Render every document as PNG pages (pdftoppm) to look at the layout by eye.

The pages land in var/artifacts/documents/ (or $DOCUMENTS_PNG_DIR, e.g. docs/documents for the
README). The test also checks what a reader sees first: one page image per PDF page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from billing import services as billing
from billing.tests.factories import billing_settings, fee_schedule, key
from consultations.tests.factories import signed_consultation
from controlled_substances import reports as ledger_reports
from controlled_substances import services as ledger
from controlled_substances.tests.factories import ProductFactory, container
from controlled_substances.tests.factories import registration as stock_registration
from controlled_substances.views import report_pdf_bytes
from documents import services
from documents.models import DocumentKind
from documents.tests.factories import course
from infusions import rules
from infusions import services as infusion_services
from infusions.tests.factories import advance, nurse, open_session, set_policy
from scheduling.tests.factories import AppointmentFactory, LocationFactory, appointment_type

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
        "consultation-summary": services.issue(kind=DocumentKind.CONSULTATION_SUMMARY, subject=consultation, by=by),
        "discharge-instructions": services.issue(kind=DocumentKind.DISCHARGE_INSTRUCTIONS, subject=plan.patient, by=by),
        "course-summary": services.issue(kind=DocumentKind.COURSE_SUMMARY, subject=plan, by=by),
    }
    set_policy()
    giver, checker = nurse(), nurse()
    # The verified dose (40 mg = 4.00 mL of 10 mg/mL) is drawn before the start, where it is given.
    session = open_session(by=giver, location=stock_registration().location)
    session = advance(session, rules.SessionStatus.CLEARED, nurse_user=giver, verifier=checker)
    now = timezone.now()
    vial = container(product=ProductFactory(ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000")))
    draw = ledger.session_draw_record(session=session, container=vial, volume_ml="4.00", by=giver, at=now)
    # Stopped five minutes before the bag ran out (35 of 40 mg given), so 0.50 mL of the draw is wasted.
    start = now - timedelta(minutes=50)
    session = infusion_services.session_transition(
        session=session, to=rules.SessionStatus.INFUSING, by=giver, container_lot="LOT-1", at=start
    )
    session = infusion_services.session_transition(
        session=session,
        to=rules.SessionStatus.STOPPED_EARLY,
        by=giver,
        reason_code="adverse_event",
        reason="Nausea",
        at=start + timedelta(minutes=35),
    )
    session = advance(session, rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker)
    ledger.waste_record(of_draw=draw, volume_ml="0.50", by=giver, witness=checker, at=now, manner="Expelled")
    issued["infusion-record"] = services.issue(kind=DocumentKind.INFUSION_RECORD, subject=session, by=giver)
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
    pdf = report_pdf_bytes(tables, registration=registration, user=by, printed_at=timezone.localtime())
    assert _pngs(pdf, "ketamine-dispensing", out)


def test_the_superbill_and_the_invoice_of_an_infusion_visit_render_to_png_pages(frontdesk, clinician):
    location = LocationFactory(name="Midtown", address="1 Main Street, Springfield", phone="+12125550100")
    billing_settings(location, tax_id="12-3456789")
    fee_schedule(location)
    patient = signed_consultation(by=clinician, icd10_codes="F33.2, F41.1").patient
    start = timezone.now() - timedelta(hours=4)
    visit = AppointmentFactory(
        patient=patient,
        location=location,
        clinician=clinician,
        appointment_type=appointment_type("infusion"),
        start=start,
        end=start + timedelta(hours=2),
    )
    # 95 minutes: the first hour and one additional hour, paid at the desk with an HSA card.
    invoice = billing.invoice_for_visit(appointment=visit, infused=(start, start + timedelta(minutes=95)))
    billing.payment_record(
        patient=patient,
        location_id=location.pk,
        method="hsa_fsa",
        amount=invoice.total,
        idempotency_key=key(),
        by=frontdesk,
    )
    out = _out_dir()
    for stem, kind in (("superbill", DocumentKind.SUPERBILL), ("invoice", DocumentKind.INVOICE)):
        document = services.document_render(document_id=services.issue(kind=kind, subject=invoice, by=frontdesk).pk)
        pages = _pngs(services.pdf_bytes(document), stem, out)
        assert len(pages) == document.page_count
        assert all(page.stat().st_size > 1000 for page in pages)
