"""Plan pages, the front desk's ready-to-book list, the patient panel, amendments, the clinician home."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from consultations import services
from consultations.models import TreatmentPlan
from consultations.tests.factories import ConsultationFactory, plan_for, signed_consultation
from scheduling.tests.factories import AppointmentFactory, appointment_type

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(clinician):
    return signed_consultation(by=clinician)


def _plan_post(signed, **overrides):
    from consultations.tests.factories import depression_protocol

    return {
        "indication": "mdd",
        "protocol": depression_protocol().pk,
        "dose": "0.5",
        "infusion_minutes": "40",
        "weight_basis": "actual",
        "max_dose_mg": "50",
        "sessions_planned": "6",
        "sessions_per_week": "2",
        "pre_infusion": ["phq9"],
        "post_infusion": ["cadss6"],
        "follow_up": ["phq9"],
        **overrides,
    }


def test_a_clinician_creates_a_plan_from_the_library(client_as, clinician, signed):
    client = client_as(clinician)
    page = client.get(reverse("consultations:plan-create", args=[signed.pk])).content.decode()
    assert "Depression/TRD: 0.5 mg/kg IV over 40 min, 6 infusions over 2–3 weeks" in page
    assert "[S1]" in page
    response = client.post(reverse("consultations:plan-create", args=[signed.pk]), _plan_post(signed))
    plan = TreatmentPlan.objects.get(consultation=signed)
    assert response.status_code == 302
    assert plan.measurement_schedule["post_infusion"] == ["cadss6"]
    assert plan.status == "draft"
    assert plan.weight_basis == "actual"


def test_the_plan_form_refuses_a_dose_outside_the_protocol_at_the_field(client_as, clinician, signed):
    response = client_as(clinician).post(
        reverse("consultations:plan-create", args=[signed.pk]), _plan_post(signed, dose="0.9", max_dose_mg="-1")
    )
    html = response.content.decode()
    assert "0.9 mg/kg is above the protocol&#x27;s usual range (0.5 mg/kg)" in html
    assert not TreatmentPlan.objects.exists()


def test_no_plan_page_for_an_ineligible_consultation(client_as, clinician):
    ineligible = signed_consultation(decision="ineligible", by=clinician)
    html = client_as(clinician).get(reverse("consultations:plan-create", args=[ineligible.pk])).content.decode()
    assert "A treatment plan needs a signed consultation whose decision is to proceed" in html
    response = client_as(clinician).post(
        reverse("consultations:plan-create", args=[ineligible.pk]), _plan_post(ineligible)
    )
    assert not TreatmentPlan.objects.exists()
    assert response.status_code == 200


def test_an_active_plan_is_ready_to_book_for_the_front_desk_without_clinical_content(
    client_as, clinician, frontdesk, signed
):
    plan = plan_for(signed)
    client = client_as(clinician)
    client.post(
        reverse("consultations:plan-transition", args=[plan.pk]), {"to_status": "active", "version": plan.version}
    )
    plan.refresh_from_db()
    assert plan.status == "active"
    assert "Ready to book series" in client.get(reverse("consultations:plan-detail", args=[plan.pk])).content.decode()
    html = client_as(frontdesk).get(reverse("consultations:ready-to-book")).content.decode()
    assert "Ready to book series" in html
    assert plan.patient.mrn in html
    assert "2× a week" in html
    assert f"/schedule/series/new/?patient={plan.patient_id}" in html
    for clinical in ("Depression", "mg/kg", "mdd", "MDD", "50.0", "CI-"):
        assert clinical not in html
    for url in (
        reverse("consultations:plan-detail", args=[plan.pk]),
        reverse("consultations:detail", args=[signed.pk]),
    ):
        assert client_as(frontdesk).get(url).status_code == 403


def test_a_booked_infusion_takes_the_plan_off_the_list(client_as, frontdesk, signed):
    plan = services.plan_transition(plan=plan_for(signed), to_status="active", by=signed.clinician)
    AppointmentFactory(patient=plan.patient, appointment_type=appointment_type("infusion"))
    assert plan.patient.mrn not in client_as(frontdesk).get(reverse("consultations:ready-to-book")).content.decode()


def test_the_ready_to_book_list_query_count_is_flat(client_as, frontdesk, django_assert_max_num_queries):
    for _ in range(4):
        consultation = signed_consultation()
        services.plan_transition(plan=plan_for(consultation), to_status="active", by=consultation.clinician)
    client = client_as(frontdesk)
    client.get(reverse("consultations:ready-to-book"))
    # session, user, perms (2), plans, infusion type, role, audit entry (one statement),
    # session save (savepoint, update, release)
    with django_assert_max_num_queries(11):
        client.get(reverse("consultations:ready-to-book"))


def test_an_invalid_transition_is_explained_not_a_500(client_as, clinician, signed):
    plan = plan_for(signed)
    response = client_as(clinician).post(
        reverse("consultations:plan-transition", args=[plan.pk]),
        {"to_status": "maintenance", "version": plan.version},
        follow=True,
    )
    assert "cannot be moved to maintenance" in response.content.decode()


def test_an_amendment_is_shown_beside_the_section_it_corrects(client_as, clinician, signed):
    client = client_as(clinician)
    url = reverse("consultations:amend", args=[signed.pk])
    assert client.get(url).status_code == 200
    client.post(url, {"kind": "amends", "section": "vitals", "reason": "Cuff too small", "text": "<b>BP</b> 128/82"})
    html = client.get(reverse("consultations:detail", args=[signed.pk])).content.decode()
    vitals = html.split('id="section-vitals"')[1].split("</section>")[0]
    assert "Cuff too small" in vitals
    assert "&lt;b&gt;BP&lt;/b&gt; 128/82" in vitals
    assert "verified" in html


def test_the_patient_panel_lists_consultations_and_plans(client_as, clinician, signed):
    plan_for(signed)
    html = client_as(clinician).get(reverse("consultations:patient-panel", args=[signed.patient_id])).content.decode()
    assert f"Intake #{signed.pk}" in html
    assert "Plan #" in html
    assert "Start intake without an appointment" in html


def test_starting_an_intake_without_an_appointment(client_as, clinician, patient):
    response = client_as(clinician).post(reverse("consultations:start", args=[patient.pk]))
    assert response.status_code == 302
    assert patient.consultations.get().appointment is None


def test_the_clinician_home_lists_todays_consultations_drafts_and_awaiting_decisions(
    client_as, clinician, django_assert_max_num_queries
):
    from scheduling.tests.factories import LocationFactory

    # Three intakes 70 minutes apart must all fall on the clinic's today: the morning, not whatever
    # hour the suite runs at (late in the evening the later two would be tomorrow's).
    site = LocationFactory()
    morning = datetime.combine(timezone.localdate(), time(9), tzinfo=ZoneInfo(site.time_zone))
    with time_machine.travel(morning, tick=True):
        now = timezone.now()
        booked = [
            AppointmentFactory(
                clinician=clinician,
                location=site,
                start=now + timezone.timedelta(minutes=5 + 70 * i),
                end=now + timezone.timedelta(minutes=65 + 70 * i),
            )
            for i in range(3)
        ]
        opened = services.consultation_open(appointment=booked[0], by=clinician)
        services.consultation_screen(consultation=opened, by=clinician)
        ConsultationFactory(clinician=clinician)
        client = client_as(clinician)
        client.get("/")
        # session, user, groups, perms, locations, appointments, intakes, drafts, open safety alerts (followups),
        # audit entry (one statement), policy changes awaiting the medical director (one query, none here)
        with django_assert_max_num_queries(15):
            html = client.get("/").content.decode()
        assert html.count("Open intake") == 2
        assert "Continue intake" in html
        assert "Drafts to finish" in html
        assert "Screenings awaiting your decision" in html
        assert booked[1].patient.display_name in html
        response = client.post(reverse("consultations:open", args=[booked[1].pk]))
        assert response.status_code == 302
        assert booked[1].patient.consultations.exists()


def test_the_plan_page_and_the_patient_panel_have_bounded_query_counts(
    client_as, clinician, signed, django_assert_max_num_queries
):
    plan = plan_for(signed)
    for status in ("active", "on_hold", "active", "completed", "maintenance"):
        plan = services.plan_transition(plan=plan, to_status=status, by=clinician, reason="test")
    client = client_as(clinician)
    url = reverse("consultations:plan-detail", args=[plan.pk])
    client.get(url)
    # session, user, perms (2), plan, status changes + their authors, role, audit (5), ready-to-book,
    # infusion type, session save (3)
    with django_assert_max_num_queries(19):
        assert client.get(url).status_code == 200
    panel = reverse("consultations:patient-panel", args=[signed.patient_id])
    client.get(panel)
    # session, user, perms (2), patient, role, audit (5), consultations, plans, session save (3)
    with django_assert_max_num_queries(16):
        assert client.get(panel).status_code == 200


def test_a_desk_scoped_to_one_location_books_only_its_patients_plans(client_as, frontdesk, scope_to):
    from scheduling.tests.factories import LocationFactory

    here, there = signed_consultation(), signed_consultation()
    site = LocationFactory()
    AppointmentFactory(patient=here.patient, location=site)  # a consultation there: care at that site
    AppointmentFactory(patient=there.patient)  # elsewhere
    for consultation in (here, there):
        services.plan_transition(plan=plan_for(consultation), to_status="active", by=consultation.clinician)
    html = client_as(scope_to(frontdesk, site)).get(reverse("consultations:ready-to-book")).content.decode()
    assert here.patient.mrn in html
    assert there.patient.mrn not in html
