"""The monitoring safety net through the services and pages: settings never blank (and the
deploy check that says so), critical values stored with a critical alert that needs an
action, an extreme value confirmed once, and discharge readiness from the latest state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from assessments.models import InstrumentResponse
from infusions import rules, services
from infusions.checks import SAFETY_SETTINGS_CHECK_ID, infusion_safety_settings
from infusions.models import FlowsheetReading, InfusionPolicy, InfusionSession, SessionAlert, SessionTransition
from infusions.tests.factories import ALDRETE_FULL, RECOVERED, advance, open_session

S = rules.SessionStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def infusing(nurse_user, verifier, policy):
    return advance(open_session(by=nurse_user), S.INFUSING, nurse_user=nurse_user, verifier=verifier)


@pytest.fixture
def ready(nurse_user, verifier, policy):
    return advance(open_session(by=nurse_user), S.DISCHARGE_READY, nurse_user=nurse_user, verifier=verifier)


def _record(session, by, *, confirmed=False, minutes_ago=0, **values):
    return services.reading_record(
        session=session,
        by=by,
        taken_at=timezone.now() - timedelta(minutes=minutes_ago),
        values=values,
        confirmed=confirmed,
    )


# === Settings ============================================================================


def test_a_new_policy_has_every_safety_setting_within_its_bounds(db):
    policy, _ = InfusionPolicy.objects.get_or_create(pk=1)
    assert rules.setting_problems({s.name: getattr(policy, s.name) for s in rules.SETTINGS}) == []
    assert policy.rr_alert_below_per_min == 10
    assert policy.min_observation_min == 120


@pytest.mark.parametrize(
    ("case", "name", "value"),
    [
        ("SpO2 critical far too low", "spo2_critical_below_pct", 50),
        ("no observation at all", "min_observation_min", 0),
        ("RR alert switched off", "rr_alert_below_per_min", None),
    ],
)
def test_the_database_refuses_a_setting_outside_its_bounds_or_blank(db, case, name, value):
    InfusionPolicy.objects.get_or_create(pk=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionPolicy.objects.filter(pk=1).update(**{name: value})


def test_the_admin_form_refuses_a_setting_outside_its_bounds_at_the_field(db):
    from django.forms import modelform_factory

    form_class = modelform_factory(InfusionPolicy, fields=["spo2_critical_below_pct", "hr_alert_above_bpm"])
    form = form_class(data={"spo2_critical_below_pct": "50", "hr_alert_above_bpm": ""})
    assert not form.is_valid()
    assert "greater than or equal to 80" in form.errors["spo2_critical_below_pct"][0]
    assert form.errors["hr_alert_above_bpm"] == ["This field is required."]


def test_the_deploy_check_passes_with_the_shipped_defaults(db):
    InfusionPolicy.objects.get_or_create(pk=1)
    assert infusion_safety_settings() == []


def test_the_deploy_check_fails_while_a_safety_setting_is_blank(db):
    """A database restored from before the constraints could hold a blank: the check says so."""
    InfusionPolicy.objects.get_or_create(pk=1)
    with connection.cursor() as cursor:  # rolled back with the test's transaction
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute('ALTER TABLE infusions_infusionpolicy ALTER COLUMN "rr_alert_below_per_min" DROP NOT NULL')
        cursor.execute(
            "ALTER TABLE infusions_infusionpolicy DROP CONSTRAINT infusionpolicy_rr_alert_below_per_min_bounds"
        )
        cursor.execute("UPDATE infusions_infusionpolicy SET rr_alert_below_per_min = NULL")
    (problem,) = infusion_safety_settings()
    assert problem.id == SAFETY_SETTINGS_CHECK_ID
    assert "Alert: respiratory rate below is blank" in problem.msg


def test_the_deploy_check_runs_under_check_deploy():
    from django.core.checks import registry

    assert infusion_safety_settings in registry.registry.get_checks(include_deployment_checks=True)
    assert infusion_safety_settings not in registry.registry.get_checks(include_deployment_checks=False)


# === Readings: critical values stored, with a critical alert ============================


@pytest.mark.parametrize(
    ("case", "values", "critical_codes"),
    [
        ("apnoea", {"rr_per_min": 0}, ["rr_low_critical"]),
        ("deep desaturation", {"spo2_pct": 40}, ["spo2_critical"]),
        ("BP 50/30", {"sbp_mmhg": 50, "dbp_mmhg": 30}, ["sbp_low_critical"]),
        ("HR 15", {"hr_bpm": 15}, ["hr_low_critical"]),
        ("loss of consciousness", {"moaas": 0}, ["loss_of_consciousness"]),
    ],
)
def test_a_critical_value_is_stored_and_raises_a_critical_alert(infusing, nurse_user, case, values, critical_codes):
    row = _record(infusing, nurse_user, confirmed=True, **values)
    assert FlowsheetReading.objects.filter(pk=row.pk, **values).exists(), case
    critical = SessionAlert.objects.filter(reading=row, severity="critical")
    assert sorted(critical.values_list("code", flat=True)) == critical_codes
    assert all("pause or stop, airway, call for help" in a.message for a in critical)


def test_an_extreme_value_asks_for_confirmation_once_then_is_stored(infusing, nurse_user):
    with pytest.raises(services.ReadingNeedsConfirmation) as error:
        _record(infusing, nurse_user, rr_per_min=0, spo2_pct=40)
    assert set(error.value.message_dict) == {"rr_per_min", "spo2_pct"}
    assert "confirm this reading" in error.value.message_dict["rr_per_min"][0]
    assert not FlowsheetReading.objects.filter(session=infusing, rr_per_min=0).exists()

    row = _record(infusing, nurse_user, confirmed=True, rr_per_min=0, spo2_pct=40)
    event = AuditEvent.objects.get(action="infusions.reading.recorded", object_id=str(row.pk))
    assert event.changes["confirmed_extreme"] == ["rr_per_min", "spo2_pct"]


@pytest.mark.parametrize(
    ("case", "values", "field"),
    [
        ("negative", {"rr_per_min": -1}, "rr_per_min"),
        ("SpO2 over 100", {"spo2_pct": 101}, "spo2_pct"),
    ],
)
def test_the_impossible_is_refused_even_when_confirmed(infusing, nurse_user, case, values, field):
    with pytest.raises(ValidationError) as error:
        _record(infusing, nurse_user, confirmed=True, **values)
    assert field in error.value.message_dict, case


def test_a_reading_in_the_future_is_refused(infusing, nurse_user):
    with pytest.raises(ValidationError) as error:
        _record(infusing, nurse_user, minutes_ago=-5, hr_bpm=70)
    assert "future" in error.value.message_dict["taken_at"][0]


@pytest.mark.parametrize(
    ("case", "action", "note", "error_field"),
    [
        ("continue is not an answer", "continue", "fine", "action"),
        ("slowing is not enough", "slow", "slowed", "action"),
        ("a note is required", "airway", "", "note"),
    ],
)
def test_a_critical_alert_refuses_a_weak_action(infusing, nurse_user, case, action, note, error_field):
    _record(infusing, nurse_user, spo2_pct=85)
    alert = SessionAlert.objects.get(session=infusing, severity="critical")
    with pytest.raises(ValidationError) as error:
        services.alert_action(alert=alert, by=nurse_user, action=action, note=note)
    assert error_field in error.value.message_dict, case


def test_a_critical_alert_is_resolved_with_who_when_and_the_action(infusing, nurse_user):
    _record(infusing, nurse_user, spo2_pct=85)
    alert = SessionAlert.objects.get(session=infusing, severity="critical")
    services.alert_action(alert=alert, by=nurse_user, action="airway", note="Jaw thrust, O2 2 L/min; SpO2 96")
    alert.refresh_from_db()
    assert (alert.action, alert.actioned_by, alert.action_note) == (
        "airway",
        nurse_user,
        "Jaw thrust, O2 2 L/min; SpO2 96",
    )
    assert alert.actioned_at is not None


def test_the_database_refuses_continue_on_a_critical_alert(infusing, nurse_user):
    _record(infusing, nurse_user, spo2_pct=85)
    with pytest.raises(IntegrityError), transaction.atomic():
        SessionAlert.objects.filter(session=infusing, severity="critical").update(
            action="continue", action_note="x", actioned_by=nurse_user, actioned_at=timezone.now()
        )


def test_stop_on_a_critical_alert_stops_the_infusion(infusing, nurse_user):
    _record(infusing, nurse_user, hr_bpm=35)
    alert = SessionAlert.objects.get(session=infusing, severity="critical")
    services.alert_action(alert=alert, by=nurse_user, action="stop", note="Atropine per protocol")
    session = InfusionSession.objects.get(pk=infusing.pk)
    assert (session.status, session.stop_reason_code) == (S.STOPPED_EARLY, "vitals_limit")


def test_a_critical_alert_shows_on_the_session_the_board_and_the_home_until_resolved(
    client, infusing, nurse_user, django_assert_max_num_queries
):
    _record(infusing, nurse_user, spo2_pct=85)
    alert = SessionAlert.objects.get(session=infusing, severity="critical")
    client.force_login(nurse_user)
    pages = {
        "session": reverse("infusions:session", args=[infusing.pk]),
        "board": reverse("infusions:board", args=[infusing.appointment.location.pk]),
        "home": reverse("infusions:clinician-home"),
    }
    for name, url in pages.items():
        body = client.get(url).content.decode()
        assert "critical" in body.lower(), name
        assert "critical-alert" in body or "Critical</span>" in body, name
    session_page = client.get(pages["session"]).content.decode()
    assert '<option value="continue">' not in session_page.split('id="open-alerts"')[1].split("</form>")[0]

    services.alert_action(alert=alert, by=nurse_user, action="call_for_help", note="Anaesthetist called")
    assert "CRITICAL: SpO₂" not in client.get(pages["home"]).content.decode()
    assert "critical-alert" not in client.get(pages["board"]).content.decode()


def test_an_extreme_reading_comes_back_asking_for_confirmation_with_the_values_kept(client, infusing, nurse_user):
    client.force_login(nurse_user)
    url = reverse("infusions:reading", args=[infusing.pk])
    data = {"taken_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "rr_per_min": "0"}
    body = client.post(url, data, HTTP_HX_REQUEST="true").content.decode()
    assert "Confirm this reading" in body
    assert 'name="rr_per_min" value="0"' in body
    assert not FlowsheetReading.objects.filter(session=infusing).exclude(rr_per_min=None).filter(rr_per_min=0).exists()
    client.post(url, {**data, "confirmed": "on"}, HTTP_HX_REQUEST="true")
    assert FlowsheetReading.objects.filter(session=infusing, rr_per_min=0).exists()


# === Discharge readiness from the latest state ==========================================


def test_a_reading_that_breaks_a_criterion_moves_discharge_ready_back_with_the_reason(ready, nurse_user):
    assert ready.status == S.DISCHARGE_READY
    _record(ready, nurse_user, spo2_pct=86, rr_per_min=6, moaas=2)
    session = InfusionSession.objects.get(pk=ready.pk)
    assert session.status == S.RECOVERING
    back = SessionTransition.objects.filter(session=ready, to_status=S.RECOVERING).latest("at")
    assert "SpO₂ 86% is outside the alert limit 90%" in back.reason
    assert "MOAA/S 2: sedation not resolved" in back.reason
    assert "scored before the latest reading" in back.reason


def test_an_aldrete_before_the_latest_reading_does_not_count(ready, nurse_user):
    # Entered after the score though timed before it (same minute): the score never saw it.
    score = InstrumentResponse.objects.filter(instrument="aldrete").latest("recorded_at")
    services.reading_record(
        session=ready, by=nurse_user, taken_at=score.administered_at - timedelta(seconds=1), values=RECOVERED
    )
    assert InfusionSession.objects.get(pk=ready.pk).status == S.RECOVERING
    services.instrument_record(session=ready, by=nurse_user, code="aldrete", answers=ALDRETE_FULL)
    assert InfusionSession.objects.get(pk=ready.pk).status == S.DISCHARGE_READY


def test_an_ongoing_adverse_event_blocks_discharge(ready, nurse_user):
    services.adverse_event_record(
        session=ready,
        by=nurse_user,
        kind="emergence",
        severity="moderate",
        onset_at=timezone.now(),
        action_taken="Reassurance, dim lights",
        outcome="ongoing",
    )
    services.readiness_refresh(session=ready, by=nurse_user)
    session = InfusionSession.objects.get(pk=ready.pk)
    assert session.status == S.RECOVERING
    with pytest.raises(ValidationError):
        services.session_discharge(session=session, by=nurse_user)


def _rows_written_by(client, url) -> list[str]:
    """The statements a GET sends that write: none about the record (the audit trail's read
    record and the sign-in session's idle clock aside)."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    return [sql for sql in writes if AuditEvent._meta.db_table not in sql and '"django_session"' not in sql]


@pytest.mark.parametrize("page", ["session", "board"])
def test_the_status_follows_the_observation_time_on_page_load_without_writing(
    client, nurse_user, verifier, policy, page
):
    session = advance(open_session(by=nurse_user), S.DISCHARGE_READY, nurse_user=nurse_user, verifier=verifier)
    policy.min_observation_min = 60
    policy.save()
    client.force_login(nurse_user)
    url = (
        reverse("infusions:session", args=[session.pk])
        if page == "session"
        else reverse("infusions:board", args=[session.appointment.location_id])
    )
    transitions = SessionTransition.objects.filter(session=session).count()
    # Ended 45 min ago: the longer observation time takes readiness back, on the page only.
    assert _rows_written_by(client, url) == []
    body = client.get(url).content.decode()
    assert ">Recovering</span>" in body
    assert "Discharge</button>" not in body
    if page == "session":
        assert "Observed 45 of the minimum 60 min" in body
    # Sixteen minutes pass (moving the end back: the signed-in session's idle clock is real).
    InfusionSession.objects.filter(pk=session.pk).update(
        status=S.RECOVERING, ended_at=F("ended_at") - timedelta(minutes=16)
    )
    assert _rows_written_by(client, url) == []
    body = client.get(url).content.decode()
    assert ">Discharge-ready</span>" in body
    if page == "session":
        assert 'id="discharge-criteria"' in body
        assert "Discharge</button>" in body
    # Looking wrote no status move, and named no viewer as its author.
    assert InfusionSession.objects.get(pk=session.pk).status == S.RECOVERING
    assert SessionTransition.objects.filter(session=session).count() == transitions


def test_the_board_judges_every_recovering_chair_from_its_own_record_in_the_same_queries(
    client, nurse_user, verifier, policy
):
    """Each chair's readiness on the board is judged from that session's own readings and scores,
    read for every recovering chair at once: a desaturating patient beside discharge-ready ones
    shows as recovering, and more recovering chairs cost no more queries."""
    from scheduling.tests.factories import LocationFactory

    location = LocationFactory(time_zone="UTC")
    url = reverse("infusions:board", args=[location.pk])
    client.force_login(nurse_user)

    def ready_chair():
        made = advance(
            open_session(by=nurse_user, location=location), S.DISCHARGE_READY, nurse_user=nurse_user, verifier=verifier
        )
        # Observed long enough: the board judges it again from the record.
        InfusionSession.objects.filter(pk=made.pk).update(
            started_at=F("started_at") - timedelta(hours=3), ended_at=F("ended_at") - timedelta(hours=3)
        )
        return made

    ready_chair()
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    desaturating = ready_chair()
    ready_chair()
    _record(desaturating, nurse_user, spo2_pct=86)
    # Recorded as discharge-ready still (as a setting change or a reading entered elsewhere could leave
    # it): the board must not believe the recorded status.
    InfusionSession.objects.filter(pk=desaturating.pk).update(status=S.DISCHARGE_READY)
    with CaptureQueriesContext(connection) as three:
        body = client.get(url).content.decode()

    assert body.count(">Discharge-ready</span>") == 2
    assert body.count(">Recovering</span>") == 1
    assert len(three) <= len(one) + 1  # one patient's more rows, not six queries a chair


def test_discharging_when_the_observation_time_has_run_out_records_ready_then_discharged(client, ready, nurse_user):
    """Recorded recovering, the criteria met by time passing: the Discharge button posts, and
    the move to discharge-ready is recorded then, by the nurse who discharges."""
    InfusionSession.objects.filter(pk=ready.pk).update(status=S.RECOVERING)
    client.force_login(nurse_user)
    response = client.post(reverse("infusions:transition", args=[ready.pk]), {"to": "discharged"})
    assert response.status_code == 302
    assert InfusionSession.objects.get(pk=ready.pk).status == S.DISCHARGED
    last_two = list(SessionTransition.objects.filter(session=ready).order_by("-id")[:2])
    assert [(t.from_status, t.to_status, t.by) for t in reversed(last_two)] == [
        (S.RECOVERING, S.DISCHARGE_READY, nurse_user),
        (S.DISCHARGE_READY, S.DISCHARGED, nurse_user),
    ]


def test_discharge_is_refused_with_the_reasons_while_the_observation_time_runs(client, ready, nurse_user, policy):
    InfusionSession.objects.filter(pk=ready.pk).update(status=S.RECOVERING)
    policy.min_observation_min = 60
    policy.save()
    client.force_login(nurse_user)
    response = client.post(reverse("infusions:transition", args=[ready.pk]), {"to": "discharged"})
    assert response.status_code == 200
    assert "Observed 45 of the minimum 60 min" in response.content.decode()
    assert InfusionSession.objects.get(pk=ready.pk).status == S.RECOVERING


def test_the_discharge_screen_lists_each_criterion_with_its_value(client, ready, nurse_user):
    client.force_login(nurse_user)
    body = client.get(reverse("infusions:session", args=[ready.pk])).content.decode()
    for code in ("observation", "bp", "hr", "spo2", "rr", "sedation", "dissociation", "score", "adverse_events"):
        assert f'data-criterion="{code}"' in body
    assert "126/80 mmHg" in body
    assert "MOAA/S 5" in body
