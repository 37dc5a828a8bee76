"""The infusion session record: dose steps and verification, vitals, recovery scores, signature."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controlled_substances import services as ledger
from controlled_substances.tests.factories import ProductFactory, container, registration
from documents.models import Document, DocumentKind
from documents.tests.helpers import flat
from infusions import rules
from infusions import services as infusion_services
from infusions.tests.factories import advance, nurse, open_session, set_policy

pytestmark = pytest.mark.django_db


def test_a_finished_session_prints_every_step_of_its_record(client_as, clinician):
    set_policy()
    giver, checker = nurse(), nurse()
    session = advance(open_session(by=giver), rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker)
    client = client_as(clinician)
    response = client.post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.INFUSION_RECORD, "subject_id": session.pk},
    )
    assert response.status_code == 302
    text = flat(client.get(response["Location"]).content)
    assert "Infusion session record" in text
    assert "Calculation steps" in text
    assert "Actual weight: 80" in text
    assert f"independently verified by {checker}" in text
    assert "LOT-1" in text
    assert "Aldrete" in text
    # Signing now also needs the ledger's ketamine draw (controlled_substances): until signed the
    # record says so, and a signed one prints the signer (templates/documents/infusion_record.html).
    assert "Not signed yet" in text
    assert "Sam Rivera" in text
    assert Document.objects.get(kind=DocumentKind.INFUSION_RECORD).page_count >= 1


def test_the_record_lists_the_vial_lot_the_draw_and_the_witnessed_waste(client_as, clinician):
    set_policy()
    giver, checker = nurse(), nurse()
    # The verified dose is drawn before the start, from a vial held where the infusion is given.
    session = open_session(by=giver, location=registration().location)
    session = advance(session, rules.SessionStatus.CLEARED, nurse_user=giver, verifier=checker)
    ten_mg = ProductFactory(ndc="0143-9508-10", concentration_mg_per_ml=Decimal("10.000"))
    vial = container(lot_number="K10B77", product=ten_mg)
    draw = ledger.session_draw_record(session=session, container=vial, volume_ml="4.00", by=giver, at=timezone.now())
    # Stopped at the start (the patient asked): nearly the whole bag is left to waste.
    session = infusion_services.session_transition(session=session, to=rules.SessionStatus.INFUSING, by=giver)
    session = infusion_services.session_transition(
        session=session, to=rules.SessionStatus.STOPPED_EARLY, by=giver, reason_code="patient_request", reason="Asked"
    )
    session = advance(session, rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker)
    ledger.waste_record(of_draw=draw, volume_ml="0.50", by=giver, witness=checker, at=timezone.now(), manner="Expelled")
    client = client_as(clinician)
    response = client.post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.INFUSION_RECORD, "subject_id": session.pk},
    )
    text = flat(client.get(response["Location"]).content)
    table = text[text.index("Ketamine drawn and wasted") : text.index("Vital signs")]
    assert table.count("lot K10B77 · Ketamine") == 2  # the draw and its waste, each with vial and lot
    assert "Administration" in table
    assert "4.00 40.00" in table
    assert "Expelled 0.50 5.00" in table
    assert f"witness {checker}" in table


def test_front_desk_cannot_issue_an_infusion_record(client_as, frontdesk):
    set_policy()
    giver = nurse()
    session = open_session(by=giver)
    response = client_as(frontdesk).post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.INFUSION_RECORD, "subject_id": session.pk},
    )
    assert response.status_code == 403


def test_the_course_summary_shows_each_sessions_dose(client_as, clinician):
    set_policy()
    giver, checker = nurse(), nurse()
    session = advance(open_session(by=giver), rules.SessionStatus.DISCHARGED, nurse_user=giver, verifier=checker)
    client = client_as(clinician)
    response = client.post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.COURSE_SUMMARY, "subject_id": session.plan_id},
    )
    text = flat(client.get(response["Location"]).content)
    dose = session.dose_calculations.get(superseded_at__isnull=True).dose_mg
    assert f"{dose} mg" in text
    assert "no adverse events" in text


def test_the_record_and_the_course_summary_print_the_delivered_mg(client_as, clinician):
    """Delivery is recorded, not assumed: 20 min at 150 mL/h then 20 min at 75 mL/h of a
    40 mg / 100 mL bag is 75 mL = 30.00 mg, printed as the session stored it."""
    from datetime import UTC, datetime, timedelta

    from infusions import services

    set_policy()
    giver, checker = nurse(), nurse()
    session = advance(open_session(by=giver), rules.SessionStatus.CLEARED, nurse_user=giver, verifier=checker)
    t0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    session = services.session_transition(
        session=session, to=rules.SessionStatus.INFUSING, by=giver, container_lot="LOT-1", at=t0
    )
    services.rate_change_record(
        session=session, by=giver, rate_ml_per_h=Decimal("75.0"), reason="BP up", at=t0 + timedelta(minutes=20)
    )
    session = services.session_transition(
        session=session,
        to=rules.SessionStatus.STOPPED_EARLY,  # the slower run has not run the bag by then
        by=giver,
        reason_code="vitals_limit",
        reason="BP stayed up",
        at=t0 + timedelta(minutes=40),
    )
    assert session.delivered_mg == Decimal("30.00")
    client = client_as(clinician)
    record = client.post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.INFUSION_RECORD, "subject_id": session.pk},
    )
    assert "Delivered 30.00 mg (75.00 mL from the bag)" in flat(client.get(record["Location"]).content)
    summary = client.post(
        reverse("documents:issue", args=[session.patient_id]),
        {"kind": DocumentKind.COURSE_SUMMARY, "subject_id": session.plan_id},
    )
    assert "40.0 mg · 30.00 mg delivered" in flat(client.get(summary["Location"]).content)
