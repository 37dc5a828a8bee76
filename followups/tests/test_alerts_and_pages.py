"""Safety alerts on the clinician home, acknowledgement, the outcomes page and the worklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, ProgrammingError, transaction
from django.urls import reverse
from django.utils import timezone

from assessments.models import ResponseContext
from followups import selectors, services
from followups.models import SafetyAlert
from followups.tests.factories import alert_for, follow_up_appointment, phq9_for_total, record
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db

# pgtrigger raises from PL/pgSQL; psycopg reports it as one of these.
DB_REFUSED = (IntegrityError, InternalError, ProgrammingError)


def test_alert_shows_on_the_clinician_home_until_acknowledged_with_an_action(client, clinician, patient):
    alert = alert_for(patient=patient, clinician=clinician)
    client.force_login(clinician)
    home = client.get(reverse("home")).content.decode()
    assert 'id="safety-alerts"' in home
    assert patient.display_name in home
    url = reverse("followups:alert-detail", args=[alert.pk])
    refused = client.post(url, {})
    assert refused.status_code == 200
    assert SafetyAlert.objects.get(pk=alert.pk).acknowledged_at is None
    response = client.post(url, {"action": "called_patient", "note": "Safe; plan reviewed"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.action) == (clinician, "called_patient")
    assert patient.display_name not in client.get(reverse("home")).content.decode()


def test_acknowledged_alert_cannot_be_changed(clinician, patient):
    alert = services.alert_acknowledge(alert=alert_for(patient=patient), by=clinician, action="safety_plan")
    with pytest.raises(ValidationError):
        services.alert_acknowledge(alert=alert, by=clinician, action="no_risk")
    with pytest.raises(DB_REFUSED), transaction.atomic():
        SafetyAlert.objects.filter(pk=alert.pk).update(action="no_risk")


def test_unknown_action_is_refused(clinician, patient):
    with pytest.raises(ValidationError):
        services.alert_acknowledge(alert=alert_for(patient=patient), by=clinician, action="ignored")


def test_front_desk_cannot_see_alerts(client, frontdesk, patient):
    alert = alert_for(patient=patient)
    client.force_login(frontdesk)
    assert client.get(reverse("followups:alert-detail", args=[alert.pk])).status_code == 403
    assert "Urgent" not in client.get(reverse("home")).content.decode()


def _history(patient, clinician, n: int):
    record(
        patient=patient,
        code="phq9",
        answers=phq9_for_total(20),
        context=ResponseContext.BASELINE,
        by=clinician,
        at=timezone.now() - timedelta(days=n + 2),
    )
    record(
        patient=patient,
        code="nrs_pain",
        answers=[8],
        context=ResponseContext.BASELINE,
        by=clinician,
        at=timezone.now() - timedelta(days=n + 2),
    )
    for i in range(n):
        at = timezone.now() - timedelta(days=n - i)
        record(
            patient=patient,
            code="phq9",
            answers=phq9_for_total(max(2, 18 - 2 * i)),
            context=ResponseContext.PRE_INFUSION,
            by=clinician,
            at=at,
        )
        record(patient=patient, code="gad7", answers=[1] * 7, context=ResponseContext.PRE_INFUSION, by=clinician, at=at)
        record(
            patient=patient,
            code="nrs_pain",
            answers=[max(0, 7 - i)],
            context=ResponseContext.PRE_INFUSION,
            by=clinician,
            at=at,
        )
        AppointmentFactory(
            patient=patient,
            appointment_type=appointment_type("infusion"),
            start=at,
            end=at + timedelta(hours=2),
            status=AppointmentStatus.COMPLETED,
        )


@pytest.mark.parametrize("sessions", [2, 8])
def test_outcomes_page_query_count_does_not_grow_with_sessions(
    client, clinician, patient, sessions, django_assert_max_num_queries
):
    _history(patient, clinician, sessions)
    client.force_login(clinician)
    # Measured 17 with 2 and with 8 sessions: session, user, perms, patient, responses, infusion marks,
    # live plan, plan-course responses, audit (one statement), session save…
    with django_assert_max_num_queries(17):
        response = client.get(reverse("followups:outcomes", args=[patient.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page  # the shared server-side chart
    assert page.count("<tr>") >= sessions * 3  # every value in the accessible table


def test_outcomes_summary_shows_response_remission_and_immpact(client, clinician, patient):
    _history(patient, clinician, 8)  # PHQ-9 20 → 4; NRS 8 → 0
    client.force_login(clinician)
    page = client.get(reverse("followups:outcomes", args=[patient.pk])).content.decode()
    assert "-80.0%" in page
    assert "Remission" in page
    assert "Substantial improvement (IMMPACT)" in page


def test_worklist_lists_overdue_follow_ups_worsened_scores_alerts_and_unreturned_links(
    client, clinician, patient, django_assert_max_num_queries
):
    follow_up_appointment(
        patient=patient,
        clinician=clinician,
        start=timezone.now() - timedelta(days=2),
        end=timezone.now() - timedelta(days=2) + timedelta(minutes=30),
    )
    record(patient=patient, code="phq9", answers=phq9_for_total(5), by=clinician, at=timezone.now() - timedelta(days=3))
    record(patient=patient, code="phq9", answers=phq9_for_total(15), by=clinician)
    from patients.tests.factories import PatientFactory

    alert_for(patient=PatientFactory(), clinician=clinician)
    link = services.link_create(
        patient=patient, codes=["phq9"], by=clinician, now=timezone.now() - timedelta(days=5)
    ).link
    client.force_login(clinician)
    # session, user, perms, policy, follow-ups, worsened (window query + patients), links, suggestions,
    # alerts, audit entry (one statement), session save…: a fixed 16 whatever the volume (every list
    # is LIMITed).
    with django_assert_max_num_queries(16):
        page = client.get(reverse("followups:worklist")).content.decode()
    assert "overdue" in page
    assert "5 → 15" in page
    assert reverse("followups:alert-detail", args=[SafetyAlert.objects.get().pk]) in page
    assert f"sent {timezone.localtime(link.created_at):%m/%d}" in page
    # Warm (the session keeps the role and permissions): session, user, policy, the five lists (one
    # statement), audit entry.
    with django_assert_max_num_queries(5):
        assert client.get(reverse("followups:worklist")).status_code == 200


def test_worklist_lists_keep_their_order_and_their_statement_count_whatever_the_volume(
    client, clinician, django_assert_max_num_queries
):
    from patients.tests.factories import PatientFactory

    def follow_ups(n: int, days_ago: int) -> list:
        made = []
        for i in range(n):
            start = timezone.now() - timedelta(days=days_ago, minutes=40 * i)
            made.append(
                follow_up_appointment(
                    patient=PatientFactory(), clinician=clinician, start=start, end=start + timedelta(minutes=30)
                )
            )
        return made

    client.force_login(clinician)
    late = follow_ups(2, 3)
    first_alert = alert_for(patient=PatientFactory(legal_last_name="Firstalert"), clinician=clinician)
    client.get(reverse("followups:worklist"))
    with django_assert_max_num_queries(5):
        client.get(reverse("followups:worklist"))
    follow_ups(20, 1)
    second_alert = alert_for(patient=PatientFactory(legal_last_name="Secondalert"), clinician=clinician)
    with django_assert_max_num_queries(5):
        page = client.get(reverse("followups:worklist")).content.decode()
    # Oldest first: the visits by their time, the alerts by when they were raised.
    due = [page.index(reverse("followups:visit-open", args=[a.pk])) for a in sorted(late, key=lambda a: a.start)]
    assert due == sorted(due)
    assert page.index("Firstalert") < page.index("Secondalert")
    assert reverse("followups:alert-detail", args=[first_alert.pk]) in page
    assert reverse("followups:alert-detail", args=[second_alert.pk]) in page


def test_worklist_limit_counts_only_unsigned_follow_ups(client, clinician, patient, monkeypatch):
    monkeypatch.setattr(selectors, "WORKLIST_SHOWN", 2)
    for days in (5, 4):  # signed: done, never listed
        start = timezone.now() - timedelta(days=days)
        visit = services.visit_open(
            appointment=follow_up_appointment(
                patient=patient, clinician=clinician, start=start, end=start + timedelta(minutes=30)
            ),
            by=clinician,
        )
        services.visit_sign(visit=visit, by=clinician, plan_decision="continue")
    start = timezone.now() - timedelta(days=1)
    waiting = follow_up_appointment(
        patient=patient, clinician=clinician, start=start, end=start + timedelta(minutes=30)
    )
    client.force_login(clinician)
    page = client.get(reverse("followups:worklist")).content.decode()
    assert reverse("followups:visit-open", args=[waiting.pk]) in page
    assert "overdue" in page


def test_worklist_compares_a_recent_score_with_an_older_one_and_skips_stale_rises(client, clinician, patient):
    from patients.tests.factories import PatientFactory

    # The previous score may be older than the 30-day window; only the latest must be inside it.
    record(
        patient=patient, code="phq9", answers=phq9_for_total(4), by=clinician, at=timezone.now() - timedelta(days=60)
    )
    record(patient=patient, code="phq9", answers=phq9_for_total(16), by=clinician)
    stale = PatientFactory(legal_last_name="Stale")
    for days, total in ((90, 3), (45, 20)):
        record(
            patient=stale,
            code="phq9",
            answers=phq9_for_total(total),
            by=clinician,
            at=timezone.now() - timedelta(days=days),
        )
    client.force_login(clinician)
    page = client.get(reverse("followups:worklist")).content.decode()
    assert "4 → 16" in page
    assert "3 → 20" not in page


def test_patient_panel_for_clinicians_lists_notes_and_alerts(client, clinician, patient):
    alert_for(patient=patient)
    client.force_login(clinician)
    panel = client.get(reverse("followups:patient-panel", args=[patient.pk])).content.decode()
    assert "Urgent safety alert" in panel
    assert "Outcomes chart" in panel


def test_infusion_days_carry_the_dose_from_the_infusion_record(client, clinician, django_assert_max_num_queries):
    from infusions.rules import SessionStatus
    from infusions.tests.factories import advance, nurse, open_session

    verifier = nurse()
    session = advance(open_session(by=clinician), SessionStatus.COMPLETED, nurse_user=clinician, verifier=verifier)
    client.force_login(clinician)
    page = client.get(reverse("followups:outcomes", args=[session.patient_id])).content.decode()
    dose = session.dose_calculations.get(superseded_at=None).dose_mg
    assert f"Infusion {dose.normalize()} mg" in page
