"""The course's pages: the patient's course, the session panel's urinary screen, the forms, and
the exposure report (aggregated in the database, its query count fixed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from courses.models import LiverTest, UrinaryScreen
from courses.tests.conftest import NOW
from courses.tests.factories import course, given_infusion, set_course_policy
from infusions.models import InfusionSession
from scheduling.models import AppointmentStatus
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db


def test_the_course_page_shows_exposure_and_its_query_count_is_fixed(
    clock, client, nurse, django_assert_max_num_queries
):
    c = course(sessions_planned=20)
    given_infusion(c, started_at=NOW - timedelta(days=2), delivered_mg="40")
    given_infusion(c, started_at=NOW - timedelta(days=5), delivered_mg="12.5", stopped_early=True)
    client.force_login(nurse)
    url = reverse("courses:patient-course", args=[c.patient.pk])
    with django_assert_max_num_queries(30) as before:
        response = client.get(url)
    page = response.content.decode()
    assert "52.50 mg" in page
    assert "2 in 30 days" in page
    assert AuditEvent.objects.filter(action="courses.course.viewed", patient_id=c.patient.pk).count() == 1
    for days in range(10, 40, 3):
        given_infusion(c, started_at=NOW - timedelta(days=days), delivered_mg="40")
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(url)


def test_the_session_panel_asks_the_urinary_screen_when_due_and_records_it(clock, client, nurse):
    set_course_policy(urinary_screen_from_infusion=2)
    c = course()
    given_infusion(c, started_at=NOW - timedelta(days=3), delivered_mg="40")
    appointment = AppointmentFactory(
        patient=c.patient,
        appointment_type=appointment_type("infusion"),
        location=c.location,
        resource=c.chair,
        start=NOW,
        end=NOW + timedelta(minutes=100),
        status=AppointmentStatus.CHECKED_IN,
    )
    session = InfusionSession.objects.create(
        appointment=appointment, patient=c.patient, plan=c.plan, status="pre_check", created_by=c.prescriber
    )
    client.force_login(nurse)
    panel = client.get(reverse("courses:session-panel", args=[session.pk])).content.decode()
    assert "infusion number 2" in panel
    assert "Record the screen" in panel
    response = client.post(
        reverse("courses:urinary-screen", args=[session.pk]), {"urgency": "on"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "symptoms reported" in response.content.decode()
    assert UrinaryScreen.objects.get(session=session).urgency is True


def test_the_liver_test_form_records_and_refuses_a_missing_limit(clock, client, nurse):
    c = course()
    client.force_login(nurse)
    url = reverse("courses:liver-test", args=[c.patient.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"taken_on": "2027-03-01", "alt": "30", "ast": "30", "ast_uln": "35"})
    assert bad.status_code == 200
    assert not LiverTest.objects.exists()
    good = client.post(url, {"taken_on": "2027-03-01", "alt": "30", "alt_uln": "40", "ast": "30", "ast_uln": "35"})
    assert good.status_code == 302
    assert LiverTest.objects.get(patient=c.patient).abnormal is False


def test_the_rescreen_form_runs_the_rules(clock, client, nurse):
    c = course()
    client.force_login(nurse)
    url = reverse("courses:rescreen", args=[c.patient.pk])
    assert "At intake:" in client.get(url).content.decode()
    response = client.post(url, {"bp_systolic_mmhg": "124", "bp_diastolic_mmhg": "78", "pregnant": "no"})
    assert response.status_code == 302


def test_the_exposure_report_lists_patients_over_a_threshold(clock, client, nurse, django_assert_max_num_queries):
    set_course_policy(frequent_infusions_90d=3)
    over = course(sessions_planned=20)
    under = course(sessions_planned=20)
    for days in (2, 5, 8):
        given_infusion(over, started_at=NOW - timedelta(days=days), delivered_mg="40")
    for days in (2, 5):
        given_infusion(under, started_at=NOW - timedelta(days=days), delivered_mg="40")
    client.force_login(nurse)
    url = reverse("courses:exposure-report")
    with django_assert_max_num_queries(20) as before:
        page = client.get(url).content.decode()
    assert over.patient.display_name.replace("'", "&#x27;") in page
    assert under.patient.display_name.replace("'", "&#x27;") not in page
    assert "3 infusions in 90 days (frequent use: 3)" in page
    assert "Due" in page
    for _ in range(3):
        more = course(sessions_planned=20)
        for days in (2, 5, 8):
            given_infusion(more, started_at=NOW - timedelta(days=days), delivered_mg="40")
    with django_assert_max_num_queries(len(before.captured_queries)):
        client.get(url)


def test_the_front_desk_cannot_open_the_course(clock, client, frontdesk):
    c = course()
    client.force_login(frontdesk)
    assert client.get(reverse("courses:patient-course", args=[c.patient.pk])).status_code == 403
    assert client.get(reverse("courses:exposure-report")).status_code == 403


def test_a_clinician_scoped_to_another_location_does_not_see_the_patient_on_the_exposure_report(
    clock, client, nurse, scope_to
):
    from scheduling.models import PatientLocation
    from scheduling.tests.factories import LocationFactory

    set_course_policy(frequent_infusions_90d=3)
    over = course(sessions_planned=20)
    for days in (2, 5, 8):
        given_infusion(over, started_at=NOW - timedelta(days=days), delivered_mg="40")
    site = LocationFactory()
    client.force_login(scope_to(nurse, site))
    url = reverse("courses:exposure-report")
    name = over.patient.display_name.replace("'", "&#x27;")
    assert name not in client.get(url).content.decode()
    PatientLocation.objects.create(patient=over.patient, location=site)  # now a patient of her site too
    assert name in client.get(url).content.decode()
