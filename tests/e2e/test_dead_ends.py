"""Browser: the day's dead ends, each walked as the nurse or the prescriber meets it.

- The observation time runs out with nothing entered: the chair board's own refresh shows the
  patient discharge-ready, the session page offers Discharge, and discharging works.
- A reading typed in the minute the infusion started is the infusion's first: no "Overdue".
- The buttons match what is possible: one minute into a 40-minute infusion "Infusion complete"
  is not offered (Stop early is); a cleared patient can still go home untreated, with a reason,
  and the appointment is then cancelled as not treated today; the calendar card of the running
  infusion reads "In chair"; "Mark induction completed" waits for an infusion.
- Issuing a PDF from the patient page downloads it and the Documents card lists it at once.
- An intake booked on another day is reached from the chart and from its appointment; signed
  with no front-desk check-in, its appointment reads Completed with the check-in in its history;
  the discharged infusion's appointment reads Completed too.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.roles import Role
from consultations import services as consultation_services
from consultations.models import Consultation
from consultations.tests.factories import ensure_protocol_library, fill_clean_intake
from documents.tests.factories import signed
from infusions.models import InfusionSession
from infusions.rules import SessionStatus as S
from infusions.tests.factories import advance, open_session, set_policy
from scheduling.tests.factories import AppointmentFactory
from scheduling.views.common import calendar_url
from tests.e2e.test_infusion_day import _local, _sign_in, _user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff(db):
    ensure_protocol_library()
    return (
        _user("e2e.rn", Role.NURSE, first_name="Ada", last_name="Okafor", credentials="RN"),
        _user("e2e.rn2", Role.NURSE, first_name="Ola", last_name="Berg", credentials="RN"),
        _user("e2e.md", Role.PRESCRIBER, first_name="Wei", last_name="Chen", credentials="MD"),
    )


def test_the_observation_time_running_out_shows_discharge_on_the_board_and_the_session(live_server, page, staff):
    nurse, checker, _ = staff
    set_policy(min_observation_min=30)
    session = advance(open_session(by=nurse), S.DISCHARGE_READY, nurse_user=nurse, verifier=checker)
    # Recovering, 45 of a 60-minute observation: every other criterion holds.
    set_policy(min_observation_min=60)
    InfusionSession.objects.filter(pk=session.pk).update(status=S.RECOVERING)
    base = live_server.url
    _sign_in(page, base, nurse)
    page.goto(f"{base}{reverse('infusions:session', args=[session.pk])}")
    expect(page.locator("#session-status")).to_have_text("Recovering")
    expect(page.get_by_role("button", name="Discharge", exact=True)).to_have_count(0)

    page.goto(f"{base}{reverse('infusions:board', args=[session.appointment.location_id])}")
    chair = page.get_by_role("article", name=session.appointment.resource.name)
    expect(chair).to_contain_text("Recovering")
    # Sixteen minutes pass (the end moved back); nothing is entered: the board's refresh shows it.
    InfusionSession.objects.filter(pk=session.pk).update(ended_at=session.ended_at - timedelta(minutes=16))
    expect(chair).to_contain_text("Discharge-ready", timeout=25_000)
    assert InfusionSession.objects.get(pk=session.pk).status == S.RECOVERING  # looking wrote nothing

    chair.get_by_role("link", name="Open").click()
    expect(page.locator("#session-status")).to_have_text("Discharge-ready")
    page.get_by_role("button", name="Discharge", exact=True).click()
    expect(page.locator("#session-status")).to_have_text("Discharged")
    # The calendar followed the chair: the visit is over.
    page.goto(f"{base}{reverse('scheduling:appointment-detail', args=[session.appointment_id])}")
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("Completed")
    expect(page.locator("#appointment-records")).to_contain_text("Infusion session (discharged)")


def test_a_reading_in_the_start_minute_is_not_followed_by_overdue(live_server, page, staff):
    nurse, checker, _ = staff
    set_policy()
    session = advance(open_session(by=nurse), S.INFUSING, nurse_user=nurse, verifier=checker)
    # Started at second 30 of a minute that has passed (the reading's field has no seconds).
    now = timezone.now()
    started = (now if now.second >= 30 else now - timedelta(minutes=1)).replace(second=30, microsecond=0)
    InfusionSession.objects.filter(pk=session.pk).update(
        started_at=started, checked_in_at=started - timedelta(minutes=20)
    )
    base = live_server.url
    _sign_in(page, base, nurse)
    page.goto(f"{base}{reverse('infusions:session', args=[session.pk])}")
    expect(page.locator("#next-due")).to_contain_text("Overdue since")  # the first reading is due at the start
    form = page.locator("#reading-form")
    form.locator("input[name='taken_at']").fill(_local(started))
    form.get_by_label("Systolic BP (mmHg)", exact=True).fill("128")
    form.get_by_label("Diastolic BP (mmHg)", exact=True).fill("80")
    form.get_by_role("button", name="Add reading").click()
    # Due ten minutes after the reading (the clock's format is the page's business).
    expect(page.locator("#next-due")).to_contain_text("Next reading due")
    expect(page.locator("#next-due")).not_to_contain_text("Overdue")


def test_the_buttons_offered_match_what_is_possible(live_server, page, staff):
    nurse, checker, doctor = staff
    set_policy()
    base = live_server.url
    running = advance(open_session(by=doctor), S.INFUSING, nurse_user=nurse, verifier=checker)
    InfusionSession.objects.filter(pk=running.pk).update(started_at=timezone.now() - timedelta(minutes=1))
    cleared = advance(open_session(by=doctor), S.CLEARED, nurse_user=nurse, verifier=checker)

    _sign_in(page, base, nurse)
    page.goto(f"{base}{reverse('infusions:session', args=[running.pk])}")
    expect(page.get_by_role("button", name="Stop early")).to_be_visible()
    expect(page.get_by_role("button", name="Infusion complete")).to_have_count(0)
    expect(page.locator("#delivery-left")).to_contain_text("more min at the current rate")

    page.goto(f"{base}{reverse('infusions:session', args=[cleared.pk])}")
    form = page.locator("#to-deferred")
    form.get_by_label("Reason not treated").select_option("patient_declined")
    form.get_by_role("button", name="Not treated today").click()
    expect(page.locator("main")).to_contain_text("Say why a cleared patient is not treated today")
    form = page.locator("#to-deferred")
    form.get_by_label("Reason not treated").select_option("patient_declined")
    form.get_by_label("Reason", exact=True).fill("Changed her mind after clearance")
    form.get_by_role("button", name="Not treated today").click()
    expect(page.locator("#session-status")).to_have_text("Deferred")
    # The calendar follows: the visit is called off (for the desk to rebook), the reason in words
    # and the clinical detail left in the session; the running infusion's card says where its
    # patient is.
    page.goto(f"{base}{reverse('scheduling:appointment-detail', args=[cleared.appointment_id])}")
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("Cancelled")
    expect(page.locator("main")).to_contain_text("Not treated today")
    expect(page.locator("main")).not_to_contain_text("Changed her mind")
    day = timezone.localtime(running.appointment.start, running.appointment.location.zone).date()
    page.goto(f"{base}{calendar_url(running.appointment.location_id, day)}")
    expect(page.locator(f"#appt-{running.appointment_id}")).to_contain_text("In chair")

    # The cleared patient's plan has had no infusion: its induction cannot be completed yet.
    page.context.clear_cookies()
    _sign_in(page, base, doctor)
    page.goto(f"{base}{reverse('consultations:plan-detail', args=[cleared.plan_id])}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Mark induction completed")).to_have_count(0)
    page.goto(f"{base}{reverse('consultations:plan-detail', args=[running.plan_id])}")
    expect(page.get_by_role("button", name="Mark induction completed")).to_be_visible()


def test_issuing_a_pdf_lists_it_on_the_documents_card_without_a_reload(live_server, page, staff):
    _, _, doctor = staff
    consultation = signed()
    base = live_server.url
    _sign_in(page, base, doctor)
    page.goto(f"{base}{reverse('patients:detail', args=[consultation.patient_id])}")
    card = page.locator("#documents")
    expect(card).to_contain_text("No document issued yet")
    with page.expect_download() as download:
        card.get_by_role("button", name=f"Consultation summary #{consultation.pk}").click()
    assert download.value.suggested_filename.endswith(".pdf")
    expect(card).not_to_contain_text("No document issued yet")
    expect(card.get_by_role("row", name="v1")).to_be_visible()


def test_a_booked_intake_is_reached_from_the_chart_and_its_appointment_and_its_signing_completes_the_visit(
    live_server, page, staff
):
    _, _, doctor = staff
    start = timezone.now() - timedelta(days=6)  # booked last week, never opened, never checked in
    appointment = AppointmentFactory(clinician=doctor, start=start, end=start + timedelta(hours=1))
    base = live_server.url
    _sign_in(page, base, doctor)
    page.goto(f"{base}{reverse('patients:detail', args=[appointment.patient_id])}")
    booked = page.locator("#booked-intakes")
    expect(booked).to_contain_text("Intake booked")
    booked.get_by_role("button", name="Open this booked intake").click()
    consultation = Consultation.objects.get(appointment=appointment)
    page.wait_for_url(f"**{reverse('consultations:detail', args=[consultation.pk])}")

    page.goto(f"{base}{reverse('scheduling:appointment-detail', args=[appointment.pk])}")
    records = page.locator("#appointment-records")
    expect(records).to_contain_text("Intake consultation (draft)")
    # Signed (the intake's own browser test walks the form) with no check-in at the desk.
    fill_clean_intake(consultation)
    consultation_services.consultation_sign(
        consultation=Consultation.objects.get(pk=consultation.pk), by=doctor, decision="eligible", justifications={}
    )
    page.reload()
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("Completed")
    history = page.get_by_role("table")
    expect(history).to_contain_text("Booked → Checked in")
    expect(history).to_contain_text("no front-desk check-in")
    expect(history).to_contain_text("In progress → Completed")
    expect(records.get_by_role("link", name="Intake consultation (signed)")).to_be_visible()
    records.get_by_role("link", name="Intake consultation (signed)").click()
    page.wait_for_url(f"**{reverse('consultations:detail', args=[consultation.pk])}")
