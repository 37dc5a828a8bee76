"""The session page, the flowsheet entry, the chair board and the panels."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import formats, timezone

from followups import services as followup_services
from followups.tests.factories import alert_for
from infusions import rules, services
from infusions.models import FlowsheetReading
from infusions.selectors import board as board_selectors
from infusions.tests.factories import advance, open_session, rescue_drug

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def infusing(nurse_user, verifier, policy):
    session = open_session(by=nurse_user)
    return advance(session, S.INFUSING, nurse_user=nurse_user, verifier=verifier)


def _add_readings(session, by, n):
    start = session.checked_in_at
    FlowsheetReading.objects.bulk_create(
        FlowsheetReading(
            session=session,
            taken_at=start + timedelta(milliseconds=i),
            entered_at=timezone.now(),
            phase="intra",
            sbp_mmhg=120 + i % 10,
            dbp_mmhg=80,
            hr_bpm=70,
            spo2_pct=98,
            entered_by=by,
        )
        for i in range(n)
    )


def test_session_page_shows_dose_flowsheet_and_chart_in_fixed_queries(
    client, infusing, nurse_user, django_assert_max_num_queries
):
    client.force_login(nurse_user)
    url = reverse("infusions:session", args=[infusing.pk])
    _add_readings(infusing, nurse_user, 5)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    _add_readings(infusing, nurse_user, 25)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Independently verified by" in body
    assert "<svg" in body
    assert "Next reading due" in body or "Overdue since" in body
    assert body.count("<tr>") >= 31


def test_flowsheet_rows_show_clinic_time_and_escape_staff_names(client, infusing, nurse_user):
    nurse_user.first_name = "<b>Ann</b>"
    nurse_user.save(update_fields=["first_name"])
    taken = infusing.checked_in_at + timedelta(minutes=5)
    FlowsheetReading.objects.create(
        session=infusing, taken_at=taken, entered_at=taken, phase="intra", sbp_mmhg=121, entered_by=nurse_user
    )
    client.force_login(nurse_user)
    body = client.get(reverse("infusions:session", args=[infusing.pk])).content.decode()
    local = timezone.localtime(taken)
    assert f"<tr><td>{formats.time_format(local)}</td>" in body  # the clinic's time, not UTC
    assert f"Systolic, {local:%d %b} {formats.time_format(local)}: 121" in body  # the chart's label too
    assert "&lt;b&gt;Ann&lt;/b&gt;" in body
    assert "<b>Ann</b>" not in body


def test_session_page_lists_adverse_events_with_drugs_and_the_status_log_in_order(
    client, infusing, nurse_user, django_assert_max_num_queries
):
    from decimal import Decimal

    def event(minutes_ago, drug):
        at = timezone.now() - timedelta(minutes=minutes_ago)
        services.adverse_event_record(
            session=infusing,
            by=nurse_user,
            kind="nausea_vomiting",
            severity="mild",
            onset_at=at,
            action_taken=f"{drug} given",
            outcome="resolved",
            drugs=[{"formulary": rescue_drug(drug), "dose": Decimal("4"), "given_at": at}],
        )

    from infusions.models import InfusionSession

    InfusionSession.objects.filter(pk=infusing.pk).update(checked_in_at=timezone.now() - timedelta(hours=1))
    infusing.refresh_from_db()
    client.force_login(nurse_user)
    url = reverse("infusions:session", args=[infusing.pk])
    event(2, "Ondansetron")
    with django_assert_max_num_queries(40) as one:
        client.get(url)
    event(5, "Metoclopramide")  # recorded later, happened earlier
    with django_assert_max_num_queries(len(one.captured_queries)):
        body = client.get(url).content.decode()
    adverse = body[body.index('id="adverse"') :]
    assert adverse.index("Metoclopramide") < adverse.index("Ondansetron")  # by onset, not by entry
    log = body[body.index("Status log") :]
    moves = log.split("<li>")[1:]
    assert "Scheduled → Pre-check" in moves[0]
    assert "→ Infusing" in moves[-1]


def test_impossible_reading_comes_back_on_the_field_via_htmx(client, infusing, nurse_user):
    client.force_login(nurse_user)
    response = client.post(
        reverse("infusions:reading", args=[infusing.pk]),
        {"taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "hr_bpm": "400"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "outside the possible range 0–350 bpm" in response.content.decode()
    assert not FlowsheetReading.objects.filter(session=infusing, hr_bpm=400).exists()


def test_alert_reading_shows_an_action_form(client, infusing, nurse_user):
    client.force_login(nurse_user)
    response = client.post(
        reverse("infusions:reading", args=[infusing.pk]),
        {"taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "sbp_mmhg": "192", "dbp_mmhg": "96"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert "Alerts needing an action" in body
    assert "Record action" in body


def test_chair_board_front_desk_sees_no_clinical_content(
    client, infusing, frontdesk, nurse_user, django_assert_max_num_queries
):
    services.reading_record(
        session=infusing, by=nurse_user, taken_at=timezone.now(), values={"sbp_mmhg": 195, "dbp_mmhg": 90}
    )
    location = infusing.appointment.location
    client.force_login(frontdesk)
    # session, user, perms, location, chairs, bookings, sessions, policy, hours, closures …
    with django_assert_max_num_queries(16):
        response = client.get(reverse("infusions:board", args=[location.pk]))
    body = response.content.decode()
    assert "In chair" in body
    assert "Expected out" in body
    assert "alert" not in body.lower().replace('role="alert"', "") or "1 alert" not in body
    assert "mmHg" not in body
    assert "Next vitals" not in body
    assert "Infusing" not in body


def test_chair_board_clinician_sees_status_progress_and_alerts(client, infusing, nurse_user):
    services.reading_record(
        session=infusing, by=nurse_user, taken_at=timezone.now(), values={"sbp_mmhg": 195, "dbp_mmhg": 90}
    )
    client.force_login(nurse_user)
    response = client.get(reverse("infusions:board", args=[infusing.appointment.location.pk]))
    body = response.content.decode()
    assert "Infusing" in body
    assert "2 alerts" in body  # above 180 and more than 40 % above the baseline 124
    assert "<progress" in body
    assert "Next vitals" in body
    assert 'hx-trigger="every 15s"' in body


def test_chair_board_reads_initials_without_parsing_phone_numbers(infusing):
    """Phone numbers are parsed on load and the board never shows them: they stay unread."""
    rows = board_selectors.chair_board(location=infusing.appointment.location)
    row = next(r for r in rows if r.appointment is not None)
    patient = infusing.patient
    assert (
        row.initials
        == f"{(patient.preferred_name or patient.legal_first_name)[:1]}{patient.legal_last_name[:1]}".upper()
    )
    assert {"phone", "emergency_contact_phone", "escort_phone"} <= row.appointment.patient.get_deferred_fields()


def test_chair_board_shows_a_patients_open_safety_alert_to_clinicians_only(
    client, infusing, nurse_user, frontdesk, django_assert_max_num_queries
):
    alert = alert_for(patient=infusing.patient)
    board_url = reverse("infusions:board", args=[infusing.appointment.location.pk])
    client.force_login(nurse_user)
    # the front desk's reads, one for the alerts, one for today's open draws, one for earlier days' and two for
    # whether the site is open (hours, closures)
    with django_assert_max_num_queries(19):
        body = client.get(board_url, headers={"HX-Request": "true"}).content.decode()
    assert reverse("followups:alert-detail", args=[alert.pk]) in body
    assert "Safety alert: acknowledge" in body
    assert "self-harm" not in body  # the board may be seen across the room: no reason on it

    client.force_login(frontdesk)
    assert "Safety alert" not in client.get(board_url).content.decode()

    followup_services.alert_acknowledge(alert=alert, by=nurse_user, action="called_patient", note="Spoke with her.")
    client.force_login(nurse_user)
    assert "Safety alert" not in client.get(board_url).content.decode()


def test_patient_panel_front_desk_status_only(client, infusing, frontdesk):
    client.force_login(frontdesk)
    body = client.get(reverse("infusions:patient-panel", args=[infusing.patient_id])).content.decode()
    assert "In chair" in body
    assert "expected out" in body
    assert reverse("infusions:session", args=[infusing.pk]) not in body


def test_patient_page_loads_chair_status_for_the_front_desk_outside_the_clinical_record(
    client, infusing, frontdesk, nurse_user
):
    panel = reverse("infusions:patient-panel", args=[infusing.patient_id])
    page = reverse("patients:detail", args=[infusing.patient_id])

    client.force_login(frontdesk)
    body = client.get(page).content.decode()
    assert 'id="chair-status"' in body
    assert panel in body
    assert "clinical-panels" not in body

    client.force_login(nurse_user)
    body = client.get(page).content.decode()
    assert 'id="chair-status"' not in body  # clinicians get the full panel in the clinical record
    assert panel in body


def test_clinician_home_lists_open_alerts(client, infusing, nurse_user):
    services.reading_record(session=infusing, by=nurse_user, taken_at=timezone.now(), values={"spo2_pct": 85})
    client.force_login(nurse_user)
    body = client.get(reverse("infusions:clinician-home")).content.decode()
    assert "CRITICAL: SpO₂ 85% below 90%" in body
    assert '<span class="badge text-bg-danger">Critical</span>' in body
    assert str(infusing.patient) in body


def test_precheck_form_bad_input_is_a_field_error_not_500(client, nurse_user, policy):
    session = open_session(by=nurse_user)
    services.session_check_in(session=session, by=nurse_user)
    client.force_login(nurse_user)
    response = client.post(reverse("infusions:precheck", args=[session.pk]), {"sbp_mmhg": "abc", "weight_kg": "80"})
    assert response.status_code == 200
    assert "Enter a whole number" in response.content.decode()


def test_rate_change_is_logged_and_a_rate_outside_the_pump_range_refused(client, infusing, nurse_user):
    client.force_login(nurse_user)
    url = reverse("infusions:rate-change", args=[infusing.pk])
    refused = client.post(url, {"rate_ml_per_h": "5000", "reason": "typo"})
    assert refused.status_code == 200
    assert "Outside the pump" in refused.content.decode()
    client.post(url, {"rate_ml_per_h": "75", "reason": "Nausea: slowed per clinician"})
    body = client.get(reverse("infusions:session", args=[infusing.pk])).content.decode()
    assert "rate 75.0 mL/h" in body


POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND_POLL": "1"}


def test_background_polls_do_not_keep_an_idle_station_signed_in(client, infusing, nurse_user, settings):
    """The board refreshing itself every 15 s is not someone at the screen: at the idle time the
    next refresh answers the signed-out state (htmx stops polling and leaves for sign-in)."""
    url = reverse("infusions:board", args=[infusing.appointment.location.pk])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(nurse_user)
        page = client.get(url)
        assert "X-Background-Poll" in page.content.decode()  # the template marks its refreshes
        polls = []
        for _ in range(settings.SESSION_IDLE_MINUTES * 4 + 4):  # every 15 s, a minute past the idle time
            clock.shift(timedelta(seconds=15))
            polls.append(client.get(url, **POLL))
    answered = [p for p in polls if p.status_code == 200]
    assert len(answered) == settings.SESSION_IDLE_MINUTES * 4  # up to the idle time, the board
    assert all("Infusing" in p.content.decode() for p in answered)
    locked = polls[len(answered)]
    assert locked.status_code == 286
    assert locked["HX-Redirect"].startswith(reverse("accounts:login"))
    body = locked.content.decode()
    assert "Signed out" in body
    assert "Infusing" not in body
    assert infusing.patient.legal_last_name not in body
    assert all(p.status_code == 286 for p in polls[len(answered) :])  # signed out: no data, stop polling
    assert client.get(url).status_code == 302  # the session is gone, not just the panel


def test_background_polls_do_not_keep_an_idle_station_signed_in_but_a_person_does(
    client, infusing, nurse_user, settings
):
    url = reverse("infusions:board", args=[infusing.appointment.location.pk])
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.force_login(nurse_user)
        for _ in range(3):
            clock.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES - 1))
            assert client.get(url, **POLL).status_code == 200
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200  # a click is activity
